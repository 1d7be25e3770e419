// Fuzz targets for our own parsers of outside input. Each takes arbitrary bytes and must either
// accept them or throw sori::Error (a clear refusal); anything else (another exception, a crash,
// a sanitizer report) is a bug. libFuzzer drives them through fuzz_main.cpp (scripts/fuzz.sh);
// the committed corpora in tests/fuzz/corpus/<name>/ replay in the unit suite
// (test_fuzz_corpora.cpp), crashes found included.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sori::fuzz {

using Target = void (*)(const std::uint8_t* data, std::size_t size);

struct NamedTarget {
  const char* name;
  Target run;
};

// A manifest of one or more JSON lines (read_manifest, strict and skip_invalid).
void manifest(const std::uint8_t* data, std::size_t size);
// A YAML config, then NUL-separated key.path=value overrides (load_config_from_string).
void config(const std::uint8_t* data, std::size_t size);
// A torch.save zip as in a .nemo's model_weights.ckpt (nemo::load_torch_state_dict).
void nemo_pickle(const std::uint8_t* data, std::size_t size);
// A .nemo archive: tar or tar.gz (read_tar_archive).
void nemo_archive(const std::uint8_t* data, std::size_t size);
// A checkpoint file: header, checksum, payload (load_checkpoint).
void checkpoint(const std::uint8_t* data, std::size_t size);
// A run's checkpoints/index.json (CheckpointManager).
void checkpoint_index(const std::uint8_t* data, std::size_t size);
// A KsponSpeech transcript line (normalize_ksponspeech, both spellings).
void ksponspeech(const std::uint8_t* data, std::size_t size);
// Headerless 16 kHz 16-bit PCM, as KsponSpeech ships it (probe_audio and load_audio of a .pcm).
void raw_pcm(const std::uint8_t* data, std::size_t size);

// A TensorBoard event file (read_event_file: framing, CRCs, protobuf messages).
void event_file(const std::uint8_t* data, std::size_t size);
// A run's metrics.jsonl as `sori plot` and `sori report` read it (read_metrics_history).
void metrics_history(const std::uint8_t* data, std::size_t size);

const std::vector<NamedTarget>& all_targets();

}  // namespace sori::fuzz
