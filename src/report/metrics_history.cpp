#include "sori/report/metrics_history.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "sori/core/error.h"
#include "sori/report/json_lines.h"

namespace sori {

double MetricsRow::value(const std::string& key) const {
  const auto it = values.find(key);
  return it == values.end() ? std::numeric_limits<double>::quiet_NaN() : it->second;
}

std::vector<std::string> MetricsHistory::validation_sets() const {
  const std::string prefix = "val_cer/";
  std::set<std::string> names;
  for (const auto& row : validation)
    for (const auto& [key, v] : row.values)
      if (key.rfind(prefix, 0) == 0) names.insert(key.substr(prefix.size()));
  return {names.begin(), names.end()};
}

MetricsHistory read_metrics_history(const std::string& path) {
  MetricsHistory history;
  history.path = path;
  const auto lines = read_json_lines(path);
  history.torn_last_line = lines.torn_last_line;
  for (const auto& [n, object] : lines.rows) {
    const auto step = object.find("step");
    SORI_CHECK(step != object.end() && step->is_number_integer(), path, ":", n,
               ": expected an integer \"step\" in every metrics row, found ",
               step == object.end() ? std::string("none") : step->dump());
    MetricsRow row;
    row.step = step->get<std::int64_t>();
    bool validation = false;
    for (const auto& [key, v] : object.items()) {
      if (key == "step") continue;
      validation = validation || key.rfind("val_", 0) == 0;
      if (v.is_number()) row.values[key] = v.get<double>();
      if (v.is_null()) row.values[key] = std::numeric_limits<double>::quiet_NaN();
    }
    (validation ? history.validation : history.training).push_back(std::move(row));
  }
  const auto by_step = [](const MetricsRow& a, const MetricsRow& b) { return a.step < b.step; };
  std::stable_sort(history.training.begin(), history.training.end(), by_step);
  std::stable_sort(history.validation.begin(), history.validation.end(), by_step);
  return history;
}

MetricsHistory read_run_metrics(const std::string& run_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  SORI_CHECK(fs::is_directory(run_dir, ec), "run directory ", run_dir, ": no such folder (expected a trainer.run_dir)");
  const auto path = (fs::path(run_dir) / "metrics.jsonl").string();
  SORI_CHECK(fs::exists(path), path, ": not found; a run directory has metrics.jsonl once training has logged "
             "its first step (every trainer.log_every_n_steps)");
  auto history = read_metrics_history(path);
  SORI_CHECK(!history.training.empty() || !history.validation.empty(), path,
             ": no metrics rows yet (the first is written after trainer.log_every_n_steps steps)");
  return history;
}

}  // namespace sori
