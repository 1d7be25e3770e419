// `sori bench data`: how fast one loader worker thread decodes, resamples (with speed
// perturbation) and augments the training data, in multiples of real time. With the trainer's
// step time it says how many workers keep the step fed (the trainer logs the data-wait share).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>

#include "commands.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/data/augment.h"
#include "sori/data/dataset.h"
#include "sori/data/loader.h"
#include "sori/data/tokenizer.h"
#include "sori/train/training_data.h"

namespace sori::cli {

namespace {

void bench_data(const std::string& config_path, const std::vector<std::string>& overrides, int batches, int workers) {
  const Config c = load_config(config_path, overrides);
  const auto& ds = c.model.train_ds;
  const auto tokenizer = load_tokenizer(c.model.tokenizer, ds.manifest_filepath);
  const WaveformAugmenter augmenter(c.model.augmentation, c.model.sample_rate);
  const Dataset train = load_dataset(ds.manifest_filepath, DatasetFilters{ds.min_duration, ds.max_duration,
                                                                          ds.skip_invalid, true, {}, {}});
  SORI_CHECK(!train.entries.empty(), "bench data: no utterances in ", ds.manifest_filepath.front());
  std::vector<double> durations;
  for (const auto& e : train.entries) durations.push_back(e.duration);
  const DurationBucketSampler sampler(durations, train_sampler_options(c));
  auto lo = train_loader_options(c, /*pin_memory=*/false, 0, 1);
  lo.num_workers = workers;
  const auto start = std::chrono::steady_clock::now();
  DataLoader loader(train, *tokenizer, sampler, &augmenter, lo);
  double audio_s = 0;
  for (int i = 0; i < batches; ++i) audio_s += static_cast<double>(loader.next().valid_samples) / c.model.sample_rate;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"batches\": %d, \"workers\": %d, \"audio_s\": %.1f, \"wall_s\": %.3f, \"x_real_time\": %.1f, "
              "\"x_real_time_per_worker\": %.1f}\n",
              batches, workers, audio_s, wall, audio_s / wall, audio_s / wall / workers);
  std::printf("decode + resample + augment: %.0f x real time per worker thread (%d batches, %.0f s of audio in %.2f s, "
              "%d worker%s)\n",
              audio_s / wall / workers, batches, audio_s, wall, workers, workers == 1 ? "" : "s");
}

}  // namespace

void add_bench_commands(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Throughput measurements");
  bench->require_subcommand(1);
  auto* data = with_example(
      bench->add_subcommand("data", "Loader throughput (decode, resample, speed perturbation, noise) on the config's "
                                    "training data"),
      "sori bench data --config configs/demo_en.yaml --batches 100 --workers 2");
  static std::string config_path;
  static std::vector<std::string> overrides;
  static int batches = 50, workers = 1;
  data->add_option("--config", config_path, "YAML config")->required();
  data->add_option("--batches", batches, "training batches to load")->check(CLI::PositiveNumber);
  data->add_option("--workers", workers, "loader worker threads")->check(CLI::PositiveNumber);
  data->add_option("overrides", overrides, "key.path=value overrides");
  data->callback([] { bench_data(config_path, overrides, batches, workers); });
}

}  // namespace sori::cli
