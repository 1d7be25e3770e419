#include "sori/data/loader.h"

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
  start_epoch();
}

DataLoader::~DataLoader() { stop_workers(); }

void DataLoader::restore(const DurationBucketSampler::State& state) {
  SORI_CHECK(state.index >= 0 && state.index <= sampler_.batches_per_epoch(), "loader: cannot restore batch index ",
             state.index, " of an epoch with ", sampler_.batches_per_epoch(), " batches");
  stop_workers();
  state_ = state;
  start_epoch();
}

void DataLoader::start_epoch() {
  batches_ = sampler_.epoch_batches(state_.epoch);
  epoch_padded_ = epoch_valid_ = 0;
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
  next_claim_ = state_.index;
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
  const auto n = static_cast<std::int64_t>(batches_.size());
  while (true) {
    std::int64_t k;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || next_claim_ >= n || next_claim_ < state_.index + options_.prefetch_batches; });
      if (stopping_ || next_claim_ >= n) return;
      k = next_claim_++;
    }
    std::optional<Batch> batch;
    std::exception_ptr error;
    try {
      batch = load_batch(k);
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

std::optional<Batch> DataLoader::next() {
  if (state_.index >= static_cast<std::int64_t>(batches_.size())) {
    last_epoch_padding_ = epoch_padding_fraction();
    stop_workers();
    state_ = {state_.epoch + 1, 0};
    start_epoch();
    return std::nullopt;
  }
  Batch batch;
  if (options_.num_workers == 0) {
    batch = load_batch(state_.index);
  } else {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return ready_.count(state_.index) > 0; });
    auto node = ready_.extract(state_.index);
    if (node.mapped().second) std::rethrow_exception(node.mapped().second);
    batch = std::move(*node.mapped().first);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++state_.index;
  }
  cv_.notify_all();
  epoch_padded_ += batch.padded_samples;
  epoch_valid_ += batch.valid_samples;
  return batch;
}

double DataLoader::epoch_padding_fraction() const {
  return epoch_padded_ ? 1.0 - static_cast<double>(epoch_valid_) / epoch_padded_ : 0.0;
}

Utterance DataLoader::load_utterance(std::size_t index, std::int64_t k, std::size_t position, double speed) const {
  const auto& e = dataset_.entries[index];
  std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(state_.epoch),
                                static_cast<std::uint64_t>(k), position}));
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

Batch DataLoader::load_batch(std::int64_t k) const {
  const auto& indices = batches_[static_cast<std::size_t>(k)];
  // One speed factor per batch: utterances of a bucket have similar durations, and a common
  // factor keeps them similar (per-utterance factors added ~7 points of padding on the demo data).
  double speed = 1.0;
  if (options_.augment && augmenter_) {
    std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(state_.epoch), static_cast<std::uint64_t>(k), 0x5BEED}));
    speed = augmenter_->pick_speed(rng);
  }
  std::vector<Utterance> utts;
  utts.reserve(indices.size());
  for (std::size_t p = 0; p < indices.size(); ++p) {
    try {
      utts.push_back(load_utterance(indices[p], k, p, speed));
    } catch (const Error&) {
      if (!options_.skip_invalid) throw;
      skipped_.fetch_add(1);
    }
  }
  SORI_CHECK(!utts.empty(), "loader: every utterance of batch ", k, " of epoch ", state_.epoch, " failed to load");
  return collate(std::move(utts), options_.pin_memory);
}

}  // namespace sori
