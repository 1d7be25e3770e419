// sori_bench: median time of a full training step (log-mel features, FastConformer forward, CTC
// loss, backward, clipping, AdamW) on synthetic batches, for a config's model on a device.
// bench/train_step_reference.py times the same architecture in PyTorch eager; run both with
// the same arguments and compare the medians (bench/run_cpu.sh does).
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "sori/config/config.h"
#include "sori/core/torch_compat.h"
#include "sori/model/ctc_model.h"
#include "sori/train/ctc_loss.h"
#include "sori/train/grad_scaler.h"
#include "sori/train/precision.h"

int main(int argc, char** argv) {
  CLI::App app{"Training-step benchmark"};
  std::string config_path = "configs/demo_en.yaml", device_name = "cpu", precision_name = "32";
  int batch = 12, vocab = 28, warmup = 3, steps = 10, threads = 0;
  double seconds = 2.5;
  bool features = true, forward_only = false;
  std::vector<std::string> overrides;
  app.add_option("--config", config_path);
  app.add_option("--device", device_name);
  app.add_option("--precision", precision_name);
  app.add_option("--batch", batch);
  app.add_option("--seconds", seconds, "audio seconds per utterance");
  app.add_option("--vocab", vocab);
  app.add_option("--warmup", warmup);
  app.add_option("--steps", steps);
  app.add_option("--threads", threads);
  app.add_flag("!--no-features", features, "start from features (as the Python reference does)");
  app.add_flag("--forward-only", forward_only, "time inference (eval, no grad) instead of a training step");
  app.add_option("overrides", overrides);
  CLI11_PARSE(app, argc, argv);
  try {
    const auto config = sori::load_config(config_path, overrides);
    const torch::Device device(device_name);
    if (threads > 0) torch::set_num_threads(threads);
    if (device.is_cuda()) at::globalContext().setAllowTF32CuBLAS(true);
    const auto precision = sori::resolve_precision(precision_name, device);
    torch::manual_seed(0);
    sori::CtcModel model(config.model, vocab);
    model->to(device);
    model->train();
    auto params = model->parameters();
    torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-4).betas({0.9, 0.98}).weight_decay(1e-3));
    sori::GradScaler scaler({precision.loss_scaling}, device);
    const auto samples = static_cast<std::int64_t>(seconds * config.model.sample_rate);
    auto opts = torch::TensorOptions().device(device);
    auto audio = torch::randn({batch, samples}, opts) * 0.1;
    auto audio_lengths = torch::full({batch}, samples, opts.dtype(torch::kInt64));
    auto frames = torch::full({batch}, samples / 160, opts.dtype(torch::kInt64));
    auto feats_in = torch::randn({batch, config.model.preprocessor.features, samples / 160 + 1}, opts);
    const std::int64_t u = std::max<std::int64_t>(1, samples / 160 / config.model.encoder.subsampling_factor / 3);
    auto tokens = torch::randint(0, vocab, {batch, u}, opts.dtype(torch::kInt64));
    auto token_lengths = torch::full({batch}, u, opts.dtype(torch::kInt64));
    std::vector<double> times;
    if (forward_only) {
      model->eval();
      torch::NoGradGuard no_grad;
      for (int i = 0; i < warmup + steps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        auto [lp, lens] = features ? model->forward(model->features(audio, audio_lengths).first, frames)
                                   : model->forward(feats_in, frames);
        if (device.is_cuda()) torch::cuda::synchronize();
        if (i >= warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
    for (int i = 0; i < (forward_only ? 0 : warmup + steps); ++i) {
      if (device.is_cuda()) torch::cuda::synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      opt.zero_grad();
      torch::Tensor lp, lens;
      {
        sori::compat::AutocastGuard guard(device, precision.autocast, precision.dtype);
        auto [f, fl] = features ? model->features(audio, audio_lengths) : std::make_pair(feats_in, frames);
        std::tie(lp, lens) = model->forward(f, fl);
      }
      auto loss = sori::ctc_loss_mean_volume(lp, lens, tokens, token_lengths, vocab);
      scaler.scale(loss).backward();
      auto [norm, inf] = scaler.unscale_and_clip(params, 1.0);
      if (!inf.item<bool>()) opt.step();
      scaler.update(inf);
      if (device.is_cuda()) torch::cuda::synchronize();
      if (i >= warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    std::printf("sori C++  %s device %s precision %s batch %d x %.1f s: median step %.4f s (min %.4f, max %.4f, %d steps)\n",
                forward_only ? "forward" : "train step", device_name.c_str(), precision_name.c_str(), batch, seconds,
                times[times.size() / 2], times.front(), times.back(), steps);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sori_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
