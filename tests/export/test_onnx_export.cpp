// ONNX export checked by an independent runtime: ONNX Runtime (npm onnxruntime-node, installed by
// scripts/test.sh into tests/export/node_modules) against the LibTorch forward.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/data/audio.h"
#include "sori/data/dataset.h"
#include "sori/export/batch_norm_fold.h"
#include "sori/train/checkpoint.h"
#include "sori/export/onnx_export.h"
#include "sori/export/triton_repo.h"
#include "sori/model/ctc_decode.h"
#include "sori/model/state_dict.h"
#include "sori/train/trainer.h"
#include "export_util.h"
#include "test_util.h"
#include "train/tone_corpus.h"

using namespace sori;
using sori::test::kExportDir;
using sori::test::random_model;
namespace fs = std::filesystem;

namespace {

bool ort_available() { return fs::exists(kExportDir + "/node_modules/onnxruntime-node"); }

void write_raw(const std::string& path, const torch::Tensor& t) {
  const auto c = t.contiguous();
  write_file_atomic(path, std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
}

torch::Tensor read_raw(const std::string& path, const std::vector<std::int64_t>& dims, torch::ScalarType type) {
  const auto bytes = read_file(path);
  auto t = torch::empty(dims, type);
  EXPECT_EQ(static_cast<std::size_t>(t.nbytes()), bytes.size());
  std::memcpy(t.data_ptr(), bytes.data(), std::min<std::size_t>(bytes.size(), t.nbytes()));
  return t;
}

// Runs the model in ONNX Runtime; returns (logprobs, encoded_lengths).
std::pair<torch::Tensor, torch::Tensor> run_ort(const test::TempDir& dir, const std::string& model,
                                                const torch::Tensor& feats, const torch::Tensor& lengths,
                                                const std::string& input = "audio_signal",
                                                const std::string& length_input = "length") {
  write_raw(dir.path("feats.bin"), feats.to(torch::kFloat32));
  write_raw(dir.path("len.bin"), lengths.to(torch::kInt64));
  nlohmann::json spec{{"inputs",
                       {{{"name", input}, {"type", "float32"}, {"dims", feats.sizes().vec()}, {"file", dir.path("feats.bin")}},
                        {{"name", length_input}, {"type", "int64"}, {"dims", lengths.sizes().vec()}, {"file", dir.path("len.bin")}}}}};
  write_file_atomic(dir.path("spec.json"), spec.dump());
  const std::string cmd = "node " + kExportDir + "/ort_run.js " + model + " " + dir.path("spec.json") + " " + dir.path("");
  const auto [status, out] = test::run_command(cmd);
  EXPECT_EQ(status, 0) << out;
  const auto meta = nlohmann::json::parse(read_file(dir.path("outputs.json")));
  auto lp = read_raw(dir.path("logprobs.bin"), meta["logprobs"]["dims"].get<std::vector<std::int64_t>>(), torch::kFloat32);
  auto len = read_raw(dir.path("encoded_lengths.bin"), meta["encoded_lengths"]["dims"].get<std::vector<std::int64_t>>(),
                      torch::kInt64);
  return {lp, len};
}

// Max |difference| over each utterance's valid frames; transcripts compared too.
void expect_parity(CtcModel& model, const std::pair<torch::Tensor, torch::Tensor>& ort, const torch::Tensor& feats,
                   const torch::Tensor& lengths, double tolerance, int blank) {
  torch::NoGradGuard no_grad;
  auto [lp, enc] = model->forward(feats, lengths);
  ASSERT_TRUE(torch::equal(enc, ort.second));
  ASSERT_EQ(lp.sizes(), ort.first.sizes());
  double worst = 0;
  for (std::int64_t b = 0; b < lp.size(0); ++b) {
    const auto t = enc[b].item<std::int64_t>();
    worst = std::max(worst, (lp[b].narrow(0, 0, t) - ort.first[b].narrow(0, 0, t)).abs().max().item<double>());
  }
  EXPECT_LE(worst, tolerance) << "batch " << lp.size(0) << " x " << feats.size(2) << " frames";
  const auto a = greedy_ctc_decode(lp, enc, blank), o = greedy_ctc_decode(ort.first, ort.second, blank);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tokens, o[i].tokens) << "utterance " << i;
}

}  // namespace

