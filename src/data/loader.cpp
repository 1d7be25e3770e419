#include "sori/data/loader.h"

#include <spdlog/spdlog.h>

#include <random>

#include "sori/core/error.h"
#include "sori/core/rng.h"

namespace sori {

DataLoader::DataLoader(const Dataset& dataset, const Tokenizer& tokenizer, const DurationBucketSampler& sampler,
                       const WaveformAugmenter* augmenter, LoaderOptions options)
    : dataset_(dataset), tokenizer_(tokenizer), sampler_(sampler), augmenter_(augmenter), options_(options) {
  SORI_CHECK(sampler_.size() == dataset_.entries.size(), "loader: sampler has ", sampler_.size(),
             " utterances but the dataset ", dataset_.entries.size());
  SORI_CHECK(options_.prefetch_batches >= 1, "loader: prefetch_batches must be >= 1, found ", options_.prefetch_batches);
  SORI_CHECK(options_.world_size >= 1 && options_.rank >= 0 && options_.rank < options_.world_size,
             "loader: expected 0 <= rank < world_size, found rank ", options_.rank, " of ", options_.world_size);
  start_workers();
}

DataLoader::~DataLoader() { stop_workers(); }

void DataLoader::restore(std::int64_t position) {
  SORI_CHECK(position >= 0 && position % options_.world_size == 0, "loader: cannot restore global position ", position,
             " with ", options_.world_size, " ranks (expected a non-negative multiple of the world size)");
  stop_workers();
  position_ = position;
  start_workers();
}

std::int64_t DataLoader::global_index(std::int64_t k) const {
  return position_at_start_ + k * options_.world_size + options_.rank;
}

std::shared_ptr<const std::vector<std::vector<std::size_t>>> DataLoader::epoch_batches(std::int64_t epoch) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = epochs_[epoch];
  if (!slot) slot = std::make_shared<const std::vector<std::vector<std::size_t>>>(sampler_.epoch_batches(epoch));
  // Workers run at most prefetch_batches ahead: epochs before the previous one are done with.
  while (epochs_.begin()->first < epoch - 1) epochs_.erase(epochs_.begin());
  return slot;
}

void DataLoader::start_workers() {
  std::lock_guard<std::mutex> lock(mutex_);
  position_at_start_ = position_;
  handed_out_ = 0;
  ready_.clear();
  epochs_.clear();
  next_claim_ = 0;
  stopping_ = false;
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void DataLoader::worker_loop() {
  while (true) {
    std::int64_t k;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || next_claim_ < handed_out_ + options_.prefetch_batches; });
      if (stopping_) return;
      k = next_claim_++;
    }
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = load_batch(global_index(k));
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready_[k] = {std::move(batch), error};
    }
    cv_.notify_all();
  }
}

Batch DataLoader::next() {
  const std::int64_t k = handed_out_;
  Batch batch;
  if (options_.num_workers == 0) {
    batch = load_batch(global_index(k));
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(k) > 0; });
    // A failed batch stays where it is: calling next() again reports the same error instead of
    // waiting for a batch no worker will make again.
    if (auto failed = ready_.at(k).second) std::rethrow_exception(failed);
    batch = std::move(*ready_.extract(k).mapped().first);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++handed_out_;
  }
  cv_.notify_all();
  position_ = position_at_start_ + handed_out_ * options_.world_size;
  if (batch.epoch != padding_epoch_) {
    padding_epoch_ = batch.epoch;
    epoch_padded_ = epoch_valid_ = 0;
  }
  epoch_padded_ += batch.padded_samples;
  epoch_valid_ += batch.valid_samples;
  // Reported when handed out, not when loaded: workers load ahead, past the end of a run.
  for (const auto& why : batch.left_out) spdlog::warn("skip_invalid: leaving out {}", why);
  skipped_ += batch.left_out.size();
  return batch;
}

double DataLoader::epoch_padding_fraction() const {
  return epoch_padded_ ? 1.0 - static_cast<double>(epoch_valid_) / epoch_padded_ : 0.0;
}

Utterance DataLoader::load_utterance(std::size_t index, std::int64_t epoch, std::int64_t i, std::size_t position,
                                     double speed) const {
  const auto& e = dataset_.entries[index];
  std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(i), position}));
  AudioReadOptions o;
  o.target_sample_rate = options_.sample_rate;
  o.offset = e.offset;
  o.duration = e.duration;
  o.quality = options_.quality;
  o.speed = speed;
  Utterance u;
  try {
    u.audio = load_audio(e.audio_filepath, o);
  } catch (const Error& err) {
    SORI_FAIL("manifest ", e.where(), ": ", err.what());
  }
  if (options_.augment && augmenter_) augmenter_->add_noise(u.audio, rng);
  u.tokens = tokenizer_.encode(e.text);
  u.index = index;
  return u;
}

Batch DataLoader::load_batch(std::int64_t g) const {
  const std::int64_t n = sampler_.batches_per_epoch(), epoch = g / n, i = g % n;
  const auto batches = epoch_batches(epoch);
  const auto& indices = (*batches)[static_cast<std::size_t>(i)];
  // One speed factor per batch: utterances of a bucket have similar durations, and a common
  // factor keeps them similar (per-utterance factors added ~7 points of padding on the demo data).
  double speed = 1.0;
  if (options_.augment && augmenter_) {
    std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(epoch), static_cast<std::uint64_t>(i), 0x5BEED}));
    speed = augmenter_->pick_speed(rng);
  }
  std::vector<Utterance> utts;
  std::vector<std::string> left_out;
  utts.reserve(indices.size());
  for (std::size_t p = 0; p < indices.size(); ++p) {
    try {
      utts.push_back(load_utterance(indices[p], epoch, i, p, speed));
    } catch (const Error& err) {
      if (!options_.skip_invalid) throw;
      left_out.push_back(err.what());
    }
  }
  Batch batch = collate(std::move(utts), options_.pin_memory);
  batch.left_out = std::move(left_out);
  batch.global_index = g;
  batch.epoch = epoch;
  return batch;
}

}  // namespace sori
