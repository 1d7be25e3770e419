// `sori report`: one self-contained HTML page about a run (inline CSS and SVG; nothing fetched,
// no script), with, in order: name and dates, problems met while reading the run, hardware and
// software (run_info.json), the config (collapsed), the curves (run_curves.h), final metrics (last
// training row, last and best validation), the checkpoints, and the worst validation utterances
// with reference and hypothesis aligned character by character (substitutions, insertions and
// deletions in distinct colours, with a legend). Every text from the run is escaped.
#pragma once

#include <cstddef>
#include <string>

#include "sori/report/run_record.h"

namespace sori {

struct ReportOptions {
  std::size_t worst_utterances = 20;
};

std::string render_html_report(const RunRecord& run, const ReportOptions& options = {});

}  // namespace sori
