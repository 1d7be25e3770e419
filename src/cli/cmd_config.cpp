#include <iostream>

#include "commands.h"
#include "sori/config/config.h"

namespace sori::cli {

void add_config_commands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Inspect configs");
  config->require_subcommand(1);
  auto* show = with_example(config->add_subcommand("show", "Print the resolved config (file + key=value overrides)"),
                   "sori config show --config configs/demo_en.yaml trainer.max_steps=500");
  static std::string path;
  static std::vector<std::string> overrides;
  show->add_option("--config", path, "YAML config")->required();
  show->add_option("overrides", overrides, "key.path=value overrides");
  show->callback([] { std::cout << config_to_yaml(load_config(path, overrides)); });
}

}  // namespace sori::cli
