#include "sori/report/run_curves.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "sori/core/error.h"

namespace sori {

LossScale parse_loss_scale(const std::string& text) {
  if (text == "auto") return LossScale::automatic;
  if (text == "linear") return LossScale::linear;
  if (text == "log") return LossScale::log;
  SORI_FAIL("loss scale: expected auto, linear or log, found '", text, "'");
}

namespace {

ChartSeries series_of(const std::vector<MetricsRow>& rows, const std::string& key, double scale, bool positive_only) {
  ChartSeries s;
  for (const auto& row : rows) {
    const double v = row.value(key) * scale;
    if (!std::isfinite(v) || (positive_only && v <= 0)) continue;
    s.x.push_back(static_cast<double>(row.step));
    s.y.push_back(v);
  }
  return s;
}

bool loss_wants_log(const std::vector<RunMetrics>& runs) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& run : runs)
    for (const auto& row : run.history.training) {
      const double v = row.value("loss");
      if (!std::isfinite(v)) continue;
      if (v <= 0) return false;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  return hi > 0 && hi >= 30 * lo;
}

ChartPanel training_panel(const std::vector<RunMetrics>& runs, const std::string& key, std::string title,
                          std::string y_label, bool log) {
  ChartPanel panel;
  panel.title = std::move(title);
  panel.y_label = std::move(y_label);
  panel.log_y = log;
  panel.empty_note = "no " + key + " in the training rows";
  for (std::size_t r = 0; r < runs.size(); ++r) {
    auto s = series_of(runs[r].history.training, key, 1.0, log);
    s.label = runs[r].name;
    s.run = r;
    panel.series.push_back(std::move(s));
  }
  return panel;
}

// `metric`: val_cer or val_wer.
ChartPanel validation_panel(const std::vector<RunMetrics>& runs, const std::string& metric, std::string title,
                            std::string y_label) {
  std::set<std::string> names;
  for (const auto& run : runs)
    for (const auto& name : run.history.validation_sets()) names.insert(name);
  ChartPanel panel;
  panel.title = std::move(title);
  panel.y_label = std::move(y_label);
  panel.empty_note = "no validation rows yet";
  std::vector<std::string> keys{metric};
  if (names.size() > 1) {
    panel.styles.push_back("all");
    for (const auto& name : names) {
      panel.styles.push_back(name);
      keys.push_back(metric + "/" + name);
    }
  }
  for (std::size_t r = 0; r < runs.size(); ++r)
    for (std::size_t k = 0; k < keys.size(); ++k) {
      auto s = series_of(runs[r].history.validation, keys[k], 100.0, false);
      s.label = runs[r].name + (panel.styles.empty() ? "" : " " + panel.styles[k]);
      s.run = r;
      s.style = k;
      panel.series.push_back(std::move(s));
    }
  return panel;
}

}  // namespace

Chart training_curves(const std::vector<RunMetrics>& runs, LossScale loss_scale) {
  Chart chart;
  for (const auto& run : runs) chart.runs.push_back(run.name);
  const bool log_loss = loss_scale == LossScale::log || (loss_scale == LossScale::automatic && loss_wants_log(runs));
  chart.panels.push_back(training_panel(runs, "loss", "training loss", log_loss ? "loss (log scale)" : "loss", log_loss));
  chart.panels.push_back(training_panel(runs, "lr", "learning rate", "lr", false));
  chart.panels.push_back(validation_panel(runs, "val_cer", "validation CER", "CER (%)"));
  chart.panels.push_back(validation_panel(runs, "val_wer", "validation WER", "WER (%)"));
  return chart;
}

}  // namespace sori
