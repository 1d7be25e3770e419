#include <spdlog/spdlog.h>

#include "commands.h"
#include "sori/core/error.h"
#include "sori/export/nemo_archive.h"
#include "sori/export/nemo_state_dict.h"
#include "sori/export/onnx_export.h"
#include "sori/export/triton_repo.h"
#include "sori/train/pretrained.h"

namespace sori::cli {

void add_export_commands(CLI::App& app) {
  auto* exp = with_example(app.add_subcommand("export", "Export a checkpoint for serving: ONNX, a Triton repository, NeMo weights"),
                   "sori export --checkpoint runs/demo_en/averaged.ckpt --with-preprocessor --triton-repo triton_models --model-name sori_en");
  static std::string checkpoint, output, triton_repo, format = "onnx";
  static OnnxExportOptions options;
  static TritonOptions triton;
  exp->add_option("--checkpoint", checkpoint, "Sori checkpoint")->required();
  exp->add_option("--output", output, "output file (model.onnx, or the NeMo state dict)");
  exp->add_option("--format", format, "onnx, nemo-state-dict or nemo (a whole .nemo archive)")
      ->check(CLI::IsMember({"onnx", "nemo-state-dict", "nemo"}));
  exp->add_flag("--fp16", options.fp16, "float16 weights and compute (float32 inputs and outputs)");
  exp->add_flag("--with-preprocessor", options.with_preprocessor, "the graph takes 16 kHz audio (features inside)");
  exp->add_option("--triton-repo", triton_repo, "write a Triton model repository here");
  exp->add_option("--model-name", triton.model_name, "Triton model name");
  exp->add_option("--max-batch-size", triton.max_batch_size, "Triton max_batch_size");
  exp->add_option("--preferred-batch-sizes", triton.preferred_batch_sizes, "Triton dynamic batching")->delimiter(',');
  exp->add_option("--max-queue-delay-us", triton.max_queue_delay_us, "Triton dynamic batching queue delay");
  exp->callback([] {
    auto p = load_pretrained(checkpoint, "cpu");
    if (!triton_repo.empty()) {
      write_triton_repo(p, triton_repo, triton, options.fp16);
      spdlog::info("wrote Triton repository {}/{}", triton_repo, triton.model_name);
      if (output.empty()) return;
    }
    SORI_CHECK(!output.empty(), "export: give --output (or --triton-repo)");
    if (format == "nemo") {
      export_nemo_archive(p, output);
      spdlog::info("wrote NeMo archive {} (restore_from / import-nemo)", output);
      return;
    }
    if (format == "nemo-state-dict") {
      export_nemo_state_dict(p, output);
      spdlog::info("wrote NeMo-keyed state dict {} (torch.load opens it)", output);
      return;
    }
    export_onnx(p, output, options);
    spdlog::info("wrote {} (opset 17{})", output, options.fp16 ? ", fp16" : "");
  });
}

}  // namespace sori::cli
