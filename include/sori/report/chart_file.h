// Writes a Chart to the file `sori plot --output` names, in the format its extension (any case)
// asks for: .svg natively, .png through gnuplot. Written atomically.
#pragma once

#include <string>

#include "sori/report/chart.h"

namespace sori {

// Throws sori::Error for any other extension, naming the accepted ones.
void write_chart_file(const Chart& chart, const std::string& path);

}  // namespace sori
