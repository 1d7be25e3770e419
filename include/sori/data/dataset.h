// A dataset: the entries of one or more manifests after validation and filtering. Filtering
// happens once, before sampling, so batch counts and resume positions are stable.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sori/data/manifest.h"

namespace sori {

// Counts and hours of dropped utterances, by reason.
struct DropReport {
  struct Count {
    std::size_t utterances = 0;
    double seconds = 0;
  };
  std::map<std::string, Count> reasons;
  void add(const std::string& reason, double seconds);
  std::size_t total() const;
  std::string summary() const;
};

struct DatasetFilters {
  double min_duration = 0.0;
  double max_duration = 1e9;
  bool skip_invalid = false;
  bool check_audio = true;  // header check of every file (existence, readable, long enough)
  std::function<bool(const ManifestEntry&)> feasible;  // empty: no CTC feasibility filter
  // Empty: no check. False refuses the utterance like unreadable audio (Tokenizer::transcribable).
  std::function<bool(const std::string& text)> transcribable;
};

struct Dataset {
  std::vector<ManifestEntry> entries;
  DropReport dropped;
  std::vector<std::string> invalid;  // what skip_invalid skipped, manifest:line first
  double hours() const;
};

// Loads and filters manifests. Without skip_invalid, every missing or unreadable audio file is
// listed in one error; with it, they are counted, reported and skipped.
Dataset load_dataset(const std::vector<std::string>& manifests, const DatasetFilters& filters);

}  // namespace sori
