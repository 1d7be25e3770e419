// sori: one binary, subcommands registered by src/cli/cmd_*.cpp.
#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "sori/core/cpu_threads.h"
#include "sori/core/error.h"
#include "sori/core/host_allocator.h"

int main(int argc, char** argv) {
  sori::configure_host_allocator();
  sori::configure_cpu_threads(0);  // every command; `sori train` sets trainer.num_threads later
  CLI::App app{"sori: FastConformer-CTC speech recognition training in C++"};
  app.require_subcommand(1);
  sori::cli::add_config_commands(app);
  sori::cli::add_data_commands(app);
  sori::cli::add_tokenizer_commands(app);
  sori::cli::add_train_commands(app);
  sori::cli::add_eval_commands(app);
  sori::cli::add_model_commands(app);
  sori::cli::add_bench_commands(app);
  sori::cli::add_report_commands(app);
#ifdef SORI_WITH_ONNX
  sori::cli::add_export_commands(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sori::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {  // LibTorch's c10::Error and the like
    spdlog::error("internal error: {}", e.what());
    return 2;
  }
  return 0;
}
