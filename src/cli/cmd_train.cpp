#include <spdlog/spdlog.h>

#include "commands.h"
#include "sori/config/config.h"
#include "sori/train/trainer.h"

namespace sori::cli {

void add_train_commands(CLI::App& app) {
  auto* train = with_example(app.add_subcommand("train", "Train a FastConformer-CTC model"),
                   "sori train --config configs/demo_en.yaml --resume auto trainer.max_steps=3000   (several GPUs: torchrun --standalone --nproc_per_node 8 --no_python sori train ...)");
  static std::string config_path;
  static TrainOptions options;
  static std::vector<std::string> overrides;
  train->add_option("--config", config_path, "YAML config")->required();
  train->add_option("--resume", options.resume, "auto (newest valid checkpoint in trainer.run_dir, else fresh) or a checkpoint");
  train->add_flag("--overwrite", options.overwrite,
                  "start over in a trainer.run_dir that holds a run (deletes its checkpoints, metrics and logs)");
  train->add_option("--stop-after-steps", options.stop_after_steps,
                    "stop with a checkpoint after N steps, as if preempted (the schedule keeps trainer.max_steps)");
  train->add_option("--progress", options.progress,
                    "auto (a live status line when stdout is a terminal), bar, or lines (log lines only)")
      ->check(CLI::IsMember({"auto", "bar", "lines"}));
  train->add_option("overrides", overrides, "key.path=value overrides (Hydra style)");
  train->callback([] {
    Trainer trainer(load_config(config_path, overrides), options);
    trainer.fit();
  });
}

}  // namespace sori::cli
