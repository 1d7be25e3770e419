#include "test_util.h"

#include <cmath>
#include <fstream>
#include <random>

#include "sori/data/audio.h"

namespace sori::test {

TempDir::TempDir() {
  std::random_device rd;
  dir_ = std::filesystem::temp_directory_path() / ("sori_test_" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TempDir::path(const std::string& name) const { return (dir_ / name).string(); }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<float> tone(double seconds, int sample_rate, double hz) {
  std::vector<float> x(static_cast<std::size_t>(std::lround(seconds * sample_rate)));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.5f * static_cast<float>(std::sin(2 * M_PI * hz * i / sample_rate));
  return x;
}

std::string wav_entry(const TempDir& dir, const std::string& name, double seconds, const std::string& text,
                      int sample_rate) {
  write_wav(dir.path(name), tone(seconds, sample_rate), sample_rate);
  return "{\"audio_filepath\": \"" + name + "\", \"duration\": " + std::to_string(seconds) + ", \"text\": \"" + text +
         "\"}\n";
}

}  // namespace sori::test
