#include "sori/report/chart.h"

namespace sori {

bool ChartPanel::has_points() const {
  for (const auto& s : series)
    if (!s.x.empty()) return true;
  return false;
}

std::string chart_color(std::size_t run) {
  static const char* const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7",
                                        "#e69f00", "#56b4e9", "#000000", "#f0e442"};
  return palette[run % (sizeof palette / sizeof palette[0])];
}

}  // namespace sori
