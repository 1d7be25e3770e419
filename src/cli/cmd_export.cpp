#include <spdlog/spdlog.h>

#include "commands.h"
#include "sori/export/onnx_export.h"
#include "sori/train/pretrained.h"

namespace sori::cli {

void add_export_commands(CLI::App& app) {
  auto* exp = app.add_subcommand("export", "Export a checkpoint for serving (ONNX)");
  static std::string checkpoint, output;
  static OnnxExportOptions options;
  exp->add_option("--checkpoint", checkpoint, "Sori checkpoint")->required();
  exp->add_option("--output", output, "model.onnx")->required();
  exp->add_flag("--fp16", options.fp16, "float16 weights and compute (float32 inputs and outputs)");
  exp->callback([] {
    auto p = load_pretrained(checkpoint, "cpu");
    export_onnx(p, output, options);
    spdlog::info("wrote {} (opset 17{})", output, options.fp16 ? ", fp16" : "");
  });
}

}  // namespace sori::cli
