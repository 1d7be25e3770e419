// NeMo interop: .nemo import (our pickle reader), NeMo-keyed state dicts and .nemo export.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "export_util.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/export/nemo_archive.h"
#include "sori/export/nemo_import.h"
#include "sori/export/nemo_state_dict.h"
#include "sori/train/checkpoint.h"
#include "sori/train/trainer.h"
#include "test_util.h"
#include "train/tone_corpus.h"

using namespace sori;
using sori::test::kExportDir;
using sori::test::random_model;
namespace fs = std::filesystem;

TEST(NemoStateDict, TorchLoadOpensItWithNeMoKeys) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install_deps.sh installs it)";
  test::TempDir dir;
  auto p = random_model();
  export_nemo_state_dict(p, dir.path("model_weights.ckpt"));
  const std::string cmd = "/usr/bin/python3 -c \"import torch, json, sys; d = torch.load(sys.argv[1]); "
                          "print(json.dumps({k: [list(v.shape), float(v.double().sum())] for k, v in d.items()}))\" " +
                          dir.path("model_weights.ckpt");
  const auto [status, out] = test::run_command(cmd);
  ASSERT_EQ(status, 0) << out;
  const auto loaded = nlohmann::json::parse(out.substr(out.find('{')));
  const auto ours = state_dict(*p.model);
  EXPECT_EQ(loaded.size(), ours.size());
  EXPECT_TRUE(loaded.contains("preprocessor.featurizer.window"));
  EXPECT_TRUE(loaded.contains("preprocessor.featurizer.fb"));
  EXPECT_TRUE(loaded.contains("decoder.decoder_layers.0.weight"));
  for (const auto& [key, t] : ours) {
    ASSERT_TRUE(loaded.contains(key)) << key;
    EXPECT_EQ(loaded[key][0].get<std::vector<std::int64_t>>(), t.sizes().vec()) << key;
    EXPECT_NEAR(loaded[key][1].get<double>(), t.to(torch::kFloat64).sum().item<double>(), 1e-6 * (1 + t.numel())) << key;
  }
}

TEST(NemoImport, ReadsGzipAndPlainArchivesAndEveryWeight) {
  test::TempDir dir;
  const auto expected_bytes = read_file(kExportDir + "/golden/fake_ctc_expected.pt");
  const auto expected = torch::pickle_load(std::vector<char>(expected_bytes.begin(), expected_bytes.end())).toGenericDict();
  for (const std::string name : {"fake_ctc.nemo", "fake_ctc_plain.nemo"}) {
    const auto r = import_nemo(kExportDir + "/golden/" + name, dir.path(name + ".ckpt"));
    EXPECT_EQ(r.tensors, expected.size());
    EXPECT_EQ(r.n_layers, 2);
    EXPECT_EQ(r.tokenizer_type, "char");
    EXPECT_EQ(r.vocab_size, 11);
    const auto c = load_checkpoint(dir.path(name + ".ckpt"));
    ASSERT_EQ(c.model.size(), expected.size());
    for (const auto& item : expected) {
      const auto key = item.key().toStringRef();
      ASSERT_TRUE(c.model.count(key)) << key;
      EXPECT_TRUE(torch::equal(c.model.at(key), item.value().toTensor())) << key;
    }
    // The result is usable: it loads for inference with the char vocabulary in NeMo's order.
    auto p = load_pretrained(dir.path(name + ".ckpt"), "cpu");
    EXPECT_EQ(p.tokenizer->vocabulary()[1], "a");
    EXPECT_EQ(p.config.model.encoder.d_model, 48);
  }
}

