// A Chart as a standalone SVG document (no XML declaration, so the same text can be inlined in
// HTML). Structure, which tests rely on: one <polyline class="series"> per series that has points,
// with data-label set to the series' label and one "x,y" pair per point; the run names of the
// figure's legend as <text class="legend"> elements; text escaped with escape_markup.
#pragma once

#include <string>

#include "sori/report/chart.h"

namespace sori {

std::string render_svg(const Chart& chart, int width = 1200);

}  // namespace sori
