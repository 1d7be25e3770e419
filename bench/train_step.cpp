// sori_bench: median time of the trainer's training step (sori::TrainingStep: log-mel features,
// SpecAugment, FastConformer forward, CTC loss, backward, clipping, AdamW) on a synthetic batch,
// or of the inference forward (--forward-only), for a config's model on a device.
// bench/train_step_reference.py times the same architecture in PyTorch eager; run both with
// the same arguments and compare the medians (bench/run_cpu.sh does).
// Under torchrun the step is data-parallel as in the trainer (process group, c10d Reducer, sync
// BatchNorm per the config), each rank with its own batch of the given size; rank 0 also times
// the all-reduce of one step's gradients alone, in the Reducer's bucket sizes
// (bench/run_dist_cpu.sh compares 2 ranks with 1 and overlap on with off).
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sori/config/config.h"
#include "sori/core/host_allocator.h"
#include "sori/core/torch_compat.h"
#include "sori/model/ctc_model.h"
#include "sori/dist/gradient_reducer.h"
#include "sori/dist/launch_env.h"
#include "sori/dist/process_group.h"
#include "sori/dist/sync_batch_norm.h"
#include "sori/core/fs.h"
#include "sori/export/nemo_state_dict.h"
#include "sori/train/precision.h"
#include "sori/train/run_setup.h"
#include "sori/train/training_step.h"

namespace {

// What bench/train_step_reference.py needs to build the same model and step, our weights under
// NeMo's keys (the bytes `sori export --format nemo-state-dict` writes), and a parity sample:
// audio and the log-probs our eval-mode forward gives for it (fp32, TF32 off).
void write_reference(const std::string& dir, const sori::Config& c, sori::CtcModel& model, int vocab,
                     std::int64_t batch, std::int64_t samples, const torch::Device& device) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const auto& p = c.model.preprocessor;
  const auto& e = c.model.encoder;
  const auto& sa = c.model.spec_augment;
  const auto& o = c.model.optim;
  const nlohmann::json spec = {
      {"sample_rate", c.model.sample_rate}, {"features", p.features}, {"n_fft", p.n_fft},
      {"window_size", p.window_size}, {"window_stride", p.window_stride}, {"dither", p.dither},
      {"preemph", p.preemph}, {"log_zero_guard_value", p.log_zero_guard_value},
      {"d_model", e.d_model}, {"n_layers", e.n_layers}, {"n_heads", e.n_heads},
      {"subsampling_factor", e.subsampling_factor}, {"subsampling_conv_channels", e.subsampling_conv_channels},
      {"conv_kernel_size", e.conv_kernel_size}, {"ff_expansion_factor", e.ff_expansion_factor},
      {"xscaling", e.xscaling}, {"use_pytorch_sdpa", e.use_pytorch_sdpa}, {"vocab", vocab},
      {"freq_masks", sa.freq_masks}, {"freq_width", sa.freq_width}, {"time_masks", sa.time_masks},
      {"time_width", sa.time_width.value}, {"time_width_is_fraction", sa.time_width.is_fraction},
      {"betas", o.betas}, {"weight_decay", o.weight_decay}, {"eps", o.eps},
      {"gradient_clip_val", c.trainer.gradient_clip_val},
      {"dropout", {e.dropout, e.dropout_att, e.dropout_pre_encoder, e.dropout_emb}}};
  sori::write_file_atomic((fs::path(dir) / "spec.json").string(), spec.dump(2));
  sori::write_file_atomic((fs::path(dir) / "weights.pt").string(), sori::nemo_weights_pickle(model));

