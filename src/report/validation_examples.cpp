#include "sori/report/validation_examples.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <tuple>

#include "sori/core/error.h"
#include "sori/report/json_lines.h"

namespace sori {

namespace fs = std::filesystem;

double ValidationUtterance::cer() const {
  if (chars > 0) return static_cast<double>(char_edits) / static_cast<double>(chars);
  return char_edits > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

namespace {

ValidationUtterance parse_utterance(const nlohmann::json& o, const std::string& path, int line) {
  const auto field = [&](const char* name, bool (nlohmann::json::*is_type)() const, const char* expected) {
    const auto it = o.find(name);
    SORI_CHECK(it != o.end() && ((*it).*is_type)(), path, ":", line, ": expected ", expected, " \"", name,
               "\" in every validation utterance, found ", it == o.end() ? std::string("none") : it->dump());
    return *it;
  };
  ValidationUtterance u;
  u.step = field("step", &nlohmann::json::is_number_integer, "an integer").get<std::int64_t>();
  u.reference = field("reference", &nlohmann::json::is_string, "a string").get<std::string>();
  u.hypothesis = field("hypothesis", &nlohmann::json::is_string, "a string").get<std::string>();
  u.char_edits = field("char_edits", &nlohmann::json::is_number_integer, "an integer").get<std::int64_t>();
  u.chars = field("chars", &nlohmann::json::is_number_integer, "an integer").get<std::int64_t>();
  // Descriptive fields: shown when present.
  const auto text = [&](const char* name) { return o.contains(name) && o[name].is_string() ? o[name].get<std::string>() : ""; };
  const auto count = [&](const char* name) {
    return o.contains(name) && o[name].is_number_integer() ? o[name].get<std::int64_t>() : std::int64_t{0};
  };
  u.dataset = text("dataset");
  u.where = text("where");
  u.audio = text("audio");
  u.duration = o.contains("duration") && o["duration"].is_number() ? o["duration"].get<double>() : 0.0;
  u.word_edits = count("word_edits");
  u.words = count("words");
  return u;
}

}  // namespace

ValidationExamples read_validation_examples(const std::string& run_dir) {
  ValidationExamples out;
  const fs::path dir = fs::path(run_dir) / "validation";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& f : fs::directory_iterator(dir)) {
    const auto name = f.path().filename().string();
    if (name.rfind("rank", 0) == 0 && f.path().extension() == ".jsonl") out.files.push_back(f.path().string());
  }
  std::sort(out.files.begin(), out.files.end());
  std::vector<ValidationUtterance> all;
  for (const auto& path : out.files)
    for (const auto& [line, object] : read_json_lines(path).rows) all.push_back(parse_utterance(object, path, line));
  for (const auto& u : all) out.step = std::max(out.step, u.step);
  for (auto& u : all)
    if (u.step == out.step) out.utterances.push_back(std::move(u));
  return out;
}

std::vector<ValidationUtterance> worst_utterances(std::vector<ValidationUtterance> utterances, std::size_t n) {
  const auto worse = [](const ValidationUtterance& a, const ValidationUtterance& b) {
    const double ca = a.cer(), cb = b.cer();
    if (ca != cb) return ca > cb;
    return std::tie(b.char_edits, a.dataset, a.where) < std::tie(a.char_edits, b.dataset, b.where);
  };
  const std::size_t keep = std::min(n, utterances.size());
  std::partial_sort(utterances.begin(), utterances.begin() + static_cast<std::ptrdiff_t>(keep), utterances.end(), worse);
  utterances.resize(keep);
  return utterances;
}

}  // namespace sori
