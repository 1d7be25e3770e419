// The sori binary's own account of its commands, read from its --help texts (CLI11's layout: the
// names under "Subcommands:"), for tests that must cover every command without a list of their own.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace sori::test {

// `sori <command> --help`, run once per command; command "" is the top level, "data check" a
// command of a group.
const CommandResult& help_of(const std::string& command);
// The names a help text lists under "Subcommands:" (none for a leaf command).
std::set<std::string> subcommands_in(const std::string& help);
// Every command that has no subcommands ("train", "data check", ...), found by walking the help
// texts down from `sori --help`, in the order walked (alphabetical within each group).
std::vector<std::string> leaf_commands();

}  // namespace sori::test
