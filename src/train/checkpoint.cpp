#include "sori/train/checkpoint.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <tuple>
#include <nlohmann/json.hpp>

#include "sori/core/crc32c.h"
#include "sori/core/error.h"
#include "sori/core/hash.h"
#include "sori/core/fs.h"
#include "sori/core/pickle_scan.h"

namespace sori {

namespace {

namespace fs = std::filesystem;
// The magic says which checksum the header holds: FNV-1a-64 in files written before 2026-12-03,
// CRC-32C since (with the CPU's crc32 instruction in a sixth of the time, docs/PERFORMANCE.md).
constexpr char kMagicFnv1a[8] = {'S', 'O', 'R', 'I', 'C', 'K', 'P', 'T'};
constexpr char kMagicCrc32c[8] = {'S', 'O', 'R', 'I', 'C', 'K', 'P', 'C'};

torch::Tensor bytes_to_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<std::int64_t>(s.size())}, torch::kUInt8);
  if (!s.empty()) std::memcpy(t.data_ptr<std::uint8_t>(), s.data(), s.size());
  return t;
}

std::string tensor_to_bytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>()), static_cast<std::size_t>(c.numel()));
}

using GenericDict = c10::impl::GenericDict;
GenericDict new_dict() { return GenericDict(c10::StringType::get(), c10::AnyType::get()); }

c10::IValue get(const GenericDict& d, const std::string& key, const std::string& path) {
  auto it = d.find(key);
  SORI_CHECK(it != d.end(), "checkpoint ", path, ": missing entry '", key, "'");
  return it->value();
}

}  // namespace

std::optional<std::uint64_t> checkpoint_checksum(std::string_view magic, const void* payload, std::size_t n) {
  if (magic == std::string_view(kMagicCrc32c, 8)) return crc32c(payload, n);
  if (magic == std::string_view(kMagicFnv1a, 8)) return fnv1a64(payload, n);
  return std::nullopt;
}

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  auto root = new_dict();
  root.insert("format", std::string("sori-checkpoint-2"));
  auto model = new_dict();
  for (const auto& [k, v] : c.model) model.insert(k, v.detach().to(torch::kCPU));
  root.insert("model", model);
  root.insert("optimizer", c.optimizer.defined() ? c.optimizer : torch::empty({0}, torch::kUInt8));
  root.insert("scaler_scale", c.scaler_scale.to(torch::kCPU));
  root.insert("scaler_growth_tracker", c.scaler_growth_tracker.to(torch::kCPU));
  const auto& p = c.progress;
  const auto& d = c.shape;
  root.insert("progress", torch::tensor({p.step, p.position, p.skipped_steps, p.best_step, p.stale_validations,
                                         std::int64_t{d.world_size}, std::int64_t{d.accumulate},
                                         std::int64_t{d.bucket_group}, d.micro_batches_per_epoch},
                                        torch::kInt64));
  root.insert("best_metric", p.best_metric);
  c10::List<at::Tensor> cpu_states, cuda_states;
  for (const auto& s : c.cpu_rng_states) cpu_states.push_back(s);
  for (const auto& s : c.cuda_rng_states) cuda_states.push_back(s.defined() ? s : torch::empty({0}, torch::kUInt8));
  root.insert("cpu_rng_states", cpu_states);
  root.insert("cuda_rng_states", cuda_states);
  root.insert("config", c.config_yaml);
  auto tok = new_dict();
  for (const auto& [name, bytes] : c.tokenizer_files) tok.insert(name, bytes_to_tensor(bytes));
  root.insert("tokenizer", tok);
  auto metrics = new_dict();
  for (const auto& [k, v] : c.metrics) metrics.insert(k, v);
  root.insert("metrics", metrics);

  // torch::pickle_save's archive, streamed to the file: assembled in memory first, a large model's
  // checkpoint cost several copies of itself in fresh pages (13 s for FastConformer large here,
  // docs/PERFORMANCE.md). The header's size and checksum follow the payload.
  std::vector<char> pickle;
  torch::jit::Pickler pickler([&](const char* bytes, std::size_t n) { pickle.insert(pickle.end(), bytes, bytes + n); });
  pickler.protocol();
  pickler.pushIValue(root);
  pickler.stop();
  AtomicFile file(path);
  const std::uint64_t placeholder[2] = {0, 0};
  file.write(kMagicCrc32c, 8);
  file.write(placeholder, sizeof placeholder);
  std::uint64_t header[2] = {0, 0};  // payload size, checksum
  // The archive's destructor finishes the archive through this function, and an exception there
  // would end the process: a failed write is kept and rethrown once the archive is done.
  std::exception_ptr failure;
  {
    caffe2::serialize::PyTorchStreamWriter archive([&](const void* bytes, std::size_t n) {
      if (failure) return n;
      try {
        file.write(bytes, n);
      } catch (...) {
        failure = std::current_exception();
      }
      header[0] += n;
      header[1] = crc32c(bytes, n, static_cast<std::uint32_t>(header[1]));
      return n;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), archive);
    archive.writeEndOfFile();
  }
  if (failure) std::rethrow_exception(failure);
  file.write_at(8, header, sizeof header);
  file.commit();
}