  if (device.is_cuda()) {  // as the reference's parity check: no TF32 in matmuls or cuDNN convolutions
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
  }
  model->eval();
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  const auto audio = (torch::randn({batch, samples}) * 0.1).to(device);
  auto lengths = torch::full({batch}, samples, torch::kInt64);
  lengths[batch - 1] = samples * 3 / 4;  // one padded utterance: the masks take part
  lengths = lengths.to(device);
  auto [feats, frames] = model->features(audio, lengths);
  auto [log_probs, enc_lengths] = model->forward(feats, frames);
  c10::Dict<std::string, at::Tensor> parity;
  parity.insert("audio", audio.cpu());
  parity.insert("lengths", lengths.cpu());
  parity.insert("log_probs", log_probs.to(torch::kFloat32).cpu().contiguous());
  parity.insert("enc_lengths", enc_lengths.cpu());
  const auto bytes = torch::pickle_save(parity);
  sori::write_file_atomic((fs::path(dir) / "parity.pt").string(), std::string(bytes.begin(), bytes.end()));
}

}  // namespace

int main(int argc, char** argv) {
  sori::configure_host_allocator();  // as the sori binary does
  CLI::App app{"Training-step benchmark"};
  std::string config_path = "configs/demo_en.yaml", device_name = "cpu", precision_name = "32";
  int batch = 12, vocab = 28, warmup = 3, steps = 10, threads = 0;
  double seconds = 2.5;
  bool features = true, forward_only = false;
  std::vector<std::string> overrides;
  std::string reference_dir, profile_path;
  app.add_option("--config", config_path);
  app.add_option("--profile", profile_path, "write a Chrome trace of the timed training steps (LibTorch's profiler)");
  app.add_option("--write-reference", reference_dir,
                 "write DIR/spec.json, DIR/weights.pt and DIR/parity.pt for bench/train_step_reference.py, then exit");
  app.add_option("--device", device_name);
  app.add_option("--precision", precision_name);
  app.add_option("--batch", batch);
  app.add_option("--seconds", seconds, "audio seconds per utterance");
  app.add_option("--vocab", vocab);
  app.add_option("--warmup", warmup);
  app.add_option("--steps", steps);
  app.add_option("--threads", threads);
  app.add_flag("!--no-features", features, "--forward-only: start from features");
  app.add_flag("--forward-only", forward_only, "time inference (eval, no grad) instead of a training step");
  app.add_option("overrides", overrides);
  CLI11_PARSE(app, argc, argv);
  try {
    const auto config = sori::load_config(config_path, overrides);
    const torch::Device device(device_name);
    sori::configure_threads(threads, device);  // as the trainer does
    const auto precision = sori::resolve_precision(precision_name, device);
    torch::manual_seed(0);
    sori::CtcModel model(config.model, vocab);
    model->to(device);
    model->train();
    const auto samples = static_cast<std::int64_t>(seconds * config.model.sample_rate);
    if (!reference_dir.empty()) {
      write_reference(reference_dir, config, model, vocab, batch, samples, device);
      return 0;
    }
    auto opts = torch::TensorOptions().device(device);
    std::vector<double> times, allreduce_times;
    const auto env = sori::dist::read_launch_env();
    auto group = env.distributed() ? std::make_unique<sori::dist::ProcessGroup>(env, device, sori::dist::ProcessGroupOptions{})
                                   : std::make_unique<sori::dist::ProcessGroup>();
    std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;  // the timed steps, with --profile
    if (forward_only) {
      auto audio = torch::randn({batch, samples}, opts) * 0.1;
      auto audio_lengths = torch::full({batch}, samples, opts.dtype(torch::kInt64));
      auto frames = torch::full({batch}, samples / 160, opts.dtype(torch::kInt64));
      auto feats_in = torch::randn({batch, config.model.preprocessor.features, samples / 160 + 1}, opts);
      model->eval();
      torch::NoGradGuard no_grad;
      for (int i = 0; i < warmup + steps; ++i) {
        if (i == warmup && !profile_path.empty())
          profile = std::make_unique<torch::autograd::profiler::RecordProfile>(profile_path);
        const auto t0 = std::chrono::steady_clock::now();
        auto [lp, lens] = features ? model->forward(model->features(audio, audio_lengths).first, frames)
                                   : model->forward(feats_in, frames);
        if (device.is_cuda()) torch::cuda::synchronize();
        if (i >= warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    } else {
      // The trainer's own step unit (features, SpecAugment, forward, CTC, backward, clipping, AdamW)
      // on one synthetic batch of host tensors, as the loader hands them over.
      sori::Optimizer optimizer(config.model.optim, model->parameters());
      sori::GradScaler scaler({precision.loss_scaling}, device);
      std::unique_ptr<sori::dist::GradientReducer> reducer;
      if (group->distributed()) {
        group->broadcast_from_main(model->parameters());
        if (config.trainer.sync_batchnorm) sori::dist::install_sync_batch_norm(*model, *group);
        reducer = std::make_unique<sori::dist::GradientReducer>(
            *group, model->parameters(),
            sori::dist::GradientReducerOptions{config.trainer.ddp_bucket_mb, config.trainer.ddp_overlap});
      }
      sori::TrainingStep step(config, sori::TrainingStepParts{model, &optimizer, &scaler, group.get(), reducer.get(),
                                                               device, precision, vocab});
      const std::int64_t u = std::max<std::int64_t>(1, samples / 160 / config.model.encoder.subsampling_factor / 3);
      sori::Batch b;
      b.audio = torch::randn({batch, samples}) * 0.1;
      b.audio_lengths = torch::full({batch}, samples, torch::kInt64);
      b.tokens = torch::randint(0, vocab, {batch, u}, torch::kInt64);
      b.token_lengths = torch::full({batch}, u, torch::kInt64);
      for (int i = 0; i < batch; ++i) b.indices.push_back(static_cast<std::size_t>(i));
      if (device.is_cuda())  // as the loader hands batches over for a CUDA run
        for (auto* t : {&b.audio, &b.audio_lengths, &b.tokens, &b.token_lengths}) *t = t->pin_memory();
      for (int i = 0; i < warmup + steps; ++i) {
        if (i == warmup && !profile_path.empty())
          profile = std::make_unique<torch::autograd::profiler::RecordProfile>(profile_path);
        b.global_index = static_cast<std::int64_t>(i) * group->world_size() + group->rank();
        const auto t0 = std::chrono::steady_clock::now();
        step.run({b}, 1e-4, false);
        if (device.is_cuda()) torch::cuda::synchronize();
        if (i >= warmup) times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      if (group->distributed()) {
        // One step's gradient traffic alone, bucket by bucket as the Reducer cuts it (the first
        // bucket at most 1 MB, the others bucket_mb; one bucket without overlap; float32).
        std::int64_t numel = 0;
        for (const auto& p : model->parameters()) numel += p.numel();
        const auto cap = static_cast<std::int64_t>(config.trainer.ddp_bucket_mb * 1024 * 1024 / 4);
        std::vector<torch::Tensor> buckets;
        for (std::int64_t left = numel, first = 1; left > 0; first = 0) {
          const auto n = !config.trainer.ddp_overlap ? left : std::min(left, first ? std::min<std::int64_t>(cap, 1 << 18) : cap);
          buckets.push_back(torch::zeros({n}, opts));
          left -= n;
        }
        for (int i = 0; i < warmup + steps; ++i) {
          group->barrier();
          const auto t0 = std::chrono::steady_clock::now();
          for (auto& t : buckets) group->all_reduce_sum(t);
          if (device.is_cuda()) torch::cuda::synchronize();
          if (i >= warmup)
            allreduce_times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
      }
    }
    profile.reset();  // writes the trace
    std::sort(times.begin(), times.end());
    if (group->is_main())
      std::printf("sori C++  %s device %s precision %s batch %d x %.1f s: median step %.4f s (min %.4f, max %.4f, %d steps)\n",
                forward_only ? "forward" : "train step", device_name.c_str(), precision_name.c_str(), batch, seconds,
                times[times.size() / 2], times.front(), times.back(), steps);
    if (!allreduce_times.empty() && group->is_main()) {
      std::sort(allreduce_times.begin(), allreduce_times.end());
      std::printf("ranks %d overlap %s bucket %.2f MB: median gradient all-reduce alone %.4f s\n", group->world_size(),
                  config.trainer.ddp_overlap ? "on" : "off", config.trainer.ddp_bucket_mb,
                  allreduce_times[allreduce_times.size() / 2]);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sori_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