TEST(NemoImport, RefusesWhatItDoesNotSupport) {
  test::TempDir dir;
  // A transducer config in an otherwise valid archive layout.
  const std::string config = "target: nemo.collections.asr.models.rnnt_models.EncDecRNNTModel\njoint: {}\n"
                             "encoder: {_target_: nemo.collections.asr.modules.ConformerEncoder}\n";
  std::string tar(512, '\0');
  const std::string member = "./model_config.yaml";
  std::memcpy(tar.data(), member.data(), member.size());
  std::snprintf(tar.data() + 124, 12, "%011o", static_cast<unsigned>(config.size()));
  tar[156] = '0';
  std::memcpy(tar.data() + 257, "ustar", 5);
  tar += config + std::string((512 - config.size() % 512) % 512, '\0') + std::string(1024, '\0');
  write_file_atomic(dir.path("rnnt.nemo"), tar);
  try {
    import_nemo(dir.path("rnnt.nemo"), dir.path("out.ckpt"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only CTC models are supported"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir.path("out.ckpt")));
}

TEST(NemoArchive, ExportImportRoundTrip) {
  test::TempDir dir;
  auto p = random_model();
  p.config.model.encoder.use_pytorch_sdpa = true;  // a setting NeMo's config carries too
  export_nemo_archive(p, dir.path("model.nemo"));
  const auto files = read_tar_archive(dir.path("model.nemo"));
  ASSERT_TRUE(files.count("model_config.yaml"));
  ASSERT_TRUE(files.count("model_weights.ckpt"));
  EXPECT_NE(files.at("model_config.yaml").find("ConvASRDecoder"), std::string::npos);
  const auto r = import_nemo(dir.path("model.nemo"), dir.path("back.ckpt"));
  EXPECT_EQ(r.vocab_size, p.tokenizer->vocab_size());
  const auto back = load_checkpoint(dir.path("back.ckpt"));
  for (const auto& [key, t] : state_dict(*p.model)) {
    ASSERT_TRUE(back.model.count(key)) << key;
    EXPECT_TRUE(torch::equal(back.model.at(key), t)) << key;
  }
  EXPECT_TRUE(load_config_from_string(back.config_yaml, "back.ckpt").model.encoder.use_pytorch_sdpa);
}

TEST(NemoImport, NewTokenizerReinitialisesOnlyTheCtcHead) {
  test::TempDir dir;
  fs::create_directories(dir.path("tok"));
  CharTokenizer(U" xyz", false).save(dir.path("tok"));
  NemoImportOptions o;
  o.new_tokenizer_dir = dir.path("tok");
  o.tokenizer_out = dir.path("tok_out");
  const auto r = import_nemo(kExportDir + "/golden/fake_ctc.nemo", dir.path("new.ckpt"), o);
  EXPECT_EQ(r.vocab_size, 4);
  EXPECT_TRUE(fs::exists(dir.path("tok_out/vocab.txt")));
  const auto c = load_checkpoint(dir.path("new.ckpt"));
  EXPECT_EQ(c.model.at("decoder.decoder_layers.0.weight").sizes(), (std::vector<std::int64_t>{5, 48, 1}));
  const auto expected_bytes = read_file(kExportDir + "/golden/fake_ctc_expected.pt");
  const auto expected = torch::pickle_load(std::vector<char>(expected_bytes.begin(), expected_bytes.end())).toGenericDict();
  for (const auto& item : expected) {
    const auto key = item.key().toStringRef();
    if (key.rfind("decoder.", 0) == 0) continue;
    EXPECT_TRUE(torch::equal(c.model.at(key), item.value().toTensor())) << key;
  }
}

TEST(NemoArchive, SentencePieceTokenizerTravelsAsNemoFile) {
  test::TempDir dir;
  std::string lines;
  const char* words[] = {"alpha", "beta", "gamma", "delta", "omega", "sigma"};
  for (int i = 0; i < 120; ++i)
    lines += std::string("{\"audio_filepath\": \"a.wav\", \"duration\": 1, \"text\": \"") + words[i % 6] + " " +
             words[(i * 5) % 6] + "\"}\n";
  test::write_text(dir.path("m.jsonl"), lines);
  train_sentencepiece({dir.path("m.jsonl")}, dir.path("sp"), 30, "bpe");
  PretrainedModel p = random_model();
  p.config.model.tokenizer.type = "sentencepiece";
  p.tokenizer = std::make_unique<SentencePieceTokenizer>(dir.path("sp/tokenizer.model"));
  p.model = CtcModel(p.config.model, p.tokenizer->vocab_size());
  export_nemo_archive(p, dir.path("bpe.nemo"));
  const auto files = read_tar_archive(dir.path("bpe.nemo"));
  EXPECT_TRUE(files.count("tokenizer.model"));
  EXPECT_NE(files.at("model_config.yaml").find("nemo:tokenizer.model"), std::string::npos);
  const auto r = import_nemo(dir.path("bpe.nemo"), dir.path("bpe.ckpt"));
  EXPECT_EQ(r.tokenizer_type, "sentencepiece");
  EXPECT_EQ(r.vocab_size, 30);
  auto back = load_pretrained(dir.path("bpe.ckpt"), "cpu");
  EXPECT_EQ(back.tokenizer->encode("gamma omega"), p.tokenizer->encode("gamma omega"));
}

TEST(NemoImport, ImportedCheckpointFineTunesWithSoriTrain) {
  test::TempDir dir;
  // NeMo's English-letter model fine-tuned on our tone corpus with its own vocabulary.
  const auto train = test::make_tone_corpus(dir, "train", 8, 21);
  fs::create_directories(dir.path("tok_in"));
  CharTokenizer(U"abcdef", false).save(dir.path("tok_in"));
  NemoImportOptions o;
  o.new_tokenizer_dir = dir.path("tok_in");
  o.tokenizer_out = dir.path("tok");
  import_nemo(kExportDir + "/golden/fake_ctc.nemo", dir.path("imported.ckpt"), o);
  // The imported architecture (d 48, 2 layers, 4 heads, 8x with 16 channels, kernel 9).
  const auto config = load_config_from_string(
      test::tiny_config_yaml(train, train, dir.path("run")), "tiny.yaml",
      {"model.encoder.d_model=48", "model.encoder.n_layers=2", "model.encoder.n_heads=4",
       "model.encoder.subsampling_factor=8", "model.encoder.subsampling_conv_channels=16",
       "model.encoder.conv_kernel_size=9", "model.tokenizer.dir=" + dir.path("tok"), "trainer.max_steps=6",
       "trainer.val_check_interval=6", "model.train_ds.drop_infeasible=false"});
  const auto summary = Trainer(config, TrainOptions{dir.path("imported.ckpt"), 0}).fit();
  EXPECT_EQ(summary.steps, 6);
  // The encoder started from NeMo's weights, and training moved them.
  const auto before = load_checkpoint(dir.path("imported.ckpt")), after = load_checkpoint(dir.path("run/checkpoints/last.ckpt"));
  const std::string key = "encoder.layers.0.feed_forward1.linear1.weight";
  EXPECT_FALSE(torch::equal(before.model.at(key), after.model.at(key)));
  EXPECT_LT((before.model.at(key) - after.model.at(key)).abs().max().item<double>(), 0.1);
}
