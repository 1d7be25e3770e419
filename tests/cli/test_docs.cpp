// Docs that cannot drift: every `sori ...` command line and every config key the Markdown docs
// show (in code spans and code blocks) must exist, and docs/CONFIG.md must be what
// `sori config docs` generates from the schema.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "cli/cli_help.h"
#include "sori/config/config_reference.h"
#include "sori/core/text.h"
#include "test_util.h"

namespace fs = std::filesystem;
using sori::test::help_of;
using sori::test::read_text;
using sori::test::run_command;
using sori::test::subcommands_in;

namespace {

// README.md, data/manifests/README.md and docs/*.md, relative to the source dir.
std::vector<std::string> markdown_files() {
  std::vector<std::string> files{"README.md", "data/manifests/README.md"};
  std::vector<std::string> docs;
  for (const auto& e : fs::directory_iterator(fs::path(SORI_SOURCE_DIR) / "docs"))
    if (e.path().extension() == ".md") docs.push_back("docs/" + e.path().filename().string());
  std::sort(docs.begin(), docs.end());
  files.insert(files.end(), docs.begin(), docs.end());
  return files;
}

// The fenced code blocks and the inline code spans of a Markdown file. A span may wrap onto the
// next line, so all the text between fences is split on backticks.
std::vector<std::string> code_texts(const std::string& file) {
  std::vector<std::string> out;
  const auto lines = sori::split(read_text(std::string(SORI_SOURCE_DIR) + "/" + file), '\n');
  std::string prose, block;
  bool in_block = false;
  auto flush_prose = [&] {
    const auto parts = sori::split(prose, '`');
    for (std::size_t i = 1; i < parts.size(); i += 2) out.push_back(parts[i]);
    prose.clear();
  };
  for (const auto& line : lines) {
    if (sori::trim(line).rfind("```", 0) == 0) {
      if (in_block) out.push_back(block);
      else flush_prose();
      block.clear();
      in_block = !in_block;
    } else if (in_block) {
      block += line + "\n";
    } else {
      prose += line + "\n";
    }
  }
  flush_prose();
  return out;
}

// A `sori` command line: its words after `sori` up to the end of the shell command.
struct Invocation {
  std::string where;  // file, for messages
  std::string line;
  std::vector<std::string> words;
};

// Shell commands of a code text: continuation lines joined, comments dropped, split at
// separators. In Markdown tables `\|` is an alternative (`--format a\|b`), not a pipe.
std::vector<std::string> shell_commands(std::string text) {
  text = std::regex_replace(text, std::regex(R"(\\\|)"), "/");
  text = std::regex_replace(text, std::regex(R"(\\\n)"), " ");
  std::vector<std::string> out;
  for (auto line : sori::split(text, '\n')) {
    line = std::regex_replace(line, std::regex(R"((^|\s)#.*)"), "");
    static const std::regex separator(R"(&&|\|\||\||;|\$\(|\(|\))");
    for (std::sregex_token_iterator it(line.begin(), line.end(), separator, -1), end; it != end; ++it)
      out.push_back(*it);
  }
  return out;
}

std::vector<Invocation> sori_invocations() {
  std::vector<Invocation> out;
  for (const auto& file : markdown_files())
    for (const auto& code : code_texts(file))
      for (const auto& command : shell_commands(code)) {
        const auto words = sori::split_whitespace(command);
        for (std::size_t i = 0; i < words.size(); ++i) {
          const auto& w = words[i];
          if (w != "sori" && (w.size() < 5 || w.compare(w.size() - 5, 5, "/sori") != 0)) continue;
          out.push_back({file, sori::trim(command), {words.begin() + static_cast<long>(i) + 1, words.end()}});
          break;
        }
      }
  return out;
}

bool is_command_word(const std::string& w) { return std::regex_match(w, std::regex("[a-z][a-z0-9-]*")); }

bool help_lists_option(const std::string& help, const std::string& flag) {
  return std::regex_search(help, std::regex("(^|[\\s,])" + flag + "([\\s,=]|$)"));
}

}  // namespace