namespace {

Checkpoint decode_checkpoint(const GenericDict& root, const std::string& path) {
  const std::string format = get(root, "format", path).toStringRef();
  SORI_CHECK(format == "sori-checkpoint-2" || format == "sori-checkpoint-1", "checkpoint ", path,
             ": unknown format '", format, "' (expected sori-checkpoint-2 or -1)");
  const bool v1 = format == "sori-checkpoint-1";

  Checkpoint c;
  for (const auto& item : get(root, "model", path).toGenericDict()) c.model[item.key().toStringRef()] = item.value().toTensor();
  c.optimizer = get(root, "optimizer", path).toTensor();  // the archive's own record: kept, not copied
  c.scaler_scale = get(root, "scaler_scale", path).toTensor();
  c.scaler_growth_tracker = get(root, "scaler_growth_tracker", path).toTensor();
  const auto p = get(root, "progress", path).toTensor();
  SORI_CHECK(p.dim() == 1 && p.numel() >= (v1 ? 6 : 9), "checkpoint ", path, ": progress holds ", p.numel(),
             " values, expected ", v1 ? 6 : 9);
  auto at = [&](int i) { return p[i].item<std::int64_t>(); };
  const double best = get(root, "best_metric", path).toDouble();
  if (v1) {  // [step, epoch, batch, skipped, best_step, stale] of the single-process sampler
    c.progress = TrainProgress{at(0), -1, at(3), best, at(4), at(5)};
    c.cpu_rng_states.push_back(get(root, "cpu_rng_state", path).toTensor());
  } else {
    c.progress = TrainProgress{at(0), at(1), at(2), best, at(3), at(4)};
    c.shape = DataParallelShape{static_cast<int>(at(5)), static_cast<int>(at(6)), static_cast<int>(at(7)), at(8)};
    for (const auto& s : get(root, "cpu_rng_states", path).toTensorVector()) c.cpu_rng_states.push_back(s);
  }
  for (const auto& s : get(root, "cuda_rng_states", path).toTensorVector())
    c.cuda_rng_states.push_back(s.numel() ? s : torch::Tensor());
  c.config_yaml = get(root, "config", path).toStringRef();
  for (const auto& item : get(root, "tokenizer", path).toGenericDict())
    c.tokenizer_files[item.key().toStringRef()] = tensor_to_bytes(item.value().toTensor());
  for (const auto& item : get(root, "metrics", path).toGenericDict()) c.metrics[item.key().toStringRef()] = item.value().toDouble();
  c.source = path;
  return c;
}

// torch::pickle_load reads the zip archive through an adapter that does not bound its reads, so a
// payload whose zip directory points past its end reads out of bounds (fuzz_checkpoint under
// ASan: a crafted or mis-written payload whose checksum matches). This adapter returns short
// reads there, which the zip reader reports as c10::Error. Same archive layout as pickle_save.
class BoundedReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  BoundedReader(const char* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t size() const override { return size_; }
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n, const char* /*what*/) const override {
    if (pos >= size_) return 0;
    n = std::min<std::size_t>(n, size_ - pos);
    std::memcpy(buf, data_ + pos, n);
    return n;
  }

