#include "sori/data/audio.h"

#include <samplerate.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "sori/core/error.h"

namespace sori {

namespace {

struct SndFileCloser {
  void operator()(SNDFILE* f) const { if (f) sf_close(f); }
};
using SndFilePtr = std::unique_ptr<SNDFILE, SndFileCloser>;

bool is_raw_pcm(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".pcm" || ext == ".raw";
}

SndFilePtr open_audio(const std::string& path, SF_INFO& info) {
  info = SF_INFO{};
  if (is_raw_pcm(path)) {
    info.samplerate = 16000;
    info.channels = 1;
    info.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
  }
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  SORI_CHECK(f != nullptr, "audio ", path, ": cannot open (",
             std::filesystem::exists(path) ? sf_strerror(nullptr) : "file not found", ")");
  return SndFilePtr(f);
}

int converter_type(ResampleQuality q) {
  switch (q) {
    case ResampleQuality::SincBest: return SRC_SINC_BEST_QUALITY;
    case ResampleQuality::SincMedium: return SRC_SINC_MEDIUM_QUALITY;
    case ResampleQuality::SincFastest: return SRC_SINC_FASTEST;
    case ResampleQuality::Linear: return SRC_LINEAR;
  }
  return SRC_SINC_MEDIUM_QUALITY;
}

}  // namespace

ResampleQuality parse_resample_quality(const std::string& name) {
  if (name == "sinc_best") return ResampleQuality::SincBest;
  if (name == "sinc_medium") return ResampleQuality::SincMedium;
  if (name == "sinc_fastest") return ResampleQuality::SincFastest;
  if (name == "linear") return ResampleQuality::Linear;
  SORI_FAIL("resample quality: expected sinc_best, sinc_medium, sinc_fastest or linear, found '", name, "'");
}

AudioInfo probe_audio(const std::string& path) {
  SF_INFO info;
  auto f = open_audio(path, info);
  return AudioInfo{static_cast<std::int64_t>(info.frames), info.samplerate, info.channels};
}

std::vector<float> resample(const std::vector<float>& input, double ratio, ResampleQuality quality) {
  if (std::abs(ratio - 1.0) < 1e-12 || input.empty()) return input;
  const auto out_len = static_cast<long>(std::ceil(input.size() * ratio)) + 16;
  std::vector<float> out(static_cast<std::size_t>(out_len));
  SRC_DATA data{};
  data.data_in = input.data();
  data.input_frames = static_cast<long>(input.size());
  data.data_out = out.data();
  data.output_frames = out_len;
  data.src_ratio = ratio;
  const int err = src_simple(&data, converter_type(quality), 1);
  SORI_CHECK(err == 0, "resample by ", ratio, ": ", src_strerror(err));
  out.resize(static_cast<std::size_t>(data.output_frames_gen));
  return out;
}

std::vector<float> load_audio(const std::string& path, const AudioReadOptions& o) {
  SF_INFO info;
  auto f = open_audio(path, info);
  const auto start = static_cast<sf_count_t>(std::llround(o.offset * info.samplerate));
  SORI_CHECK(start <= info.frames, "audio ", path, ": offset ", o.offset, " s is past the end (",
             static_cast<double>(info.frames) / info.samplerate, " s)");
  sf_count_t count = info.frames - start;
  if (o.duration > 0) count = std::min(count, static_cast<sf_count_t>(std::llround(o.duration * info.samplerate)));
  if (start > 0) SORI_CHECK(sf_seek(f.get(), start, SEEK_SET) >= 0, "audio ", path, ": cannot seek to ", o.offset, " s");

  std::vector<float> interleaved(static_cast<std::size_t>(count * info.channels));
  const sf_count_t got = sf_readf_float(f.get(), interleaved.data(), count);
  SORI_CHECK(got == count, "audio ", path, ": decoded ", got, " of ", count, " frames (",
             sf_strerror(f.get()), ")");

  std::vector<float> mono(static_cast<std::size_t>(count));
  const int ch = info.channels;
  for (sf_count_t i = 0; i < count; ++i) {
    float s = 0.f;
    for (int c = 0; c < ch; ++c) s += interleaved[static_cast<std::size_t>(i * ch + c)];
    mono[static_cast<std::size_t>(i)] = s / static_cast<float>(ch);
    // Float files can hold NaN or Inf; one would turn the whole batch's loss and gradients non-finite.
    SORI_CHECK(std::isfinite(s), "audio ", path, ": sample ", start + i, " (", static_cast<double>(start + i) / info.samplerate,
               " s) is not finite (", s, ")");
  }
  // One resampling pass does both the rate change and the speed perturbation.
  SORI_CHECK(o.speed > 0, "speed perturbation factor must be > 0, found ", o.speed);
  const double ratio = static_cast<double>(o.target_sample_rate) / (info.samplerate * o.speed);
  return resample(mono, ratio, o.quality);
}

void write_wav(const std::string& path, const std::vector<float>& samples, int sample_rate) {
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  SORI_CHECK(f != nullptr, "audio ", path, ": cannot write (", sf_strerror(nullptr), ")");
  SndFilePtr guard(f);
  sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
}

}  // namespace sori
