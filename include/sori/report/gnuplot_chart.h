// A Chart as a PNG, drawn by gnuplot (Debian's gnuplot-nox): its pngcairo terminal, or png where
// the build lacks cairo. gnuplot runs as a child process on a script with the data inline; the PNG
// is then written to `path` atomically.
#pragma once

#include <string>

#include "sori/report/chart.h"

namespace sori {

// Throws sori::Error when gnuplot is not on PATH (naming the package to install and suggesting SVG)
// or when it fails (with what it printed).
void write_png_with_gnuplot(const Chart& chart, const std::string& path, int width = 1200);

}  // namespace sori