TEST(OnnxExport, ValidGraphWithMetadataAndFoldedBatchNorm) {
  test::TempDir dir;
  auto p = random_model();
  export_onnx(p, dir.path("m.onnx"));
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(read_file(dir.path("m.onnx"))));
  EXPECT_EQ(m.ir_version(), 8);
  EXPECT_EQ(m.opset_import(0).version(), 17);
  EXPECT_EQ(m.graph().input(0).name(), "audio_signal");
  EXPECT_EQ(m.graph().input(1).name(), "length");
  EXPECT_EQ(m.graph().output(0).name(), "logprobs");
  EXPECT_EQ(m.graph().output(1).name(), "encoded_lengths");
  EXPECT_EQ(m.graph().output(0).type().tensor_type().shape().dim(2).dim_value(), 12);  // 11 tokens + blank
  std::map<std::string, std::string> meta;
  for (const auto& kv : m.metadata_props()) meta[kv.key()] = kv.value();
  EXPECT_EQ(meta["blank_index"], "11");
  EXPECT_EQ(meta["sample_rate"], "16000");
  EXPECT_EQ(meta["subsampling_factor"], "8");
  EXPECT_EQ(nlohmann::json::parse(meta["vocabulary"]).size(), 11u);
  EXPECT_NE(meta["preprocessor"].find("\"n_fft\":512"), std::string::npos);
  for (const auto& node : m.graph().node()) EXPECT_NE(node.op_type(), "BatchNormalization");
}

TEST(OnnxExport, MatchesLibTorchOnPaddedBatchesOfDynamicShape) {
  if (!ort_available()) GTEST_SKIP() << "onnxruntime-node not installed (scripts/test.sh installs it)";
  test::TempDir dir;
  auto p = random_model();
  export_onnx(p, dir.path("m.onnx"));
  torch::manual_seed(11);
  for (const auto& [batch, frames] : std::vector<std::pair<int, int>>{{1, 50}, {3, 417}, {8, 300}, {2, 3000}}) {
    auto lengths = torch::randint(frames / 3, frames + 1, {batch}, torch::kInt64);
    lengths[0] = frames;
    auto feats = torch::randn({batch, 80, frames});
    feats = feats.masked_fill(torch::arange(frames).view({1, 1, -1}) >= lengths.view({-1, 1, 1}), 0.0);
    expect_parity(p.model, run_ort(dir, dir.path("m.onnx"), feats, lengths), feats, lengths, 1e-4, p.tokenizer->blank_id());
  }
}

TEST(OnnxExport, WithPreprocessorFromWaveformMatchesLibTorch) {
  if (!ort_available()) GTEST_SKIP() << "onnxruntime-node not installed (scripts/test.sh installs it)";
  test::TempDir dir;
  auto p = random_model();
  export_onnx(p, dir.path("wave.onnx"), OnnxExportOptions{false, true});
  torch::manual_seed(5);
  auto lengths = torch::tensor({32000, 20011, 7777}, torch::kInt64);
  auto audio = torch::randn({3, 32000}) * 0.1;
  audio = audio.masked_fill(torch::arange(32000).view({1, -1}) >= lengths.view({-1, 1}), 0.0);
  torch::NoGradGuard no_grad;
  auto [feats, frames] = p.model->features(audio, lengths);
  expect_parity(p.model, run_ort(dir, dir.path("wave.onnx"), audio, lengths, "audio", "audio_length"), feats, frames,
                1e-3, p.tokenizer->blank_id());
}

TEST(OnnxExport, Fp16TranscribesAsFp32OnATrainedModel) {
  if (!ort_available()) GTEST_SKIP() << "onnxruntime-node not installed (scripts/test.sh installs it)";
  test::TempDir dir;
  // Random weights have near-ties between tokens; a briefly trained model has clear winners.
  const auto train = test::make_tone_corpus(dir, "train", 8, 9);
  Trainer(load_config_from_string(test::tiny_config_yaml(train, train, dir.path("run")), "tiny.yaml"), TrainOptions{}).fit();
  auto p = load_pretrained(dir.path("run/checkpoints/last.ckpt"), "cpu");
  export_onnx(p, dir.path("fp16.onnx"), OnnxExportOptions{true});
  const auto ds = load_dataset({train}, DatasetFilters{});
  std::vector<torch::Tensor> audio;
  std::int64_t longest = 0;
  for (const auto& e : ds.entries) {
    audio.push_back(torch::tensor(load_audio(e.audio_filepath, AudioReadOptions{})));
    longest = std::max(longest, audio.back().size(0));
  }
  auto batch = torch::zeros({static_cast<std::int64_t>(audio.size()), longest});
  auto lengths = torch::empty({batch.size(0)}, torch::kInt64);
  for (std::size_t i = 0; i < audio.size(); ++i) {
    batch[i].narrow(0, 0, audio[i].size(0)).copy_(audio[i]);
    lengths[i] = audio[i].size(0);
  }
  torch::NoGradGuard no_grad;
  auto [feats, frames] = p.model->features(batch, lengths);
  const auto ort = run_ort(dir, dir.path("fp16.onnx"), feats, frames);
  auto [lp, enc] = p.model->forward(feats, frames);
  ASSERT_TRUE(torch::equal(enc, ort.second));
  const auto a = greedy_ctc_decode(lp, enc, p.tokenizer->blank_id());
  const auto o = greedy_ctc_decode(ort.first, ort.second, p.tokenizer->blank_id());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(p.tokenizer->decode(o[i].tokens), p.tokenizer->decode(a[i].tokens)) << "utterance " << i;
    EXPECT_EQ(p.tokenizer->decode(a[i].tokens), ds.entries[i].text);
  }
}

