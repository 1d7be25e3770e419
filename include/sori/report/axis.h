// Axis ranges and ticks for the SVG charts: a linear axis widens the data range to "nice" tick
// steps (1, 2, 2.5, 5 x 10^k); a log axis spans whole decades. Labels are plain decimals, or
// exponent form (2.5e-4) on an axis whose values are all very small or reach very large, as
// learning rates need.
#pragma once

#include <string>
#include <vector>

namespace sori {

struct AxisTick {
  double value;
  std::string label;
};

struct Axis {
  double lo = 0, hi = 1;  // the drawn range (log: the values themselves, not their logarithms)
  bool log = false;
  std::vector<AxisTick> ticks;  // within [lo, hi], ascending
  // Where `v` lies between lo (0) and hi (1).
  double fraction(double v) const;
};

// [lo, hi]: the data range (lo == hi is widened); `log` needs lo > 0. About `ticks` ticks.
Axis make_axis(double lo, double hi, bool log, int ticks = 5);

}  // namespace sori
