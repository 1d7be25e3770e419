#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <fstream>

#include <sndfile.h>

#include "sori/core/error.h"
#include "sori/data/audio.h"
#include "test_util.h"

using namespace sori;

TEST(Audio, DecodesWavAndSegments) {
  test::TempDir dir;
  auto x = test::tone(2.0, 16000);
  write_wav(dir.path("a.wav"), x, 16000);
  auto info = probe_audio(dir.path("a.wav"));
  EXPECT_EQ(info.frames, 32000);
  EXPECT_EQ(info.sample_rate, 16000);
  AudioReadOptions o;
  auto all = load_audio(dir.path("a.wav"), o);
  ASSERT_EQ(all.size(), 32000u);
  EXPECT_NEAR(all[100], x[100], 1e-4);
  o.offset = 0.5;
  o.duration = 1.0;
  auto seg = load_audio(dir.path("a.wav"), o);
  ASSERT_EQ(seg.size(), 16000u);
  EXPECT_NEAR(seg[0], x[8000], 1e-4);
}

TEST(Audio, ResamplesToTargetRateAndMixesToMono) {
  test::TempDir dir;
  // Stereo 8 kHz: left carries the tone, right -0.5 times it -> mono = tone * 0.25, peak 0.125.
  auto x = test::tone(1.0, 8000, 200.0);
  std::vector<float> stereo;
  for (float v : x) { stereo.push_back(v); stereo.push_back(-0.5f * v); }
  SF_INFO info{};
  info.samplerate = 8000;
  info.channels = 2;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(dir.path("stereo.flac").c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  sf_writef_float(f, stereo.data(), static_cast<sf_count_t>(x.size()));
  sf_close(f);
  auto y = load_audio(dir.path("stereo.flac"), AudioReadOptions{});
  EXPECT_NEAR(static_cast<double>(y.size()), 16000.0, 2.0);
  float peak = 0;
  for (std::size_t i = 1000; i < 15000; ++i) peak = std::max(peak, std::abs(y[i]));
  EXPECT_NEAR(peak, 0.125f, 0.01f);
}

TEST(Audio, SpeedPerturbationChangesDuration) {
  test::TempDir dir;
  write_wav(dir.path("a.wav"), test::tone(1.0, 16000), 16000);
  AudioReadOptions o;
  o.speed = 1.1;
  EXPECT_NEAR(static_cast<double>(load_audio(dir.path("a.wav"), o).size()), 16000 / 1.1, 2.0);
  o.speed = 0.9;
  EXPECT_NEAR(static_cast<double>(load_audio(dir.path("a.wav"), o).size()), 16000 / 0.9, 2.0);
}

TEST(Audio, ReadsHeaderlessPcmAs16kLittleEndian) {
  test::TempDir dir;
  std::vector<std::int16_t> pcm(16000);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<std::int16_t>(i % 2 ? 8192 : -8192);
  {
    std::ofstream out(dir.path("KsponSpeech_000001.pcm"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(pcm.data()), static_cast<std::streamsize>(pcm.size() * 2));
  }
  auto info = probe_audio(dir.path("KsponSpeech_000001.pcm"));
  EXPECT_EQ(info.sample_rate, 16000);
  EXPECT_EQ(info.frames, 16000);
  auto y = load_audio(dir.path("KsponSpeech_000001.pcm"), AudioReadOptions{});
  ASSERT_EQ(y.size(), 16000u);
  EXPECT_FLOAT_EQ(y[0], -0.25f);
  EXPECT_FLOAT_EQ(y[1], 0.25f);
}

TEST(Audio, MissingFileErrorNamesIt) {
  try {
    probe_audio("/nonexistent/x.flac");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.flac"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("file not found"), std::string::npos);
  }
}
