#include <gtest/gtest.h>

#include "sori/config/config.h"
#include "sori/core/error.h"

using namespace sori;

namespace {
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  try {
    load_config_from_string(yaml, "c.yaml", overrides);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, LoadsNestedNeMoLayout) {
  auto c = load_config_from_string(R"(
name: demo_en
model:
  train_ds: {manifest_filepath: "a.jsonl,b.jsonl", batch_duration: 60, num_buckets: 8}
  validation_ds: {manifest_filepath: [v1.jsonl, v2.jsonl], batch_duration: 120}
  tokenizer: {type: sentencepiece, dir: tok, vocab_size: 256}
  optim: {name: adamw, lr: 1.0e-3, sched: {name: CosineAnnealing, warmup_steps: 1000, min_lr: 1.0e-5}}
trainer: {max_steps: 500, seed: 7}
checkpoint: {every_n_steps: 100, monitor: val_cer, mode: min}
)", "c.yaml");
  EXPECT_EQ(c.name, "demo_en");
  EXPECT_EQ(c.model.train_ds.manifest_filepath, (std::vector<std::string>{"a.jsonl", "b.jsonl"}));
  EXPECT_EQ(c.model.validation_ds.manifest_filepath, (std::vector<std::string>{"v1.jsonl", "v2.jsonl"}));
  EXPECT_DOUBLE_EQ(c.model.train_ds.batch_duration, 60.0);
  EXPECT_EQ(c.model.tokenizer.type, "sentencepiece");
  EXPECT_EQ(c.model.optim.sched.warmup_steps, 1000);
  EXPECT_EQ(c.trainer.max_steps, 500);
  EXPECT_EQ(c.trainer.run_dir, "runs/demo_en");  // derived default
  EXPECT_EQ(c.model.encoder.feat_in, 80);       // from preprocessor.features
}

TEST(Config, UnknownKeyNamesFileLineAndNearestKey) {
  const auto msg = error_of("name: x\nmodel:\n  train_ds:\n    batch_durration: 60\n");
  EXPECT_NE(msg.find("c.yaml:4"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.train_ds.batch_durration"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'model.train_ds.batch_duration'"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyAndValue) {
  const auto msg = error_of("trainer:\n  max_steps: lots\n");
  EXPECT_NE(msg.find("c.yaml:2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trainer.max_steps"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'lots'"), std::string::npos) << msg;
  EXPECT_NE(error_of("trainer: {max_epochs: 1.5}").find("an integer"), std::string::npos);
}

TEST(Config, IntIsCountFloatIsFraction) {
  auto a = load_config_from_string("model: {spec_augment: {time_width: 0.05}}\ntrainer: {val_check_interval: 0.25}", "c");
  EXPECT_TRUE(a.model.spec_augment.time_width.is_fraction);
  EXPECT_DOUBLE_EQ(a.model.spec_augment.time_width.value, 0.05);
  EXPECT_TRUE(a.trainer.val_check_interval.is_fraction);
  EXPECT_DOUBLE_EQ(a.trainer.val_check_interval.resolve(400), 100.0);
  auto b = load_config_from_string("model: {spec_augment: {time_width: 40}}\ntrainer: {val_check_interval: 500}", "c");
  EXPECT_FALSE(b.model.spec_augment.time_width.is_fraction);
  EXPECT_DOUBLE_EQ(b.model.spec_augment.time_width.value, 40.0);
  EXPECT_FALSE(b.trainer.val_check_interval.is_fraction);
  EXPECT_DOUBLE_EQ(b.trainer.val_check_interval.resolve(400), 500.0);
  // 1.0 is a float: the whole epoch, not one step.
  auto c = load_config_from_string("trainer: {val_check_interval: 1.0}", "c");
  EXPECT_TRUE(c.trainer.val_check_interval.is_fraction);
  EXPECT_NE(error_of("trainer: {val_check_interval: 1.5}").find("fraction in [0, 1]"), std::string::npos);
}

TEST(Config, CommandLineOverrides) {
  auto c = load_config_from_string("trainer: {max_steps: 10}\nmodel: {optim: {lr: 0.1}}", "c.yaml",
                                   {"trainer.max_steps=500", "model.optim.lr=1e-3", "model.train_ds.shuffle=false"});
  EXPECT_EQ(c.trainer.max_steps, 500);
  EXPECT_DOUBLE_EQ(c.model.optim.lr, 1e-3);
  EXPECT_FALSE(c.model.train_ds.shuffle);
  const auto msg = error_of("trainer: {max_steps: 10}", {"trainer.max_stepz=5"});
  EXPECT_NE(msg.find("command-line override 'trainer.max_stepz=5'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'trainer.max_steps'"), std::string::npos) << msg;
  EXPECT_NE(error_of("", {"no_equals_sign"}).find("expected key.path=value"), std::string::npos);
}

TEST(Config, ResolvedYamlRoundTrips) {
  auto a = load_config_from_string("name: rt\nmodel: {spec_augment: {time_width: 40}, optim: {lr: 1.0}}\n"
                                   "trainer: {val_check_interval: 1.0}", "c");
  const std::string yaml = config_to_yaml(a);
  auto b = load_config_from_string(yaml, "resolved");
  EXPECT_EQ(config_to_yaml(b), yaml);
  EXPECT_FALSE(b.model.spec_augment.time_width.is_fraction);
  EXPECT_TRUE(b.trainer.val_check_interval.is_fraction);
  EXPECT_DOUBLE_EQ(b.model.optim.lr, 1.0);
}

TEST(Config, InvalidYamlNamesLine) {
  const auto msg = error_of("model:\n  train_ds: {a: [1, 2}\n");
  EXPECT_NE(msg.find("c.yaml:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("invalid YAML"), std::string::npos) << msg;
}