// bench/run_export_cpu.sh must keep running where CI and users run it (one short round; the
// LibTorch side times the demo architecture, so only that the script works is checked here).
TEST(OnnxExport, ExportBenchScriptRuns) {
  if (!ort_available()) GTEST_SKIP() << "onnxruntime-node not installed (scripts/test.sh installs it)";
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 4, 3);
  Trainer(load_config_from_string(test::tiny_config_yaml(train, train, dir.path("run")), "tiny.yaml", {"trainer.max_steps=1"}),
          TrainOptions{})
      .fit();
  const auto bin_dir = std::filesystem::path(SORI_BINARY).parent_path().string();
  const auto r = test::run_command("RUNS=2 WARMUP=1 AUDIO_SECONDS=1 BIN_DIR=" + bin_dir + " " + std::string(SORI_SOURCE_DIR) +
                                   "/bench/run_export_cpu.sh " + dir.path("run/checkpoints/last.ckpt"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("median"), std::string::npos) << r.output;
}

TEST(TritonRepo, LayoutAndConfig) {
  test::TempDir dir;
  auto p = random_model();
  TritonOptions o;
  o.model_name = "stt_fastconformer";
  o.max_batch_size = 8;
  o.preferred_batch_sizes = {2, 8};
  o.max_queue_delay_us = 500;
  write_triton_repo(p, dir.path("repo"), o, false);
  EXPECT_TRUE(fs::exists(dir.path("repo/stt_fastconformer/1/model.onnx")));
  EXPECT_TRUE(fs::exists(dir.path("repo/README.md")));
  EXPECT_NE(read_file(dir.path("repo/README.md")).find("same shape"), std::string::npos);
  const auto vocab = read_file(dir.path("repo/stt_fastconformer/vocab.txt"));
  EXPECT_EQ(vocab.substr(0, 4), "\xE2\x96\x81\n");  // the space token first
  const auto cfg = read_file(dir.path("repo/stt_fastconformer/config.pbtxt"));
  for (const char* expected :
       {"platform: \"onnxruntime_onnx\"", "max_batch_size: 8", "name: \"audio_signal\" data_type: TYPE_FP32 dims: [ 80, -1 ]",
        "name: \"length\" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] }",
        "name: \"logprobs\" data_type: TYPE_FP32 dims: [ -1, 12 ]", "preferred_batch_size: [ 2, 8 ]",
        "max_queue_delay_microseconds: 500"})
    EXPECT_NE(cfg.find(expected), std::string::npos) << expected << "\n" << cfg;
}

TEST(OnnxExport, BatchNormFoldingIsExact) {
  torch::manual_seed(2);
  torch::nn::Conv1d conv(torch::nn::Conv1dOptions(16, 16, 9).padding(4).groups(16));
  torch::nn::BatchNorm1d bn(16);
  torch::NoGradGuard no_grad;
  bn->running_mean.normal_(0, 0.5);
  bn->running_var.uniform_(0.3, 3.0);
  bn->weight.normal_(1.0, 0.3);
  bn->bias.normal_(0, 0.3);
  bn->eval();
  const auto [w, b] = fold_batch_norm(conv->weight, conv->bias, bn->weight, bn->bias, bn->running_mean, bn->running_var);
  auto x = torch::randn({2, 16, 50});
  auto reference = bn->forward(conv->forward(x));
  auto folded = torch::conv1d(x, w, b, 1, 4, 1, 16);
  EXPECT_LE((reference - folded).abs().max().item<double>(), 1e-5);
}
