// <run_dir>/metrics.jsonl: one JSON object per line, append-only (so not written atomically:
// readers skip a torn last line). A resumed run first drops the lines past its checkpoint's
// step, so no step appears twice.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace sori {

class MetricsLog {
 public:
  explicit MetricsLog(std::string path);
  // Keeps only well-formed lines with step <= `step` (rewritten atomically).
  void truncate_after(std::int64_t step) const;
  void append(const nlohmann::json& row) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sori
