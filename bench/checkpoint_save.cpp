// What a checkpoint of a config's model costs, part by part (docs/PERFORMANCE.md): the copy of
// the model's tensors that checkpoint.async_write takes on the training thread, the optimizer's
// serialisation (also on the training thread, in both modes), save_checkpoint (pickle, checksum,
// write, fsync: on the writer thread with async_write), write_file_atomic of as many bytes (the
// disk's share), and what a resume reads: load_checkpoint of the file (read, checksum, unpickling)
// and the optimizer's load of its state. A resume starts a new process, whose memory is all fresh
// (the kernel zeroes every page it hands out), so the two loads run in a child process of their
// own (`--resume-from`); in this process they would reuse the memory the saves freed.
// AdamW's state is made by one step on random gradients.
// Usage: sori_bench_checkpoint CONFIG DIR [ROUNDS] [VOCAB]; prints one line per round, then medians.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "sori/config/config.h"
#include "sori/core/fs.h"
#include "sori/core/host_allocator.h"
#include "sori/model/ctc_model.h"
#include "sori/model/state_dict.h"
#include "sori/train/checkpoint.h"
#include "sori/train/optimizer.h"

namespace {

using Clock = std::chrono::steady_clock;

template <class F> double seconds(F&& f) {
  const auto start = Clock::now();
  f();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string shell_quoted(const std::string& s) {
  std::string q = "'";
  for (const char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The child: loads FILE as a resume does, into CONFIG's model and optimizer; prints both times.
int resume_from(const std::string& file, const sori::Config& config, int vocab) {
  sori::CtcModel model(config.model, vocab);
  sori::Optimizer optimizer(config.model.optim, model->parameters());
  sori::Checkpoint loaded;
  const double load = seconds([&] { loaded = sori::load_checkpoint(file); });
  const double optimizer_load = seconds([&] { optimizer.load(loaded.optimizer, torch::kCPU, file); });
  std::printf("load_checkpoint %.4f optimizer_load %.4f\n", load, optimizer_load);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--resume-from") {
    sori::configure_host_allocator();
    return resume_from(argv[2], sori::load_config(argv[3]), std::atoi(argv[4]));
  }
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CONFIG DIR [ROUNDS] [VOCAB]\n", argv[0]);
    return 2;
  }
  sori::configure_host_allocator();  // as the sori binary does
  const auto config = sori::load_config(argv[1]);
  const std::string dir = argv[2];
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
  const int vocab = argc > 4 ? std::atoi(argv[4]) : 128;
  std::filesystem::create_directories(dir);
  torch::manual_seed(0);
  sori::CtcModel model(config.model, vocab);
  sori::Optimizer optimizer(config.model.optim, model->parameters());
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->parameters()) p.mutable_grad() = torch::randn_like(p);
  }
  optimizer.step();

  std::map<std::string, std::vector<double>> times;
  const char* names[] = {"copy_model", "optimizer_save", "save_checkpoint", "write_only", "load_checkpoint",
                         "optimizer_load"};
  for (int r = 0; r < rounds; ++r) {
    sori::Checkpoint c;
    times["copy_model"].push_back(seconds([&] {
      c.model = sori::state_dict(*model);
      for (auto& [name, t] : c.model) t = t.detach().clone();
    }));
    times["optimizer_save"].push_back(seconds([&] { c.optimizer = optimizer.save(); }));
    c.scaler_scale = torch::ones({});
    c.scaler_growth_tracker = torch::zeros({}, torch::kInt64);
    const auto path = dir + "/bench.ckpt";
    times["save_checkpoint"].push_back(seconds([&] { sori::save_checkpoint(path, c); }));
    const std::string bytes(std::filesystem::file_size(path), 'x');
    times["write_only"].push_back(seconds([&] { sori::write_file_atomic(dir + "/bytes.bin", bytes); }));
    const auto child = shell_quoted(argv[0]) + " --resume-from " + shell_quoted(path) + " " + shell_quoted(argv[1]) +
                       " " + std::to_string(vocab);
    FILE* out = popen(child.c_str(), "r");
    double load = -1, optimizer_load = -1;
    const bool read = out && std::fscanf(out, "load_checkpoint %lf optimizer_load %lf", &load, &optimizer_load) == 2;
    if (!out || pclose(out) != 0 || !read) {
      std::fprintf(stderr, "the resume child failed: %s\n", child.c_str());
      return 1;
    }
    times["load_checkpoint"].push_back(load);
    times["optimizer_load"].push_back(optimizer_load);
    std::printf("round %d:", r + 1);
    for (const auto* n : names) std::printf(" %s %.2f s", n, times[n].back());
    std::printf(" (%.0f MB)\n", static_cast<double>(bytes.size()) / 1e6);
    std::filesystem::remove(path);
    std::filesystem::remove(dir + "/bytes.bin");
  }
  std::printf("median:");
  for (const auto* n : names) std::printf(" %s %.2f s", n, median(times[n]));
  std::printf("\n");
}
