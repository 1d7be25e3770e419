// NeMo-format manifests: JSON lines with audio_filepath, duration, text and optional offset.
#pragma once

#include <string>
#include <vector>

namespace sori {

struct ManifestEntry {
  std::string audio_filepath;  // resolved: relative paths are taken from the manifest's folder
  double duration = 0.0;       // seconds
  double offset = 0.0;         // seconds
  std::string text;
  std::string manifest;  // the file it came from
  int line = 0;          // 1-based line in that file
  std::string where() const { return manifest + ":" + std::to_string(line); }
};

// Reads one manifest. A malformed line, missing field or wrong type throws sori::Error naming
// manifest:line. With skip_invalid such lines are skipped and described in `skipped` instead.
std::vector<ManifestEntry> read_manifest(const std::string& path, bool skip_invalid = false,
                                         std::vector<std::string>* skipped = nullptr);

// Writes entries as JSON lines atomically (temp file + rename); paths are written as given.
void write_manifest(const std::string& path, const std::vector<ManifestEntry>& entries);

}  // namespace sori