TEST(Docs, ConfigReferenceMatchesTheSchema) {
  sori::test::TempDir dir;
  const auto generated = dir.path("CONFIG.md");
  const auto r = run_command(std::string(SORI_BINARY) + " config docs --output " + generated);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_text(generated), sori::config_reference_markdown());
  EXPECT_TRUE(read_text(std::string(SORI_SOURCE_DIR) + "/docs/CONFIG.md") == read_text(generated))
      << "docs/CONFIG.md differs from what src/config/config_schema.h generates; regenerate it with\n"
      << "  build/sori config docs --output docs/CONFIG.md";
}

TEST(Docs, EveryCommandAndFlagTheDocsShowExists) {
  // `sori <unknown> --help` prints the parent's help and exits 0, so names are checked against
  // the subcommands the parent's help lists.
  const auto top = subcommands_in(help_of("").output);
  ASSERT_TRUE(top.count("train")) << help_of("").output;
  std::set<std::string> commands;
  for (const auto& inv : sori_invocations()) {
    if (inv.words.empty() || !is_command_word(inv.words[0])) continue;  // `sori` alone, `sori <command>`
    std::string command = inv.words[0];
    if (!top.count(command)) {
      ADD_FAILURE() << inv.where << ": `sori " << command << "` is not a command of the sori binary, in: " << inv.line;
      continue;
    }
    std::size_t args = 1;
    const auto group = subcommands_in(help_of(command).output);
    if (!group.empty() && inv.words.size() > 1 && is_command_word(inv.words[1])) {
      if (!group.count(inv.words[1])) {
        ADD_FAILURE() << inv.where << ": `sori " << command << " " << inv.words[1] << "` is not a command of the sori "
                      << "binary, in: " << inv.line;
        continue;
      }
      command += " " + inv.words[1];
      args = 2;
    }
    commands.insert(command);
    const auto& help = help_of(command);
    ASSERT_EQ(help.status, 0) << "sori " << command << " --help\n" << help.output;
    for (std::size_t i = args; i < inv.words.size(); ++i) {
      std::smatch m;
      if (!std::regex_search(inv.words[i], m, std::regex(R"(^[\[(]?(--[a-z0-9][a-z0-9-]*))"))) continue;
      EXPECT_TRUE(help_lists_option(help.output, m[1].str()))
          << inv.where << ": `sori " << command << "` has no option " << m[1] << " (see `sori " << command
          << " --help`), in: " << inv.line;
    }
  }
  // The extraction itself works: the docs show the main commands.
  for (const char* expected : {"train", "eval", "transcribe", "config show", "data check", "config docs"})
    EXPECT_TRUE(commands.count(expected)) << "no `sori " << expected << "` found in the docs: is the extraction broken?";
}

TEST(Docs, EveryConfigKeyTheDocsShowExists) {
  std::set<std::string> keys;
  for (const auto& k : sori::config_key_infos()) keys.insert(k.path);
  // A dotted key under one of the config's sections, not inside a path (`src/model/encoder.cpp`).
  static const std::regex key_re(R"((^|[^A-Za-z0-9_./-])((model|trainer|checkpoint)(\.[a-z_][a-z0-9_]*)+))");
  static const std::set<std::string> file_extensions{"cpp", "h", "py", "sh", "md", "yaml", "json", "jsonl",
                                                     "ckpt", "onnx", "nemo", "pt", "txt", "svg", "so"};
  std::size_t checked = 0;
  for (const auto& file : markdown_files()) {
    if (file == "docs/CONFIG.md") continue;  // generated from the keys themselves
    for (const auto& code : code_texts(file))
      for (std::sregex_iterator it(code.begin(), code.end(), key_re), end; it != end; ++it) {
        const std::string key = (*it)[2];
        if (file_extensions.count(key.substr(key.rfind('.') + 1))) continue;
        ++checked;
        const auto at = static_cast<std::size_t>(it->position(2));
        const auto from = code.rfind('\n', at), to = code.find('\n', at);
        const auto line = code.substr(from == std::string::npos ? 0 : from + 1,
                                           to == std::string::npos ? std::string::npos : to - (from + 1));
        EXPECT_TRUE(keys.count(key)) << file << ": `" << key << "` is not a config key (in: " << line
                                     << "); nearest: " << sori::nearest(key, {keys.begin(), keys.end()})
                                     << " (docs/CONFIG.md lists them all)";
      }
  }
  EXPECT_GT(checked, 10u) << "too few config keys found in the docs: is the extraction broken?";
}
