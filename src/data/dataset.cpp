#include "sori/data/dataset.h"

#include <cmath>
#include <sstream>

#include "sori/core/error.h"
#include "sori/data/audio.h"

namespace sori {

void DropReport::add(const std::string& reason, double seconds) {
  auto& c = reasons[reason];
  ++c.utterances;
  c.seconds += seconds;
}

std::size_t DropReport::total() const {
  std::size_t n = 0;
  for (const auto& [_, c] : reasons) n += c.utterances;
  return n;
}

std::string DropReport::summary() const {
  std::ostringstream os;
  os.precision(2);
  os << std::fixed;
  double seconds = 0;
  for (const auto& [_, c] : reasons) seconds += c.seconds;
  os << "dropped " << total() << " utterances (" << seconds / 3600.0 << " h)";
  const char* sep = ": ";
  for (const auto& [reason, c] : reasons) {
    os << sep << c.utterances << " " << reason << " (" << c.seconds / 3600.0 << " h)";
    sep = ", ";
  }
  return os.str();
}

double Dataset::hours() const {
  double s = 0;
  for (const auto& e : entries) s += e.duration;
  return s / 3600.0;
}

namespace {

// "" when the file's header is fine and long enough, else what is wrong.
std::string audio_problem(const ManifestEntry& e) {
  try {
    const AudioInfo info = probe_audio(e.audio_filepath);
    const double tolerance = 0.05;  // manifests often round durations
    if (e.offset + e.duration > info.duration() + tolerance) {
      std::ostringstream os;
      os << e.audio_filepath << ": offset " << e.offset << " s + duration " << e.duration
         << " s exceeds the file's " << info.duration() << " s (truncated, or a wrong duration in the manifest)";
      return os.str();
    }
    return "";
  } catch (const Error& err) {
    return err.what();
  }
}

}  // namespace

Dataset load_dataset(const std::vector<std::string>& manifests, const DatasetFilters& f) {
  SORI_CHECK(!manifests.empty(), "dataset: no manifest_filepath given");
  Dataset ds;
  std::vector<ManifestEntry> all;
  for (const auto& m : manifests) {
    auto entries = read_manifest(m, f.skip_invalid, &ds.invalid);
    all.insert(all.end(), entries.begin(), entries.end());
  }
  for (std::size_t i = 0; i < ds.invalid.size(); ++i) ds.dropped.add("malformed manifest lines", 0.0);

  std::vector<std::string> bad_audio, bad_text;
  for (auto& e : all) {
    if (e.duration < f.min_duration) { ds.dropped.add("shorter than min_duration", e.duration); continue; }
    if (e.duration > f.max_duration) { ds.dropped.add("longer than max_duration", e.duration); continue; }
    if (f.check_audio) {
      std::string problem = audio_problem(e);
      if (!problem.empty()) {
        bad_audio.push_back(e.where() + ": " + problem);
        ds.dropped.add("unreadable audio", e.duration);
        continue;
      }
    }
    if (f.transcribable && !f.transcribable(e.text)) {
      bad_text.push_back(e.where() + ": transcript \"" + e.text + "\" has no character of the vocabulary");
      ds.dropped.add("transcript of unknown characters only", e.duration);
      continue;
    }
    if (f.feasible && !f.feasible(e)) { ds.dropped.add("CTC-infeasible", e.duration); continue; }
    ds.entries.push_back(std::move(e));
  }
  if (!bad_audio.empty() && !f.skip_invalid) {
    std::ostringstream os;
    os << bad_audio.size() << " audio file(s) missing or unreadable (set skip_invalid: true to skip them):";
    for (const auto& b : bad_audio) os << "\n  " << b;
    SORI_FAIL(os.str());
  }
  if (!bad_text.empty() && !f.skip_invalid) {
    std::ostringstream os;
    os << bad_text.size() << " transcript(s) made only of characters the tokenizer does not know (fix the text or "
       << "the vocabulary, or set skip_invalid: true to skip them):";
    for (const auto& b : bad_text) os << "\n  " << b;
    SORI_FAIL(os.str());
  }
  ds.invalid.insert(ds.invalid.end(), bad_audio.begin(), bad_audio.end());
  ds.invalid.insert(ds.invalid.end(), bad_text.begin(), bad_text.end());
  return ds;
}

}  // namespace sori
