// Helpers for tests that make their own tiny data in a fresh temporary folder.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sori/core/error.h"

namespace sori::test {

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name = "") const;

 private:
  std::filesystem::path dir_;
};

void write_text(const std::string& path, const std::string& text);
// A sine tone of `seconds` at `sample_rate`.
std::vector<float> tone(double seconds, int sample_rate, double hz = 440.0);
// Writes a tone WAV and returns one manifest JSON line for it.
std::string wav_entry(const TempDir& dir, const std::string& name, double seconds, const std::string& text,
                      int sample_rate = 16000);

// The message of the sori::Error that f throws (a test failure when it throws none).
inline std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a sori::Error";
  return "";
}

}  // namespace sori::test
