// A tiny corpus a small CTC model can learn in seconds: each character is spoken as an 80 ms
// tone of its own frequency, with 20 ms of silence between characters.
#pragma once

#include <string>

#include "test_util.h"

namespace sori::test {

// Writes `count` utterances of 2-5 characters from "abcdef " and returns the manifest path.
std::string make_tone_corpus(const TempDir& dir, const std::string& name, int count, unsigned seed);

// A config for a tiny FastConformer on such a corpus (caller sets run_dir and manifests).
std::string tiny_config_yaml(const std::string& train_manifest, const std::string& val_manifest,
                             const std::string& run_dir);

}  // namespace sori::test
