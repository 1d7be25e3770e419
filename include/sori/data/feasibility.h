// CTC feasibility: CTC can align U tokens only to at least U + (adjacent repeats) frames, since a
// blank must separate equal neighbours. With 10 ms features and 8x subsampling an encoder has
// 12.5 frames/s, fewer than characters/s of fast speech. We measure at the fastest speed
// perturbation factor, the shortest an utterance can become.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/manifest.h"

namespace sori {

class Tokenizer;

// Encoder frames after `factor`x dw_striding subsampling (log2(factor) stride-2 convolutions,
// kernel 3, padding 1: L = floor((L + 2 - 3) / 2 + 1) per stage, as NeMo's calc_length).
std::int64_t subsampled_length(std::int64_t frames, int factor);

// Frames CTC needs for a label sequence: its length plus the number of adjacent repeats.
std::int64_t ctc_required_frames(const std::vector<int>& tokens);

class FeasibilityChecker {
 public:
  FeasibilityChecker(const Config& config, const Tokenizer& tokenizer, double max_speed);
  std::int64_t encoder_frames(double duration_s) const;
  bool feasible(const ManifestEntry& e) const;

 private:
  const Tokenizer& tokenizer_;
  int sample_rate_;
  int hop_;
  int factor_;
  double max_speed_;
};

struct FeasibilityReport {
  std::string manifest;
  std::size_t utterances = 0;
  std::size_t infeasible = 0;
  double infeasible_hours = 0;
  double fraction() const { return utterances ? static_cast<double>(infeasible) / utterances : 0.0; }
};

FeasibilityReport check_feasibility(const std::string& manifest, const FeasibilityChecker& checker);
// A human report for a set of manifests; suggests BPE or less subsampling when >1% are infeasible.
std::string format_feasibility(const std::vector<FeasibilityReport>& reports, const Config& config,
                               double max_speed);

}  // namespace sori