 private:
  const char* data_;
  std::size_t size_;
};

c10::IValue unpickle(const char* payload, std::size_t size, const std::string& path) {
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(payload, size));
  const auto [pickle, pickle_size] = reader.getRecord("data.pkl");
  check_pickle_lengths(static_cast<const char*>(pickle.get()), pickle_size, "checkpoint " + path);
  return torch::jit::readArchiveAndTensors("data", "", "", {}, {}, {}, reader);
}

}  // namespace

Checkpoint load_checkpoint(const std::string& path) {
  const MappedFile file(path);
  const std::string_view magic(file.data(), std::min<std::size_t>(file.size(), 8));
  SORI_CHECK(file.size() >= 24 && (magic == std::string_view(kMagicCrc32c, 8) || magic == std::string_view(kMagicFnv1a, 8)),
             "checkpoint ", path, ": not a Sori checkpoint (bad header)");
  std::uint64_t size, sum;
  std::memcpy(&size, file.data() + 8, 8);
  std::memcpy(&sum, file.data() + 16, 8);
  SORI_CHECK(file.size() - 24 == size, "checkpoint ", path, ": torn file (expected ", size, " payload bytes, found ",
             file.size() - 24, ")");
  SORI_CHECK(checkpoint_checksum(magic, file.data() + 24, size) == sum, "checkpoint ", path,
             ": checksum mismatch (corrupt file)");
  // A payload with a valid checksum but the wrong structure (another writer, or a crafted file)
  // fails inside LibTorch: reported as this file's error, like any other damage.
  try {
    return decode_checkpoint(unpickle(file.data() + 24, size, path).toGenericDict(), path);
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    SORI_FAIL("checkpoint ", path, ": unreadable payload (", e.what_without_backtrace(), ")");
  } catch (const std::exception& e) {  // LibTorch's unpickler also throws std::out_of_range and the like
    SORI_FAIL("checkpoint ", path, ": unreadable payload (", e.what(), ")");
  }
}

CheckpointManager::CheckpointManager(std::string run_dir, int save_top_k, std::string monitor, std::string mode)
    : dir_((fs::path(run_dir) / "checkpoints").string()), top_k_(save_top_k), monitor_(std::move(monitor)), mode_(std::move(mode)) {
  SORI_CHECK(mode_ == "min" || mode_ == "max", "checkpoint.mode: expected min or max, found '", mode_, "'");
  fs::create_directories(dir_);
  // index.json caches each file's step and metrics; files it does not list are read once.
  std::map<std::string, Entry> indexed;
  try {
    const auto index = nlohmann::json::parse(read_file((fs::path(dir_) / "index.json").string()));
    for (const auto& row : index) {
      if (!row.contains("step")) continue;
      // A step that is not an integer (1e300 converted to int64 is undefined behaviour, found by
      // fuzz_checkpoint_index under UBSan) makes the whole index untrusted, like bad JSON.
      const auto &step = row.at("step"), &epoch = row.at("epoch");
      if (!step.is_number_integer() || !epoch.is_number_integer()) throw std::invalid_argument("index.json: step or epoch");
      indexed[row.at("file")] = Entry{step.get<std::int64_t>(), epoch.get<std::int64_t>(), row.at("metrics")};
    }
  } catch (const std::exception&) {
    // No index yet, or a damaged one: rebuilt from the files below.
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() != ".ckpt") continue;
    const auto name = e.path().filename().string();
    if (indexed.count(name)) {
      entries_[name] = indexed[name];
      continue;
    }
    try {
      record(name, load_checkpoint(e.path().string()));
    } catch (const Error&) {
      // Reported by load_newest_valid when resuming.
    }
  }
}

void CheckpointManager::record(const std::string& file, const Checkpoint& c) {
  const auto n = c.shape.micro_batches_per_epoch;
  entries_[file] = Entry{c.progress.step, n > 0 && c.progress.position >= 0 ? c.progress.position / n : -1, c.metrics};
}

