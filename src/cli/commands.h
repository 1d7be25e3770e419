// Each file in src/cli adds its subcommands to the app; main() only parses and dispatches.
#pragma once

#include <CLI/CLI.hpp>

namespace sori::cli {

// Every leaf command's --help ends with a worked example (Cli.EveryCommandsHelpShowsAnExample).
inline CLI::App* with_example(CLI::App* command, const std::string& example) {
  command->footer("\nExample:\n  " + example);
  return command;
}

void add_config_commands(CLI::App& app);
void add_data_commands(CLI::App& app);
void add_tokenizer_commands(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_eval_commands(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_bench_commands(CLI::App& app);
void add_report_commands(CLI::App& app);
void add_export_commands(CLI::App& app);  // only with SORI_WITH_ONNX

}  // namespace sori::cli
