#include "sori/train/validation_record.h"

#include <nlohmann/json.hpp>

namespace sori {

std::string validation_result_lines(const Evaluation& ev, const Dataset& ds, const std::string& name,
                                    std::int64_t step) {
  std::string lines;
  for (std::size_t i = 0; i < ev.decoded.size(); ++i) {
    if (!ev.decoded[i]) continue;
    const auto& e = ds.entries[i];
    const auto& n = ev.utterance_counts[i];
    lines += nlohmann::json{{"step", step},
                            {"dataset", name},
                            {"where", e.where()},
                            {"audio", e.audio_filepath},
                            {"duration", e.duration},
                            {"reference", ev.references[i]},
                            {"hypothesis", ev.hypotheses[i]},
                            {"char_edits", n.char_edits},
                            {"chars", n.chars},
                            {"word_edits", n.word_edits},
                            {"words", n.words}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
  }
  return lines;
}

std::string validation_examples_markdown(const Evaluation& ev, std::size_t count) {
  auto cell = [](const std::string& text) {
    std::string out;
    for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);  // a column break otherwise
    return out.empty() ? std::string("(empty)") : out;
  };
  std::string table = "| reference | hypothesis |\n|---|---|\n";
  for (std::size_t i = 0; i < ev.decoded.size() && count > 0; ++i)
    if (ev.decoded[i]) {
      table += "| " + cell(ev.references[i]) + " | " + cell(ev.hypotheses[i]) + " |\n";
      --count;
    }
  return table;
}

}  // namespace sori
