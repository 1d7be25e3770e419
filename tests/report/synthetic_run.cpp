#include "report/synthetic_run.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "sori/train/error_rate.h"
#include "test_util.h"

namespace sori::test {

std::string validation_row(int step, const std::string& dataset, int line, const std::string& ref,
                           const std::string& hyp) {
  ErrorCounts c;
  c.add(ref, hyp);
  return nlohmann::json{{"step", step}, {"dataset", dataset}, {"where", dataset + ".jsonl:" + std::to_string(line)},
                        {"audio", "audio/" + dataset + "_" + std::to_string(line) + ".wav"}, {"duration", 1.5 + line * 0.25},
                        {"reference", ref}, {"hypothesis", hyp}, {"char_edits", c.char_edits}, {"chars", c.chars},
                        {"word_edits", c.word_edits}, {"words", c.words}}
             .dump() +
         "\n";
}

void write_synthetic_run(const std::string& dir, const SyntheticRun& o) {
  std::string metrics;
  for (int step = 10; step <= 200; step += 10) {
    const double lr = step <= 50 ? 1e-3 * step / 50 : 1e-3 * 0.5 * (1 + std::cos(M_PI * (step - 50) / 150.0));
    metrics += nlohmann::json{{"step", step}, {"epoch", step / 100.0}, {"loss", o.scale * (20 * std::exp(-step / 30.0) + 0.15)},
                              {"lr", lr}, {"grad_norm", 2.0}, {"audio_s_per_s", 120.5}, {"padding", 0.12},
                              {"skipped_steps", 0}, {"data_wait_fraction", 0.03}, {"elapsed_s", step * 0.8}}
                   .dump() +
               "\n";
    if (step % 50 == 0) {
      const double a = o.scale * 0.9 * std::exp(-step / 80.0), b = a * 1.3;
      metrics += nlohmann::json{{"step", step}, {"val_cer", (a + b) / 2}, {"val_wer", std::min(1.0, 2 * (a + b) / 2)},
                                {"val_cer_nospace", a}, {"val_cer/dev_a", a}, {"val_wer/dev_a", std::min(1.0, 2 * a)},
                                {"val_cer_nospace/dev_a", a}, {"val_cer/dev_b", b}, {"val_wer/dev_b", std::min(1.0, 2 * b)},
                                {"val_cer_nospace/dev_b", b}}
                     .dump() +
                 "\n";
    }
  }
  if (o.torn_last_line) metrics += "{\"step\": 210, \"epoch\": 2.1, \"lo";
  write_text(dir + "/metrics.jsonl", metrics);
  write_text(dir + "/config.yaml", "name: demo <synthetic>\ntrainer:\n  max_steps: 200\n  run_dir: " + dir +
                                       "\ncheckpoint:\n  monitor: val_cer\n  mode: min\n");
  write_text(dir + "/run_info.json",
             "{\"host\": \"box-1\", \"cpu\": \"Example CPU <8 cores>\", \"cores\": 8, \"memory_gib\": 31.2, "
             "\"device\": \"cpu\", \"world_size\": 2, \"libtorch\": \"1.13.1\", \"started\": \"2026-11-23T10:00:00Z\", "
             "\"command\": \"sori train --config configs/demo_en.yaml\"}\n");
  for (const auto* name : {"last.ckpt", "last.prev.ckpt", "step_150.ckpt", "step_200.ckpt", "step_50.ckpt"})
    write_text(dir + "/checkpoints/" + name, std::string(3000 + 10 * std::string(name).size(), 'x'));
  write_text(dir + "/checkpoints/index.json",
             R"([{"file": "last.ckpt", "step": 200, "epoch": 2, "metrics": {"val_cer": 0.08, "val_wer": 0.2}},
 {"file": "last.prev.ckpt", "step": 190, "epoch": 1, "metrics": {}},
 {"file": "step_150.ckpt", "step": 150, "epoch": 1, "metrics": {"val_cer": 0.1, "val_wer": 0.25, "val_cer/dev_a": 0.09}},
 {"file": "step_200.ckpt", "step": 200, "epoch": 2, "metrics": {"val_cer": 0.08, "val_wer": 0.2, "val_cer/dev_a": 0.07}}]
)");
  write_text(dir + "/validation/rank0.jsonl",
             validation_row(200, "dev_a", 1, "the cat sat on the mat", "the bat sat on mat") +
                 validation_row(200, "dev_a", 2, "kitten", "sitting") +
                 validation_row(200, "dev_b", 3, "<script>alert('x')</script>", "script alert x") +
                 validation_row(200, "dev_b", 4, "perfect match", "perfect match"));
  write_text(dir + "/validation/rank1.jsonl",
             validation_row(200, "dev_b", 5, "안녕 하세요", "안녕하세요") +
                 validation_row(200, "dev_a", 6, "a b c d", "a x c d e"));
  write_text(dir + "/validation/rank2.jsonl", validation_row(150, "dev_a", 7, "old validation", "nothing right"));
}

}  // namespace sori::test
