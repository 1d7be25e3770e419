#include "sori/train/metrics_log.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sori/core/error.h"
#include "sori/core/fs.h"

namespace sori {

MetricsLog::MetricsLog(std::string path) : path_(std::move(path)) {}

void MetricsLog::truncate_after(std::int64_t step) const {
  if (!std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      const auto row = nlohmann::json::parse(line);
      if (row.value("step", std::int64_t{0}) <= step) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // a torn line from a killed run
    }
  }
  write_file_atomic(path_, kept);
}

void MetricsLog::append(const nlohmann::json& row) const {
  const std::string line = row.dump() + "\n";
  FILE* f = std::fopen(path_.c_str(), "a");
  SORI_CHECK(f != nullptr, "cannot append to ", path_);
  std::fwrite(line.data(), 1, line.size(), f);
  std::fclose(f);
}

}  // namespace sori
