#include "sori/report/run_record.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/host.h"

namespace sori {

namespace fs = std::filesystem;

std::string run_name(const std::string& dir) {
  fs::path p(dir);
  if (p.filename().empty()) p = p.parent_path();  // "runs/a/"
  std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..") name = fs::weakly_canonical(fs::absolute(p)).filename().string();
  return name;
}

std::vector<std::string> run_names(const std::vector<std::string>& dirs) {
  std::map<std::string, int> uses;
  for (const auto& d : dirs) ++uses[run_name(d)];
  std::vector<std::string> names;
  for (const auto& d : dirs) names.push_back(uses[run_name(d)] > 1 ? d : run_name(d));
  return names;
}

namespace {

// The file's modification time, 0 when it does not exist.
std::time_t modified(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mtime : 0;
}

// A file's time as shown, "" for a file that does not exist.
std::string utc(std::time_t t) { return t == 0 ? "" : utc_timestamp(t); }

void read_config(RunRecord& run, const fs::path& path) {
  if (!fs::exists(path)) return;
  run.config_yaml = read_file(path.string());
  try {
    const auto checkpoint = YAML::Load(run.config_yaml)["checkpoint"];
    if (checkpoint && checkpoint["monitor"]) run.monitor = checkpoint["monitor"].as<std::string>();
    if (checkpoint && checkpoint["mode"]) run.mode = checkpoint["mode"].as<std::string>();
  } catch (const YAML::Exception& e) {
    run.problems.push_back(path.string() + ": not valid YAML (" + e.what() + "); the best validation is ranked by " +
                           run.monitor + " (" + run.mode + ")");
  }
}

void read_info(RunRecord& run, const fs::path& path) {
  if (!fs::exists(path)) return;
  try {
    const auto info = nlohmann::ordered_json::parse(read_file(path.string()));
    SORI_CHECK(info.is_object(), "expected one JSON object, found ", info.type_name());
    for (const auto& [key, value] : info.items())
      run.info.emplace_back(key, value.is_string() ? value.get<std::string>() : value.dump());
  } catch (const std::exception& e) {
    run.problems.push_back(path.string() + ": not shown (" + e.what() + ")");
  }
}

// index.json is untrusted input (written by a trainer that may have been killed, or edited by
// hand): a step or epoch that is not an integer (1e300 converted to int64 would be undefined
// behaviour) makes the whole index damaged, as in CheckpointManager.
std::int64_t index_integer(const nlohmann::json& row, std::size_t position, const char* key) {
  const auto& value = row.at(key);
  SORI_CHECK(value.is_number_integer(), "row ", position + 1, " (", row.value("file", "?"), "): \"", key,
             "\" is ", value.dump(), ", expected an integer");
  return value.get<std::int64_t>();
}

void read_checkpoints(RunRecord& run, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().extension() == ".ckpt" && f.is_regular_file(ec)) {
      CheckpointFile c;
      c.file = f.path().filename().string();
      c.bytes = f.file_size(ec);
      run.checkpoints.push_back(std::move(c));
    }
  const auto index_path = dir / "index.json";
  if (fs::exists(index_path)) {
    try {
      const auto index = nlohmann::json::parse(read_file(index_path.string()));
      SORI_CHECK(index.is_array(), "expected a JSON array of rows, found ", index.type_name());
      for (std::size_t k = 0; k < index.size(); ++k) {
        const auto& row = index[k];
        const auto name = row.at("file").get<std::string>();
        const auto step = index_integer(row, k, "step"), epoch = index_integer(row, k, "epoch");
        const auto metrics = row.at("metrics").get<std::map<std::string, double>>();
        for (auto& c : run.checkpoints) {
          if (c.file != name) continue;
          c.indexed = true;
          c.step = step;
          c.epoch = epoch;
          c.metrics = metrics;
        }
      }
    } catch (const std::exception& e) {
      run.problems.push_back(index_path.string() + ": damaged, not used (" + e.what() +
                             "); its checkpoints are listed without step and metrics");
      for (auto& c : run.checkpoints) {
        c.indexed = false;
        c.step = c.epoch = -1;
        c.metrics.clear();
      }
    }
  }
  std::sort(run.checkpoints.begin(), run.checkpoints.end(), [](const CheckpointFile& a, const CheckpointFile& b) {
    return a.step != b.step ? a.step < b.step : a.file < b.file;
  });
}

}  // namespace

RunRecord read_run(const std::string& dir) {
  const fs::path root(dir);
  std::error_code ec;
  SORI_CHECK(fs::is_directory(root, ec), "run directory ", dir, ": no such folder (expected a trainer.run_dir)");
  const auto metrics_path = root / "metrics.jsonl", config_path = root / "config.yaml";
  SORI_CHECK(fs::exists(metrics_path) || fs::exists(config_path) || fs::is_directory(root / "checkpoints", ec),
             dir, " is not a run directory: expected config.yaml, metrics.jsonl or checkpoints/ in it (the folder "
             "trainer.run_dir names)");
  RunRecord run;
  run.dir = fs::absolute(root).lexically_normal().string();
  run.name = run_name(dir);
  if (fs::exists(metrics_path)) {
    try {
      run.metrics = read_metrics_history(metrics_path.string());
    } catch (const Error& e) {
      run.problems.push_back(std::string("metrics not shown: ") + e.what());
    }
  }
  read_config(run, config_path);
  read_info(run, root / "run_info.json");
  read_checkpoints(run, root / "checkpoints");
  try {
    run.validation = read_validation_examples(dir);
  } catch (const Error& e) {
    run.problems.push_back(std::string("validation utterances not shown: ") + e.what());
  }
  for (const auto& [key, value] : run.info)
    if (key == "started") run.started = value;
  if (run.started.empty()) run.started = utc(modified(config_path));
  run.updated = utc(modified(metrics_path));
  if (run.updated.empty())
    run.updated = utc(std::max({modified(config_path), modified(root / "checkpoints" / "index.json")}));
  return run;
}

}  // namespace sori
