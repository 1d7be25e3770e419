#include "sori/data/feasibility.h"

#include <cmath>
#include <sstream>

#include "sori/core/error.h"
#include "sori/data/tokenizer.h"

namespace sori {

std::int64_t subsampled_length(std::int64_t frames, int factor) {
  SORI_CHECK(factor >= 1 && (factor & (factor - 1)) == 0,
             "model.encoder.subsampling_factor: expected a power of two, found ", factor);
  double len = static_cast<double>(frames);
  for (int f = factor; f > 1; f /= 2) len = std::floor((len + 2.0 - 3.0) / 2.0 + 1.0);
  return static_cast<std::int64_t>(len);
}

std::int64_t ctc_required_frames(const std::vector<int>& tokens) {
  std::int64_t n = static_cast<std::int64_t>(tokens.size());
  for (std::size_t i = 1; i < tokens.size(); ++i)
    if (tokens[i] == tokens[i - 1]) ++n;
  return n;
}

FeasibilityChecker::FeasibilityChecker(const Config& config, const Tokenizer& tokenizer, double max_speed)
    : tokenizer_(tokenizer),
      sample_rate_(config.model.sample_rate),
      hop_(static_cast<int>(std::lround(config.model.preprocessor.window_stride * config.model.sample_rate))),
      factor_(config.model.encoder.subsampling_factor),
      max_speed_(max_speed) {}

std::int64_t FeasibilityChecker::encoder_frames(double duration_s) const {
  const auto samples = static_cast<std::int64_t>(std::floor(duration_s / max_speed_ * sample_rate_));
  return subsampled_length(samples / hop_, factor_);
}

bool FeasibilityChecker::feasible(const ManifestEntry& e) const {
  return ctc_required_frames(tokenizer_.encode(e.text)) <= encoder_frames(e.duration);
}

FeasibilityReport check_feasibility(const std::string& manifest, const FeasibilityChecker& checker) {
  FeasibilityReport r;
  r.manifest = manifest;
  for (const auto& e : read_manifest(manifest, /*skip_invalid=*/true)) {
    ++r.utterances;
    if (!checker.feasible(e)) {
      ++r.infeasible;
      r.infeasible_hours += e.duration / 3600.0;
    }
  }
  return r;
}

std::string format_feasibility(const std::vector<FeasibilityReport>& reports, const Config& config,
                               double max_speed) {
  std::ostringstream os;
  os.precision(1);
  os << std::fixed;
  const auto& enc = config.model.encoder;
  os << "CTC feasibility (tokenizer " << config.model.tokenizer.type << ", subsampling "
     << enc.subsampling_factor << "x, fastest speed perturbation " << max_speed << "):\n";
  bool bad = false;
  for (const auto& r : reports) {
    os << "  " << r.manifest << ": " << r.infeasible << " of " << r.utterances << " utterances ("
       << 100.0 * r.fraction() << "%, " << r.infeasible_hours << " h) are infeasible\n";
    bad = bad || r.fraction() > 0.01;
  }
  if (bad) {
    os << "WARNING: more than 1% of utterances have more CTC labels than encoder frames; they are "
          "dropped before training.\n  Fix: a SentencePiece BPE tokenizer (fewer tokens per second) "
          "or less subsampling (model.encoder.subsampling_factor=4).\n";
  }
  return os.str();
}

}  // namespace sori
