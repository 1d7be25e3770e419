// A figure of line charts against the training step, drawn as SVG (svg_chart.h) or PNG through
// gnuplot (gnuplot_chart.h): panels in a grid of two columns, each with its series. A series'
// colour says which run it belongs to (Chart::runs, the figure's legend); its dash which subset
// (ChartPanel::styles, the panel's legend, e.g. one validation manifest).
// Invariants: every series has x.size() == y.size(), finite values only, and positive y on a log
// panel; run < runs.size(); style < max(1, styles.size()).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sori {

struct ChartSeries {
  std::string label;  // "<run>" or "<run> <style>": gnuplot's key, the SVG's data-label
  std::size_t run = 0;
  std::size_t style = 0;
  std::vector<double> x, y;
};

struct ChartPanel {
  std::string title, y_label;
  bool log_y = false;
  std::vector<std::string> styles;  // dash style names; empty: every series solid, no panel legend
  std::vector<ChartSeries> series;
  std::string empty_note;  // shown instead when no series has a point
  bool has_points() const;
};

struct Chart {
  std::string x_label = "step";
  std::vector<std::string> runs;
  std::vector<ChartPanel> panels;
};

// The colour of run i ("#rrggbb"), from a palette that stays distinguishable for colour-blind
// readers (Okabe-Ito); it repeats after 8 runs.
std::string chart_color(std::size_t run);

}  // namespace sori