void CheckpointManager::save_last(const Checkpoint& c) {
  const auto last = fs::path(dir_) / "last.ckpt";
  // Keep the previous `last` until the new one is complete: resume falls back to it.
  if (fs::exists(last)) {
    // A rename keeps the file's time, and resume trusts the index about files older than it. Until
    // the index below says what last.prev now holds, the old index calls last.prev the checkpoint
    // before (a kill while the index is rewritten then resumed one save interval too far back,
    // behind a ranked checkpoint): stamped now, the file counts as undescribed and is read instead.
    fs::last_write_time(last, fs::file_time_type::clock::now());
    fs::rename(last, fs::path(dir_) / "last.prev.ckpt");
    if (entries_.count("last.ckpt")) entries_["last.prev.ckpt"] = entries_["last.ckpt"];
    entries_.erase("last.ckpt");
    write_index();
  }
  save_checkpoint(last.string(), c);
  record("last.ckpt", c);
  write_index();
}

void CheckpointManager::save_ranked(const Checkpoint& c) {
  SORI_CHECK(c.metrics.count(monitor_), "checkpoint.monitor: metric '", monitor_, "' was not computed (validation has ",
             c.metrics.size(), " metrics)");
  char name[64];
  std::snprintf(name, sizeof name, "step_%09lld.ckpt", static_cast<long long>(c.progress.step));
  save_checkpoint((fs::path(dir_) / name).string(), c);
  record(name, c);
  const auto ranked = ranked_paths();
  for (std::size_t i = static_cast<std::size_t>(std::max(0, top_k_)); i < ranked.size(); ++i) {
    fs::remove(ranked[i]);
    entries_.erase(fs::path(ranked[i]).filename().string());
  }
  write_index();
}

std::vector<std::string> CheckpointManager::ranked_paths() const {
  std::vector<std::pair<double, std::string>> scored;
  for (const auto& [name, entry] : entries_) {
    auto it = entry.metrics.find(monitor_);
    if (name.rfind("step_", 0) == 0 && it != entry.metrics.end() && fs::exists(fs::path(dir_) / name))
      scored.emplace_back(it->second, (fs::path(dir_) / name).string());
  }
  std::sort(scored.begin(), scored.end(), [&](const auto& a, const auto& b) {
    return a.first == b.first ? a.second > b.second : better(a.first, b.first);
  });
  std::vector<std::string> out;
  for (auto& s : scored) out.push_back(s.second);
  return out;
}

std::optional<Checkpoint> CheckpointManager::load_newest_valid(std::vector<std::string>* problems) const {
  // Newest first by the step in the index. A file the index does not describe comes first: one
  // it does not list, or one written after the index (a kill between writing a checkpoint and
  // updating index.json leaves the index naming that file with its previous step). Among those,
  // the most recently written first.
  std::error_code ec;
  const auto index_time = fs::last_write_time(fs::path(dir_) / "index.json", ec);
  const bool have_index = !ec;
  std::vector<std::tuple<std::int64_t, fs::file_time_type, std::string>> candidates;
  for (const auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() != ".ckpt") continue;
    const auto written = fs::last_write_time(e.path(), ec);
    const auto it = entries_.find(e.path().filename().string());
    const bool described = it != entries_.end() && have_index && written <= index_time;
    candidates.emplace_back(described ? it->second.step : INT64_MAX, written, e.path().string());
  }
  std::sort(candidates.rbegin(), candidates.rend());
  for (const auto& [step, written, path] : candidates) {
    try {
      return load_checkpoint(path);  // a checkpoint of GBs: loaded once, by its check
    } catch (const Error& e) {
      if (problems) problems->push_back(e.what());
    } catch (const std::exception& e) {  // LibTorch's c10::Error from a payload that unpickles wrongly
      if (problems) problems->push_back("checkpoint " + path + ": " + e.what());
    }
  }
  return std::nullopt;
}

void CheckpointManager::write_index() const {
  nlohmann::json index = nlohmann::json::array();
  for (const auto& [name, e] : entries_)
    index.push_back({{"file", name}, {"step", e.step}, {"epoch", e.epoch}, {"metrics", e.metrics}});
  write_file_atomic((fs::path(dir_) / "index.json").string(), index.dump(2) + "\n");
}

}  // namespace sori
