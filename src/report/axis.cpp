#include "sori/report/axis.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sori {

double Axis::fraction(double v) const {
  if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  return (v - lo) / (hi - lo);
}

namespace {

// The smallest of 1, 2, 2.5, 5 x 10^k that is >= `raw`.
double nice_step(double raw) {
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 2.5, 5.0})
    if (m * decade >= raw * (1 - 1e-9)) return m * decade;
  return 10 * decade;
}

// "2.50e-04" -> "2.5e-4"
std::string compact_exponent(double v, int digits) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*e", digits, v);
  std::string s = buffer;
  const auto e = s.find('e');
  std::string mantissa = s.substr(0, e), exponent = s.substr(e + 1);
  if (mantissa.find('.') != std::string::npos) {
    mantissa.erase(mantissa.find_last_not_of('0') + 1);
    if (mantissa.back() == '.') mantissa.pop_back();
  }
  const bool negative = exponent[0] == '-';
  exponent.erase(0, 1);
  exponent.erase(0, std::min(exponent.find_first_not_of('0'), exponent.size() - 1));
  return mantissa + "e" + (negative ? "-" : "") + exponent;
}

// `v` rounded to the precision `step` (the tick spacing) calls for, as a plain decimal or in
// exponent form.
std::string tick_label(double v, double step, bool exponent) {
  if (std::fabs(v) < std::fabs(step) * 1e-9) return "0";
  if (exponent) {
    // Enough mantissa digits to tell ticks `step` apart.
    const int digits =
        std::clamp(static_cast<int>(std::floor(std::log10(std::fabs(v))) - std::floor(std::log10(step))) + 1, 0, 6);
    return compact_exponent(v, digits);
  }
  int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  // 2.5 x 10^k needs one digit more than its decade.
  if (std::fabs(step / std::pow(10.0, std::floor(std::log10(step) + 1e-9)) - 2.5) < 1e-6) ++decimals;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", std::min(decimals, 12), v);
  return buffer;
}

}  // namespace

Axis make_axis(double lo, double hi, bool log, int ticks) {
  Axis axis;
  axis.log = log;
  ticks = std::max(2, ticks);
  if (log) {
    int first = static_cast<int>(std::floor(std::log10(lo) + 1e-9));
    int last = static_cast<int>(std::ceil(std::log10(hi) - 1e-9));
    if (last <= first) last = first + 1;
    axis.lo = std::pow(10.0, first);
    axis.hi = std::pow(10.0, last);
    // Few decades: 2 and 5 between them too.
    const bool fill = last - first <= 2;
    // One label style for the whole axis, so that 8e-4 is never followed by 0.0010.
    const bool exponent = first < -2 || last >= 7;
    for (int k = first; k <= last; ++k)
      for (const double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && (!fill || k == last)) continue;
        const double v = m * std::pow(10.0, k);
        axis.ticks.push_back({v, tick_label(v, v, exponent)});
      }
    return axis;
  }
  if (hi - lo <= std::fabs(hi) * 1e-12) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step((hi - lo) / ticks);
  axis.lo = std::floor(lo / step + 1e-9) * step;
  axis.hi = std::ceil(hi / step - 1e-9) * step;
  const int count = static_cast<int>(std::lround((axis.hi - axis.lo) / step));
  const double largest = std::max(std::fabs(axis.lo), std::fabs(axis.hi));
  const bool exponent = largest < 1e-2 || largest >= 1e7;
  for (int k = 0; k <= count; ++k) {
    const double v = axis.lo + k * step;
    axis.ticks.push_back({v, tick_label(v, step, exponent)});
  }
  return axis;
}

}  // namespace sori
