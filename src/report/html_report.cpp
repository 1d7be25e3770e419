#include "sori/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>
#include <sstream>

#include "sori/core/host.h"
#include "sori/core/text.h"
#include "sori/report/markup.h"
#include "sori/report/run_curves.h"
#include "sori/report/svg_chart.h"
#include "sori/train/error_rate.h"

namespace sori {

namespace {

const char* const kStyle = R"(
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:14px;color:#222;background:#fff;margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:28px}
h3{font-size:14px;margin:8px 0}.meta{color:#555;margin:0}.note{color:#666}
.problems{background:#fff4e5;border:1px solid #f0b060;padding:8px 12px}
table{border-collapse:collapse;margin:4px 0}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}.scroll{overflow-x:auto}
.cards{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
pre{background:#f7f7f7;border:1px solid #e2e2e2;padding:8px;overflow-x:auto;font-size:12px}
svg{max-width:100%;height:auto}
.utt{border:1px solid #e2e2e2;margin:10px 0;padding:6px 10px}.utt .head{color:#444;margin-bottom:6px}
.align{display:flex;flex-wrap:wrap;row-gap:8px;font-family:"DejaVu Sans Mono",monospace;font-size:15px}
.a{display:inline-flex;flex-direction:column;text-align:center;min-width:.62em}
.a span{white-space:pre;min-height:1.25em;padding:0 1px}
.a.label span{color:#888;font-size:11px;padding-right:6px;line-height:1.7em;font-family:"DejaVu Sans",sans-serif}
.sub span{background:#ffc966}.ins span{background:#8fd98f}.del span{background:#ff9c9c}
.utt details{color:#555;font-size:12px;margin-top:4px}.utt details p{margin:2px 0;font-family:"DejaVu Sans Mono",monospace}
.key{display:inline-block;padding:0 6px;margin-right:10px;font-family:monospace}
)";

std::string printf_string(const char* format, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, v);
  return buffer;
}

// Error rates and shares as percentages, integers as integers, the rest to 4 significant digits.
std::string format_metric(const std::string& key, double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "NaN" : (v > 0 ? "inf" : "-inf");
  if (key.rfind("val_", 0) == 0) return printf_string("%.2f%%", 100 * v);
  if (key == "padding" || key.find("fraction") != std::string::npos) return printf_string("%.1f%%", 100 * v);
  if (v == std::floor(v) && std::fabs(v) < 1e15) return printf_string("%.0f", v);
  if (std::fabs(v) < 1e-3 || std::fabs(v) >= 1e6) return printf_string("%.3e", v);
  if (std::fabs(v) >= 1000) return printf_string("%.1f", v);
  return printf_string("%.4g", v);
}

std::string format_bytes(std::uintmax_t bytes) {
  const double b = static_cast<double>(bytes);
  if (b >= 1 << 30) return printf_string("%.2f GiB", b / (1 << 30));
  if (b >= 1 << 20) return printf_string("%.1f MiB", b / (1 << 20));
  if (b >= 1 << 10) return printf_string("%.1f KiB", b / (1 << 10));
  return std::to_string(bytes) + " B";
}

// Well-known keys first, in this order; the rest alphabetically.
std::vector<std::string> ordered_keys(const std::set<std::string>& keys) {
  static const std::vector<std::string> first{"val_cer", "val_wer", "val_cer_nospace", "loss", "lr", "grad_norm",
                                              "epoch", "audio_s_per_s", "padding", "data_wait_fraction",
                                              "skipped_steps", "elapsed_s"};
  std::vector<std::string> out;
  for (const auto& k : first)
    if (keys.count(k)) out.push_back(k);
  for (const auto& k : keys)
    if (std::find(first.begin(), first.end(), k) == first.end()) out.push_back(k);
  return out;
}

std::string values_table(const std::string& caption, const MetricsRow& row) {
  std::set<std::string> keys;
  for (const auto& [k, v] : row.values) keys.insert(k);
  std::ostringstream os;
  os << "<div><h3>" << escape_markup(caption) << "</h3><table><tr><th>step</th><td class=\"n\">" << row.step
     << "</td></tr>\n";
  for (const auto& k : ordered_keys(keys))
    os << "<tr><th>" << escape_markup(k) << "</th><td class=\"n\">" << format_metric(k, row.value(k)) << "</td></tr>\n";
  os << "</table></div>\n";
  return os.str();
}

void header(std::ostringstream& os, const RunRecord& run) {
  os << "<h1>" << escape_markup(run.name) << "</h1>\n<p class=\"meta\">run directory <code>" << escape_markup(run.dir)
     << "</code> &middot; started " << escape_markup(run.started.empty() ? "unknown" : run.started)
     << " &middot; last update " << escape_markup(run.updated.empty() ? "unknown" : run.updated)
     << " &middot; report written " << utc_timestamp(std::time(nullptr)) << "</p>\n";
  if (run.problems.empty()) return;
  os << "<div class=\"problems\"><b>Parts of this run could not be read:</b><ul>\n";
  for (const auto& p : run.problems) os << "<li>" << escape_markup(p) << "</li>\n";
  os << "</ul></div>\n";
}

void environment(std::ostringstream& os, const RunRecord& run) {
  os << "<h2 id=\"environment\">Hardware and software</h2>\n";
  if (run.info.empty()) {
    os << "<p class=\"note\">No run_info.json in this run directory.</p>\n";
  } else {
    os << "<table>\n";
    for (const auto& [key, value] : run.info)
      os << "<tr><th>" << escape_markup(key) << "</th><td>" << escape_markup(value) << "</td></tr>\n";
    os << "</table>\n";
  }
  os << "<h2 id=\"config\">Config</h2>\n";
  if (run.config_yaml.empty()) {
    os << "<p class=\"note\">No config.yaml in this run directory.</p>\n";
    return;
  }
  const auto lines = std::count(run.config_yaml.begin(), run.config_yaml.end(), '\n');
  os << "<details><summary>config.yaml (" << lines << " lines, the resolved config)</summary><pre>"
     << escape_markup(run.config_yaml) << "</pre></details>\n";
}

void curves_and_metrics(std::ostringstream& os, const RunRecord& run) {
  os << "<h2 id=\"curves\">Curves</h2>\n";
  const bool rows = run.metrics && (!run.metrics->training.empty() || !run.metrics->validation.empty());
  if (!rows) {
    os << "<p class=\"note\">No metrics rows (metrics.jsonl is missing or empty).</p>\n";
    return;
  }
  os << render_svg(training_curves({{run.name, *run.metrics}}), 1150);
  if (run.metrics->torn_last_line)
    os << "<p class=\"note\">The last line of metrics.jsonl is incomplete (being written, or cut by a kill) and was "
          "left out.</p>\n";
  os << "<h2 id=\"final\">Final metrics</h2>\n<div class=\"cards\">\n";
  const auto& m = *run.metrics;
  if (!m.training.empty()) os << values_table("Last training row", m.training.back());
  if (!m.validation.empty()) {
    os << values_table("Last validation", m.validation.back());
    const MetricsRow* best = nullptr;
    for (const auto& row : m.validation) {
      const double v = row.value(run.monitor);
      if (std::isnan(v)) continue;
      if (!best || (run.mode == "max" ? v > best->value(run.monitor) : v < best->value(run.monitor))) best = &row;
    }
    if (best) os << values_table("Best validation (" + run.monitor + ", " + run.mode + ")", *best);
  }
  os << "</div>\n";
}

void checkpoints(std::ostringstream& os, const RunRecord& run) {
  os << "<h2 id=\"checkpoints\">Checkpoints</h2>\n";
  if (run.checkpoints.empty()) {
    os << "<p class=\"note\">No checkpoints/*.ckpt in this run directory.</p>\n";
    return;
  }
  std::set<std::string> names;
  for (const auto& c : run.checkpoints)
    for (const auto& [k, v] : c.metrics) names.insert(k);
  const auto keys = ordered_keys(names);
  os << "<div class=\"scroll\"><table>\n<tr><th>file</th><th>size</th><th>step</th><th>epoch</th>";
  for (const auto& k : keys) os << "<th>" << escape_markup(k) << "</th>";
  os << "</tr>\n";
  for (const auto& c : run.checkpoints) {
    os << "<tr><td>" << escape_markup(c.file) << "</td><td class=\"n\">" << format_bytes(c.bytes) << "</td>";
    if (c.indexed)
      os << "<td class=\"n\">" << c.step << "</td><td class=\"n\">" << c.epoch << "</td>";
    else
      os << "<td colspan=\"2\" class=\"note\">not in index.json</td>";
    for (const auto& k : keys) {
      const auto it = c.metrics.find(k);
      os << "<td class=\"n\">" << (it == c.metrics.end() ? "" : format_metric(k, it->second)) << "</td>";
    }
    os << "</tr>\n";
  }
  os << "</table></div>\n";
}

// A character as shown in one cell of the alignment: a space inside an edit becomes visible.
std::string cell(char32_t c, bool edited) {
  if (c == 0) return "";
  if (c == U' ') return edited ? "\u2423" : " ";
  return escape_markup(utf8_encode(c));
}

std::string aligned(const ValidationUtterance& u) {
  std::ostringstream os;
  os << "<div class=\"align\"><span class=\"a label\"><span>REF</span><span>HYP</span></span>";
  for (const auto& step : align_characters(u.reference, u.hypothesis)) {
    static const char* const classes[] = {"a", "a sub", "a ins", "a del"};
    const bool edited = step.op != EditOp::equal;
    os << "<span class=\"" << classes[static_cast<int>(step.op)] << "\"><span>" << cell(step.reference, edited)
       << "</span><span>" << cell(step.hypothesis, edited) << "</span></span>";
  }
  os << "</div>\n";
  return os.str();
}

std::string rate(std::int64_t edits, std::int64_t units) {
  if (units == 0) return "n/a (" + std::to_string(edits) + " edits, empty reference)";
  return printf_string("%.1f%%", 100.0 * static_cast<double>(edits) / static_cast<double>(units)) + " (" +
         std::to_string(edits) + "/" + std::to_string(units) + ")";
}

void worst(std::ostringstream& os, const RunRecord& run, std::size_t count) {
  const auto& v = run.validation;
  os << "<h2 id=\"worst\">Worst validation utterances</h2>\n";
  if (v.utterances.empty()) {
    os << "<p class=\"note\">No validation utterances recorded (validation/rank*.jsonl, written at each "
          "validation).</p>\n";
    return;
  }
  const auto list = worst_utterances(v.utterances, count);
  os << "<p>The " << list.size() << " utterances (of " << v.utterances.size() << ") of the validation at step " << v.step
     << " with the highest character error rate. Key: <span class=\"key\" style=\"background:#ffc966\">substituted"
        "</span><span class=\"key\" style=\"background:#8fd98f\">inserted</span><span class=\"key\" "
        "style=\"background:#ff9c9c\">deleted</span>(&#x2423; a space)</p>\n";
  for (std::size_t k = 0; k < list.size(); ++k) {
    const auto& u = list[k];
    os << "<div class=\"utt\"><div class=\"head\"><b>#" << k + 1 << "</b> &middot; CER " << rate(u.char_edits, u.chars)
       << " &middot; WER " << rate(u.word_edits, u.words);
    if (!u.dataset.empty()) os << " &middot; " << escape_markup(u.dataset);
    if (!u.where.empty()) os << " &middot; <code>" << escape_markup(u.where) << "</code>";
    if (!u.audio.empty()) os << " &middot; <code>" << escape_markup(u.audio) << "</code>";
    if (u.duration > 0) os << " &middot; " << printf_string("%.2f s", u.duration);
    // The texts whole as well, to copy and to search (the alignment interleaves them).
    os << "</div>\n" << aligned(u) << "<details><summary>as text</summary><p>REF " << escape_markup(u.reference)
       << "</p><p>HYP " << escape_markup(u.hypothesis) << "</p></details></div>\n";
  }
}

}  // namespace

std::string render_html_report(const RunRecord& run, const ReportOptions& options) {
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sori run report: "
     << escape_markup(run.name) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  header(os, run);
  environment(os, run);
  curves_and_metrics(os, run);
  checkpoints(os, run);
  worst(os, run, options.worst_utterances);
  os << "</body>\n</html>\n";
  return os.str();
}

}  // namespace sori
