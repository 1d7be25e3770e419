#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "sori/config/config.h"
#include "sori/config/config_reference.h"
#include "sori/core/fs.h"

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

  auto* docs = with_example(
      config->add_subcommand("docs", "Print the reference of every config key (type, default, meaning) as Markdown"),
      "sori config docs --output docs/CONFIG.md");
  static std::string docs_output;
  docs->add_option("--output", docs_output, "write the Markdown to this file instead of stdout");
  docs->callback([] {
    const auto markdown = config_reference_markdown();
    if (docs_output.empty()) {
      std::cout << markdown;
      return;
    }
    write_file_atomic(docs_output, markdown);
    spdlog::info("wrote {}", docs_output);
  });
}

}  // namespace sori::cli
