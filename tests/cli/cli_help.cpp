#include "cli/cli_help.h"

#include <map>

#include "sori/core/text.h"

namespace sori::test {

const CommandResult& help_of(const std::string& command) {
  static std::map<std::string, CommandResult> cache;
  auto it = cache.find(command);
  if (it == cache.end()) it = cache.emplace(command, run_command(std::string(SORI_BINARY) + " " + command + " --help")).first;
  return it->second;
}

std::set<std::string> subcommands_in(const std::string& help) {
  std::set<std::string> names;
  const auto at = help.find("\nSubcommands:\n");
  if (at == std::string::npos) return names;
  for (const auto& line : split(help.substr(at + 14), '\n')) {
    if (line.rfind("  ", 0) != 0) break;
    names.insert(split_whitespace(line).front());
  }
  return names;
}

namespace {

void add_leaves(const std::string& command, std::vector<std::string>& out) {
  const auto children = subcommands_in(help_of(command).output);
  if (children.empty() && !command.empty()) out.push_back(command);
  for (const auto& child : children) add_leaves(command.empty() ? child : command + " " + child, out);
}

}  // namespace

std::vector<std::string> leaf_commands() {
  std::vector<std::string> out;
  add_leaves("", out);
  return out;
}

}  // namespace sori::test
