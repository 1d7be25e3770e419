#include "fuzz/fuzz_targets.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "../../src/export/nemo_pickle.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/data/audio.h"
#include "sori/data/ksponspeech.h"
#include "sori/data/manifest.h"
#include "sori/export/nemo_archive.h"
#include "sori/report/metrics_history.h"
#include "sori/train/checkpoint.h"
#include "sori/train/event_file.h"

namespace sori::fuzz {

namespace fs = std::filesystem;

namespace {

// Our parsers refuse bad input with sori::Error; that is the expected outcome, not a finding.
template <class F>
void refusals_allowed(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// A private folder for the inputs that our readers take as files, removed at exit.
const fs::path& scratch() {
  struct Folder {
    fs::path dir = fs::temp_directory_path() / ("sori_fuzz_" + std::to_string(::getpid()));
    Folder() { fs::create_directories(dir / "checkpoints"); }
    ~Folder() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  };
  static const Folder folder;
  return folder.dir;
}

std::string write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const auto path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return path;
}

std::string text(const std::uint8_t* data, std::size_t size) { return {reinterpret_cast<const char*>(data), size}; }

}  // namespace

void manifest(const std::uint8_t* data, std::size_t size) {
  const auto path = write_input("m.jsonl", data, size);
  refusals_allowed([&] { read_manifest(path, /*skip_invalid=*/false); });
  refusals_allowed([&] { read_manifest(path, /*skip_invalid=*/true); });
}

void config(const std::uint8_t* data, std::size_t size) {
  const auto all = text(data, size);
  const auto yaml_end = all.find('\0');
  std::vector<std::string> overrides;
  for (std::size_t at = yaml_end; at != std::string::npos && at < all.size();) {
    const auto next = all.find('\0', at + 1);
    overrides.push_back(all.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1));
    at = next;
  }
  refusals_allowed([&] { load_config_from_string(all.substr(0, yaml_end), "fuzz.yaml", overrides); });
}

void nemo_pickle(const std::uint8_t* data, std::size_t size) {
  refusals_allowed([&] { nemo::load_torch_state_dict(text(data, size), "fuzz.ckpt"); });
}

void nemo_archive(const std::uint8_t* data, std::size_t size) {
  const auto path = write_input("a.nemo", data, size);
  refusals_allowed([&] { read_tar_archive(path); });
}

void checkpoint(const std::uint8_t* data, std::size_t size) {
  // Size and checksum are made to match the body, so that mutations reach the pickle reader
  // instead of stopping at the checksum (the magic stays as the input has it).
  std::string file = text(data, size);
  if (file.size() >= 24) {
    const std::uint64_t body = file.size() - 24;
    const auto sum = checkpoint_checksum(std::string_view(file.data(), 8), file.data() + 24, body).value_or(0);
    file.replace(8, 8, reinterpret_cast<const char*>(&body), 8);
    file.replace(16, 8, reinterpret_cast<const char*>(&sum), 8);
  }
  const auto path = write_input("c.ckpt", reinterpret_cast<const std::uint8_t*>(file.data()), file.size());
  refusals_allowed([&] { load_checkpoint(path); });
}

void checkpoint_index(const std::uint8_t* data, std::size_t size) {
  write_input("checkpoints/index.json", data, size);
  refusals_allowed([&] { CheckpointManager(scratch().string(), 2, "val_cer", "min").ranked_paths(); });
}

void ksponspeech(const std::uint8_t* data, std::size_t size) {
  const auto line = text(data, size);
  refusals_allowed([&] { normalize_ksponspeech(line, KsponSpelling::Pronounced); });
  refusals_allowed([&] { normalize_ksponspeech(line, KsponSpelling::Written); });
}

void raw_pcm(const std::uint8_t* data, std::size_t size) {
  const auto path = write_input("r.pcm", data, size);
  refusals_allowed([&] { probe_audio(path); });
  AudioReadOptions o;
  refusals_allowed([&] { load_audio(path, o); });
}

void event_file(const std::uint8_t* data, std::size_t size) {
  const auto path = write_input("events.out.tfevents.fuzz", data, size);
  refusals_allowed([&] { read_event_file(path); });
}

void metrics_history(const std::uint8_t* data, std::size_t size) {
  const auto path = write_input("metrics.jsonl", data, size);
  refusals_allowed([&] { read_metrics_history(path); });
}

const std::vector<NamedTarget>& all_targets() {
  static const std::vector<NamedTarget> targets = {
      {"manifest", manifest},       {"config", config},           {"nemo_pickle", nemo_pickle},
      {"nemo_archive", nemo_archive}, {"checkpoint", checkpoint}, {"checkpoint_index", checkpoint_index},
      {"ksponspeech", ksponspeech}, {"raw_pcm", raw_pcm},         {"event_file", event_file},
      {"metrics_history", metrics_history}};
  return targets;
}

}  // namespace sori::fuzz
