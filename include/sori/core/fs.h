// File helpers. Everything Sori writes for keeps (manifests, vocabularies, checkpoints) goes
// through write_file_atomic: a crash leaves the old file or the new one, never a torn mix.
#pragma once

#include <string>

namespace sori {

void write_file_atomic(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);

}  // namespace sori
