// Audio decoding (libsndfile) and resampling (libsamplerate). Output is always mono float32 at
// the requested rate. Headerless `.pcm` files are read as 16 kHz signed 16-bit little-endian
// mono, the way KsponSpeech ships its audio.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sori {

enum class ResampleQuality { SincBest, SincMedium, SincFastest, Linear };
ResampleQuality parse_resample_quality(const std::string& name);

struct AudioInfo {
  std::int64_t frames = 0;
  int sample_rate = 0;
  int channels = 0;
  double duration() const { return sample_rate > 0 ? static_cast<double>(frames) / sample_rate : 0.0; }
};

// Reads only the header. Throws sori::Error naming the file when it is missing or unreadable.
AudioInfo probe_audio(const std::string& path);

struct AudioReadOptions {
  int target_sample_rate = 16000;
  double offset = 0.0;    // seconds into the file
  double duration = 0.0;  // seconds to read; 0: to the end
  double speed = 1.0;     // speed perturbation: 1.1 plays 10% faster (the result is shorter)
  ResampleQuality quality = ResampleQuality::SincMedium;
};

std::vector<float> load_audio(const std::string& path, const AudioReadOptions& options);

// Resamples by `ratio` = output rate / input rate.
std::vector<float> resample(const std::vector<float>& input, double ratio, ResampleQuality quality);

// Writes mono 16-bit PCM WAV (tests and tools).
void write_wav(const std::string& path, const std::vector<float>& samples, int sample_rate);

}  // namespace sori
