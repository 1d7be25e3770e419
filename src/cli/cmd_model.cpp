#include <spdlog/spdlog.h>

#include <cstdio>

#include "commands.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/export/nemo_import.h"
#include "sori/data/tokenizer.h"
#include "sori/train/checkpoint.h"
#include "sori/train/pretrained.h"

namespace sori::cli {

void add_model_commands(CLI::App& app) {
  auto* info = with_example(app.add_subcommand("model-info", "Parameter counts per module"),
                   "sori model-info --config configs/fastconformer_ctc_large.yaml --vocab-size 1024");
  static std::string config_path;
  static int vocab_size = 0;
  static std::vector<std::string> overrides;
  info->add_option("--config", config_path, "YAML config")->required();
  info->add_option("--vocab-size", vocab_size, "vocabulary size (default: the config's tokenizer)");
  info->add_option("overrides", overrides, "key.path=value overrides");
  info->callback([] {
    const Config c = load_config(config_path, overrides);
    int v = vocab_size;
    if (v <= 0) v = load_tokenizer(c.model.tokenizer, c.model.train_ds.manifest_filepath)->vocab_size();
    CtcModel model(c.model, v);
    const auto& e = c.model.encoder;
    std::printf("FastConformer-CTC: d_model %d, %d layers, %d heads, %dx %s subsampling, vocabulary %d (+1 blank)\n",
                e.d_model, e.n_layers, e.n_heads, e.subsampling_factor, e.subsampling.c_str(), v);
    for (const auto& p : count_parameters(model)) std::printf("  %-24s %14lld\n", p.name.c_str(), static_cast<long long>(p.count));
  });

  auto* imp = with_example(app.add_subcommand("import-nemo", "Convert a NeMo FastConformer-CTC .nemo into a Sori checkpoint"),
                   "sori import-nemo --nemo stt_en_fastconformer_ctc_large.nemo --output nemo_large.ckpt --tokenizer-out data/tokenizers/nemo_large");
  static std::string nemo_path, nemo_output;
  static NemoImportOptions nemo_options;
  imp->add_option("--nemo", nemo_path, ".nemo archive (tar or tar.gz)")->required();
  imp->add_option("--output", nemo_output, "Sori checkpoint to write")->required();
  imp->add_option("--new-tokenizer", nemo_options.new_tokenizer_dir,
                  "folder with another tokenizer (vocab.txt or tokenizer.model): re-initialises the CTC head");
  imp->add_option("--new-tokenizer-type", nemo_options.new_tokenizer_type, "char, jamo or sentencepiece");
  imp->add_option("--tokenizer-out", nemo_options.tokenizer_out, "also write the tokenizer files here");
  imp->callback([] {
    const auto r = import_nemo(nemo_path, nemo_output, nemo_options);
    spdlog::info("imported {} tensors: d_model {}, {} layers, {} tokenizer with {} tokens -> {}", r.tensors, r.d_model,
                 r.n_layers, r.tokenizer_type, r.vocab_size, nemo_output);
  });

  auto* avg = with_example(app.add_subcommand("average-checkpoints", "Average the weights of a run's best checkpoints"),
                   "sori average-checkpoints --run runs/demo_en --top-k 3 --output runs/demo_en/averaged.ckpt");
  static std::string run_dir, output, monitor = "val_cer", mode = "min";
  static int top_k = 5;
  avg->add_option("--run", run_dir, "run folder (trainer.run_dir)")->required();
  avg->add_option("--top-k", top_k, "how many of the best to average")->check(CLI::PositiveNumber);
  avg->add_option("--output", output, "output checkpoint")->required();
  avg->add_option("--monitor", monitor, "metric that ranks them");
  avg->add_option("--mode", mode, "min or max");
  avg->callback([] {
    CheckpointManager manager(run_dir, 1 << 30, monitor, mode);
    auto ranked = manager.ranked_paths();
    SORI_CHECK(!ranked.empty(), "average-checkpoints: no ranked checkpoints with metric ", monitor, " in ", manager.dir());
    if (static_cast<int>(ranked.size()) > top_k) ranked.resize(static_cast<std::size_t>(top_k));
    average_checkpoints(ranked, output);
    spdlog::info("averaged {} checkpoints into {}", ranked.size(), output);
    for (const auto& r : ranked) spdlog::info("  {}", r);
  });
}

}  // namespace sori::cli
