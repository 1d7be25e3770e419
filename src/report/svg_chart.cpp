#include "sori/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "sori/core/text.h"
#include "sori/report/axis.h"
#include "sori/report/markup.h"

namespace sori {

namespace {

constexpr int kLegendHeight = 40, kPanelHeight = 330;
constexpr int kMarginLeft = 76, kMarginRight = 24, kMarginTop = 40, kMarginBottom = 50;
constexpr std::size_t kMaxMarkedPoints = 60;  // sparser series (validations) get a dot per point

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

// Good enough to place legend entries one after another at font-size 12.
double text_width(const std::string& s) { return 7.0 * static_cast<double>(utf8_decode(s).size()); }

std::string dash_array(std::size_t style) {
  static const char* const dashes[] = {"", "7 4", "2 3", "10 3 2 3", "4 4 1 4"};
  return dashes[style % (sizeof dashes / sizeof dashes[0])];
}

std::string line_sample(double x, double y, const std::string& color, std::size_t style) {
  std::ostringstream os;
  os << "<line x1=\"" << num(x) << "\" y1=\"" << num(y) << "\" x2=\"" << num(x + 26) << "\" y2=\"" << num(y)
     << "\" stroke=\"" << color << "\" stroke-width=\"2.5\"";
  if (style) os << " stroke-dasharray=\"" << dash_array(style) << "\"";
  os << "/>";
  return os.str();
}

struct Box {
  double left, top, right, bottom;
};

void draw_panel(std::ostringstream& os, const ChartPanel& panel, const Axis& x_axis, const std::string& x_label,
                double px, double py, double width) {
  const Box b{px + kMarginLeft, py + kMarginTop, px + width - kMarginRight, py + kPanelHeight - kMarginBottom};
  os << "<g class=\"panel\">\n";
  os << "<text x=\"" << num(b.left) << "\" y=\"" << num(py + 24) << "\" font-size=\"14\" font-weight=\"bold\">"
     << escape_markup(panel.title) << "</text>\n";
  // The dash legend, right-aligned on the title row.
  double x = b.right;
  for (std::size_t k = panel.styles.size(); k-- > 0;) {
    x -= text_width(panel.styles[k]);
    os << "<text x=\"" << num(x) << "\" y=\"" << num(py + 24) << "\" fill=\"#444\">" << escape_markup(panel.styles[k])
       << "</text>" << line_sample(x - 32, py + 20, "#444", k) << "\n";
    x -= 46;
  }
  os << "<rect x=\"" << num(b.left) << "\" y=\"" << num(b.top) << "\" width=\"" << num(b.right - b.left)
     << "\" height=\"" << num(b.bottom - b.top) << "\" fill=\"none\" stroke=\"#888\"/>\n";
  const double mid_y = (b.top + b.bottom) / 2;
  os << "<text x=\"" << num(px + 18) << "\" y=\"" << num(mid_y) << "\" text-anchor=\"middle\" transform=\"rotate(-90 "
     << num(px + 18) << " " << num(mid_y) << ")\">" << escape_markup(panel.y_label) << "</text>\n";
  os << "<text x=\"" << num((b.left + b.right) / 2) << "\" y=\"" << num(b.bottom + 40)
     << "\" text-anchor=\"middle\">" << escape_markup(x_label) << "</text>\n";
  const auto sx = [&](double v) { return b.left + x_axis.fraction(v) * (b.right - b.left); };
  for (const auto& t : x_axis.ticks) {
    const double tx = sx(t.value);
    os << "<line x1=\"" << num(tx) << "\" y1=\"" << num(b.top) << "\" x2=\"" << num(tx) << "\" y2=\"" << num(b.bottom)
       << "\" stroke=\"#e6e6e6\"/><text x=\"" << num(tx) << "\" y=\"" << num(b.bottom + 17)
       << "\" text-anchor=\"middle\" fill=\"#333\">" << escape_markup(t.label) << "</text>\n";
  }
  if (!panel.has_points()) {
    os << "<text x=\"" << num((b.left + b.right) / 2) << "\" y=\"" << num(mid_y)
       << "\" text-anchor=\"middle\" fill=\"#777\">" << escape_markup(panel.empty_note) << "</text>\n</g>\n";
    return;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : panel.series)
    for (const double v : s.y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  const Axis y_axis = make_axis(lo, hi, panel.log_y);
  const auto sy = [&](double v) { return b.bottom - y_axis.fraction(v) * (b.bottom - b.top); };
  for (const auto& t : y_axis.ticks) {
    const double ty = sy(t.value);
    os << "<line x1=\"" << num(b.left) << "\" y1=\"" << num(ty) << "\" x2=\"" << num(b.right) << "\" y2=\"" << num(ty)
       << "\" stroke=\"#e6e6e6\"/><text x=\"" << num(b.left - 6) << "\" y=\"" << num(ty + 4)
       << "\" text-anchor=\"end\" fill=\"#333\">" << escape_markup(t.label) << "</text>\n";
  }
  for (const auto& s : panel.series) {
    if (s.x.empty()) continue;
    const std::string color = chart_color(s.run);
    os << "<polyline class=\"series\" data-label=\"" << escape_markup(s.label) << "\" fill=\"none\" stroke=\"" << color
       << "\" stroke-width=\"2\" stroke-linejoin=\"round\"";
    if (s.style) os << " stroke-dasharray=\"" << dash_array(s.style) << "\"";
    os << " points=\"";
    for (std::size_t i = 0; i < s.x.size(); ++i) os << (i ? " " : "") << num(sx(s.x[i])) << "," << num(sy(s.y[i]));
    os << "\"/>\n";
    if (s.x.size() <= kMaxMarkedPoints)
      for (std::size_t i = 0; i < s.x.size(); ++i)
        os << "<circle cx=\"" << num(sx(s.x[i])) << "\" cy=\"" << num(sy(s.y[i])) << "\" r=\"2.5\" fill=\"" << color
           << "\"/>";
    os << "\n";
  }
  os << "</g>\n";
}

}  // namespace

std::string render_svg(const Chart& chart, int width) {
  const double panel_width = width / 2.0;
  const std::size_t rows = (chart.panels.size() + 1) / 2;
  const int height = kLegendHeight + static_cast<int>(rows) * kPanelHeight;
  double lo = 0, hi = 0;  // steps start at 0; the axis is shared so that panels line up
  for (const auto& p : chart.panels)
    for (const auto& s : p.series)
      for (const double v : s.x) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  const Axis x_axis = make_axis(lo, hi, false, 6);

  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  double x = kMarginLeft;
  for (std::size_t r = 0; r < chart.runs.size(); ++r) {
    os << line_sample(x, 22, chart_color(r), 0) << "<text class=\"legend\" x=\"" << num(x + 32) << "\" y=\"26\">"
       << escape_markup(chart.runs[r]) << "</text>\n";
    x += 32 + text_width(chart.runs[r]) + 28;
  }
  for (std::size_t k = 0; k < chart.panels.size(); ++k)
    draw_panel(os, chart.panels[k], x_axis, chart.x_label, static_cast<double>(k % 2) * panel_width,
               kLegendHeight + static_cast<double>(k / 2) * kPanelHeight, panel_width);
  os << "</svg>\n";
  return os.str();
}

}  // namespace sori
