// The parts of `sori plot` and `sori report`, without the binary: reading a run directory, the
// character alignment, the worst-utterance ranking, axes, the SVG's structure and HTML escaping.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "report/synthetic_run.h"
#include "sori/core/text.h"
#include "sori/report/axis.h"
#include "sori/report/chart_file.h"
#include "sori/report/html_report.h"
#include "sori/report/metrics_history.h"
#include "sori/report/run_curves.h"
#include "sori/report/run_record.h"
#include "sori/report/svg_chart.h"
#include "sori/report/validation_examples.h"
#include "sori/train/error_rate.h"
#include "test_util.h"

namespace sori {
namespace {

using test::TempDir;
using test::write_text;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Parse-light XML check: every start tag is closed in order, ignoring self-closing ones.
::testing::AssertionResult tags_balance(const std::string& xml) {
  std::vector<std::string> open;
  for (std::size_t at = xml.find('<'); at != std::string::npos; at = xml.find('<', at + 1)) {
    const auto end = xml.find('>', at);
    if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated tag at " << at;
    const std::string tag = xml.substr(at + 1, end - at - 1);
    if (tag.empty() || tag[0] == '!' || tag[0] == '?' || tag.back() == '/') continue;
    const std::string name = tag.substr(tag[0] == '/', tag.find_first_of(" \t\n") - (tag[0] == '/'));
    if (tag[0] != '/') {
      open.push_back(name);
    } else if (open.empty() || open.back() != name) {
      return ::testing::AssertionFailure() << "</" << name << "> closes <" << (open.empty() ? "" : open.back()) << ">";
    } else {
      open.pop_back();
    }
  }
  if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> never closed";
  return ::testing::AssertionSuccess();
}

// The polylines' data-label -> number of points.
std::vector<std::pair<std::string, std::size_t>> polylines(const std::string& svg) {
  std::vector<std::pair<std::string, std::size_t>> out;
  static const std::regex polyline(R"re(<polyline class="series" data-label="([^"]*)"[^>]* points="([^"]*)")re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), polyline), end; it != end; ++it)
    out.emplace_back((*it)[1], split_whitespace((*it)[2].str()).size());
  return out;
}

TEST(ReportMetrics, TornLastLineIsSkippedAndRowsAreSplit) {
  TempDir dir;
  test::write_synthetic_run(dir.path("run"), {1.0, /*torn_last_line=*/true});
  const auto h = read_metrics_history(dir.path("run/metrics.jsonl"));
  EXPECT_TRUE(h.torn_last_line);
  ASSERT_EQ(h.training.size(), 20u);
  ASSERT_EQ(h.validation.size(), 4u);
  EXPECT_EQ(h.training.back().step, 200);
  EXPECT_EQ(h.validation.front().step, 50);
  EXPECT_GT(h.training.front().value("loss"), 10.0);
  EXPECT_TRUE(std::isnan(h.training.front().value("val_cer")));
  EXPECT_EQ(h.validation_sets(), (std::vector<std::string>{"dev_a", "dev_b"}));
}

TEST(ReportMetrics, ABadLineBeforeTheLastIsAnErrorNamingIt) {
  TempDir dir;
  write_text(dir.path("m.jsonl"), "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"lo\n{\"step\": 3, \"loss\": 1}\n");
  const auto e = test::error_text([&] { read_metrics_history(dir.path("m.jsonl")); });
  EXPECT_NE(e.find("m.jsonl:2"), std::string::npos) << e;
  write_text(dir.path("n.jsonl"), "{\"loss\": 2}\n");
  const auto n = test::error_text([&] { read_metrics_history(dir.path("n.jsonl")); });
  EXPECT_NE(n.find("n.jsonl:1"), std::string::npos) << n;
  EXPECT_NE(n.find("step"), std::string::npos) << n;
}

TEST(ReportMetrics, PlottingNeedsMetricsRows) {
  TempDir dir;
  write_text(dir.path("run/config.yaml"), "name: x\n");
  auto e = test::error_text([&] { read_run_metrics(dir.path("run")); });
  EXPECT_NE(e.find(dir.path("run/metrics.jsonl")), std::string::npos) << e;
  write_text(dir.path("run/metrics.jsonl"), "");
  e = test::error_text([&] { read_run_metrics(dir.path("run")); });
  EXPECT_NE(e.find("no metrics rows"), std::string::npos) << e;
  e = test::error_text([&] { read_run_metrics(dir.path("nowhere")); });
  EXPECT_NE(e.find("no such folder"), std::string::npos) << e;
}

std::string ops_string(const std::vector<AlignedChar>& steps) {
  std::string s;
  for (const auto& a : steps) s += "=SID"[static_cast<int>(a.op)];
  return s;
}

TEST(Alignment, KittenToSitting) {
  const auto steps = align_characters("kitten", "sitting");
  EXPECT_EQ(ops_string(steps), "S===S=I");
  EXPECT_EQ(steps[0].reference, U'k');
  EXPECT_EQ(steps[0].hypothesis, U's');
  EXPECT_EQ(steps[6].reference, 0u);
  EXPECT_EQ(steps[6].hypothesis, U'g');
}

TEST(Alignment, DeletionsInsertionsAndEdges) {
  EXPECT_EQ(ops_string(align_characters("abc", "ac")), "=D=");
  EXPECT_EQ(ops_string(align_characters("ac", "abc")), "=I=");
  EXPECT_EQ(ops_string(align_characters("", "ab")), "II");
  EXPECT_EQ(ops_string(align_characters("ab", "")), "DD");
  EXPECT_EQ(ops_string(align_characters("", "")), "");
  // White space normalised as ErrorCounts does; code points, not bytes.
  EXPECT_EQ(ops_string(align_characters("  a   b ", "a b")), "===");
  const auto k = align_characters("안녕 하세요", "안녕하세요");
  EXPECT_EQ(ops_string(k), "==D===");
  EXPECT_EQ(k[2].reference, U' ');
}

TEST(Alignment, EditsMatchErrorCountsAndRebuildBothTexts) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> length(0, 12), letter(0, 3);
  for (int trial = 0; trial < 300; ++trial) {
    std::string ref, hyp;
    for (int n = length(rng); n > 0; --n) ref += "ab c"[letter(rng)];
    for (int n = length(rng); n > 0; --n) hyp += "ab c"[letter(rng)];
    ErrorCounts counts;
    counts.add(ref, hyp);
    std::u32string ref_again, hyp_again;
    std::int64_t edits = 0;
    for (const auto& a : align_characters(ref, hyp)) {
      edits += a.op != EditOp::equal;
      if (a.op != EditOp::insert) ref_again += a.reference;
      if (a.op != EditOp::remove) hyp_again += a.hypothesis;
      if (a.op == EditOp::equal || a.op == EditOp::substitute) {
        EXPECT_EQ(a.reference == a.hypothesis, a.op == EditOp::equal);
      }
    }
    EXPECT_EQ(edits, counts.char_edits) << "'" << ref << "' -> '" << hyp << "'";
    EXPECT_EQ(utf8_encode(ref_again), normalize_whitespace(ref));
    EXPECT_EQ(utf8_encode(hyp_again), normalize_whitespace(hyp));
  }
}

TEST(ValidationExamples, PoolsRankFilesAtTheLatestStepAndRanksTheWorst) {
  TempDir dir;
  test::write_synthetic_run(dir.path("run"));
  const auto v = read_validation_examples(dir.path("run"));
  EXPECT_EQ(v.files.size(), 3u);
  EXPECT_EQ(v.step, 200);
  ASSERT_EQ(v.utterances.size(), 6u);  // rank2's row is from step 150
  const auto worst = worst_utterances(v.utterances, 4);
  ASSERT_EQ(worst.size(), 4u);
  EXPECT_EQ(worst[0].where, "dev_b.jsonl:3");  // 15/27
  EXPECT_EQ(worst[1].reference, "kitten");     // 3/6
  EXPECT_EQ(worst[2].where, "dev_a.jsonl:6");  // 3/7
  EXPECT_EQ(worst[3].where, "dev_a.jsonl:1");  // 5/22
  EXPECT_EQ(worst_utterances(v.utterances, 100).size(), 6u);
}

TEST(ValidationExamples, EqualRatesRankMoreEditsFirst) {
  const auto utterance = [](std::int64_t edits, std::int64_t chars, const std::string& where) {
    ValidationUtterance u;
    u.char_edits = edits;
    u.chars = chars;
    u.where = where;
    return u;
  };
  const auto w = worst_utterances({utterance(1, 4, "m:1"), utterance(3, 12, "m:2"),  // 0.25 both; m:2 more edits
                                   utterance(2, 0, "m:3"),                          // empty reference: worst
                                   utterance(0, 5, "m:4")},
                                  4);
  EXPECT_EQ(w[0].where, "m:3");
  EXPECT_EQ(w[1].where, "m:2");
  EXPECT_EQ(w[2].where, "m:1");
  EXPECT_EQ(w[3].where, "m:4");
}

TEST(ValidationExamples, ARowWithoutAReferenceNamesTheLine) {
  TempDir dir;
  write_text(dir.path("run/validation/rank0.jsonl"),
             "{\"step\": 1, \"reference\": \"a\", \"hypothesis\": \"a\", \"char_edits\": 0, \"chars\": 1}\n"
             "{\"step\": 1, \"hypothesis\": \"a\", \"char_edits\": 0, \"chars\": 1}\n{\"step\": 1}\n");
  const auto e = test::error_text([&] { read_validation_examples(dir.path("run")); });
  EXPECT_NE(e.find("rank0.jsonl:2"), std::string::npos) << e;
  EXPECT_NE(e.find("reference"), std::string::npos) << e;
}

TEST(ReportAxis, NiceTicksAndLabels) {
  const auto a = make_axis(0.13, 0.87, false);
  EXPECT_LE(a.lo, 0.13);
  EXPECT_GE(a.hi, 0.87);
  ASSERT_GE(a.ticks.size(), 3u);
  EXPECT_EQ(a.ticks[0].label, "0");
  EXPECT_EQ(a.ticks[1].label, "0.2");
  // Learning rates: one exponent style for the whole axis.
  const auto lr = make_axis(0, 1e-3, false);
  std::vector<std::string> labels;
  for (const auto& t : lr.ticks) labels.push_back(t.label);
  EXPECT_EQ(labels, (std::vector<std::string>{"0", "2e-4", "4e-4", "6e-4", "8e-4", "1e-3"}));
  const auto log = make_axis(0.15, 20, true);
  EXPECT_DOUBLE_EQ(log.lo, 0.1);
  EXPECT_DOUBLE_EQ(log.hi, 100);
  EXPECT_EQ(log.ticks.front().label, "0.1");
  EXPECT_EQ(log.ticks.back().label, "100");
  const auto flat = make_axis(5, 5, false);  // one value: widened, not a division by zero
  EXPECT_LT(flat.lo, 5);
  EXPECT_GT(flat.hi, 5);
  EXPECT_NEAR(flat.fraction(5), 0.5, 1e-9);
}

TEST(ReportSvg, OneLinePerSeriesWithItsPointsAndBothRunsInTheLegend) {
  TempDir dir;
  test::write_synthetic_run(dir.path("a"));
  test::write_synthetic_run(dir.path("b"), {0.5, false});
  const auto chart = training_curves({{"run_a", read_run_metrics(dir.path("a"))}, {"run_b", read_run_metrics(dir.path("b"))}});
  ASSERT_EQ(chart.panels.size(), 4u);
  EXPECT_TRUE(chart.panels[0].log_y);  // the loss spans two decades
  EXPECT_EQ(chart.panels[2].styles, (std::vector<std::string>{"all", "dev_a", "dev_b"}));
  const auto svg = render_svg(chart);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg.substr(0, 200);
  EXPECT_EQ(count_of(svg, "<svg"), 1u);
  EXPECT_TRUE(tags_balance(svg));
  // loss and lr: one series per run, 20 points; CER and WER: 3 per run (all, dev_a, dev_b), 4 points.
  const auto lines = polylines(svg);
  ASSERT_EQ(lines.size(), 2u + 2u + 6u + 6u);
  std::size_t training = 0, validation = 0;
  for (const auto& [label, points] : lines) {
    training += points == 20;
    validation += points == 4;
  }
  EXPECT_EQ(training, 4u);
  EXPECT_EQ(validation, 12u);
  EXPECT_EQ(lines[0].first, "run_a");
  EXPECT_EQ(lines[4].first, "run_a all");
  EXPECT_EQ(lines[6].first, "run_a dev_b");
  EXPECT_NE(svg.find("<text class=\"legend\" x=\"108.0\" y=\"26\">run_a</text>"), std::string::npos);
  EXPECT_NE(svg.find(">run_b</text>"), std::string::npos);
  EXPECT_NE(svg.find(">2e-4</text>"), std::string::npos);  // lr tick labels
}

TEST(ReportSvg, OneManifestMeansOneLinePerRunAndEmptyPanelsSaySo) {
  MetricsHistory h;
  for (int s = 1; s <= 3; ++s) h.training.push_back({s, {{"loss", 3.0 - s * 0.5}, {"lr", 1e-4}}});
  h.validation.push_back({3, {{"val_cer", 0.5}, {"val_wer", 0.9}, {"val_cer/dev", 0.5}, {"val_wer/dev", 0.9}}});
  auto chart = training_curves({{"x<y", h}}, LossScale::linear);
  EXPECT_FALSE(chart.panels[0].log_y);
  EXPECT_TRUE(chart.panels[2].styles.empty());
  ASSERT_EQ(chart.panels[2].series.size(), 1u);
  EXPECT_DOUBLE_EQ(chart.panels[2].series[0].y[0], 50.0);  // percent
  auto svg = render_svg(chart);
  EXPECT_NE(svg.find(">x&lt;y</text>"), std::string::npos);
  EXPECT_TRUE(tags_balance(svg));
  h.validation.clear();
  svg = render_svg(training_curves({{"r", h}}));
  EXPECT_EQ(count_of(svg, "no validation rows yet"), 2u);
  EXPECT_TRUE(tags_balance(svg));
  EXPECT_THROW(parse_loss_scale("logarithmic"), Error);
}

TEST(ReportChartFile, UnknownExtensionsNameTheAcceptedOnes) {
  TempDir dir;
  const auto e = test::error_text([&] { write_chart_file(Chart{}, dir.path("curves.jpg")); });
  EXPECT_NE(e.find(".svg or .png"), std::string::npos) << e;
  EXPECT_NE(e.find("'.jpg'"), std::string::npos) << e;
  write_chart_file(Chart{}, dir.path("curves.SVG"));
  EXPECT_EQ(test::read_text(dir.path("curves.SVG")).rfind("<svg", 0), 0u);
}

TEST(ReportHtml, EverythingFromTheRunIsEscaped) {
  TempDir dir;
  test::write_synthetic_run(dir.path("run"));
  write_text(dir.path("run/run_info.json"), "{\"host\": \"<b>box</b>\", \"note\": \"a & b\", \"gpus\": [\"x\"]}");
  const auto run = read_run(dir.path("run"));
  EXPECT_TRUE(run.problems.empty()) << run.problems[0];
  const auto html = render_html_report(run);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);  // the plain reference
  EXPECT_EQ(html.find("<b>box</b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;box&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b"), std::string::npos);
  EXPECT_NE(html.find("[&quot;x&quot;]"), std::string::npos);
  EXPECT_NE(html.find("name: demo &lt;synthetic&gt;"), std::string::npos);  // the config, in <details>
  const auto body = html.find("<body>"), end = html.find("</body>") + 7;
  EXPECT_TRUE(tags_balance(html.substr(body, end - body)));
}

TEST(ReportRunNames, FolderNamesUnlessTwoRunsShareOne) {
  EXPECT_EQ(run_names({"x/run", "y/run/", "z/other/"}), (std::vector<std::string>{"x/run", "y/run/", "other"}));
  EXPECT_EQ(run_name("runs/demo_en/"), "demo_en");
}

TEST(ReportHtml, ShowsEachPartOfTheRun) {
  TempDir dir;
  test::write_synthetic_run(dir.path("run"));
  const auto run = read_run(dir.path("run"));
  EXPECT_EQ(run.name, "run");
  EXPECT_EQ(run.started, "2026-11-23T10:00:00Z");
  ASSERT_EQ(run.checkpoints.size(), 5u);
  EXPECT_EQ(run.checkpoints[0].file, "step_50.ckpt");  // not indexed: step unknown, listed first
  EXPECT_FALSE(run.checkpoints[0].indexed);
  EXPECT_EQ(run.checkpoints[1].file, "step_150.ckpt");
  EXPECT_DOUBLE_EQ(run.checkpoints[1].metrics.at("val_cer/dev_a"), 0.09);
  ASSERT_EQ(run.info.size(), 9u);
  EXPECT_EQ(run.info[0].first, "host");  // the file's order
  EXPECT_EQ(run.info[2], (std::pair<std::string, std::string>{"cores", "8"}));
  const auto html = render_html_report(run);
  for (const auto* part : {"<h1>run</h1>", "2026-11-23T10:00:00Z", "<details><summary>config.yaml", "Example CPU",
                           "<svg xmlns", "Last training row", "Last validation", "Best validation (val_cer, min)",
                           "step_150.ckpt", "not in index.json", "The 6 utterances (of 6)", "dev_b.jsonl:3",
                           "CER 55.6% (15/27)", "class=\"a sub\"", "class=\"a ins\"", "class=\"a del\"", "substituted",
                           "inserted", "deleted"})
    EXPECT_NE(html.find(part), std::string::npos) << part;
  // Twenty at most by default; fewer when asked.
  ReportOptions two;
  two.worst_utterances = 2;
  EXPECT_EQ(count_of(render_html_report(run, two), "<div class=\"utt\">"), 2u);
}

TEST(ReportHtml, DamagedPartsAreReportedNotFatal) {
  TempDir dir;
  test::write_synthetic_run(dir.path("run"));
  write_text(dir.path("run/checkpoints/index.json"), "[{\"file\": ");
  write_text(dir.path("run/run_info.json"), "[1, 2]");
  write_text(dir.path("run/validation/rank0.jsonl"), "{\"step\": 1}\n{}\n");
  const auto run = read_run(dir.path("run"));
  ASSERT_EQ(run.problems.size(), 3u);
  const auto html = render_html_report(run);
  EXPECT_NE(html.find("index.json: damaged, not used"), std::string::npos);
  EXPECT_NE(html.find("run_info.json: not shown"), std::string::npos);
  EXPECT_NE(html.find("rank0.jsonl:1"), std::string::npos);
  EXPECT_THROW(read_run(dir.path("nowhere")), Error);
  write_text(dir.path("empty/notes.txt"), "x");
  const auto e = test::error_text([&] { read_run(dir.path("empty")); });
  EXPECT_NE(e.find("not a run directory"), std::string::npos) << e;
}

// index.json is untrusted: a step or epoch that is not an integer (1e300 converted to int64 is
// undefined behaviour) makes the index damaged, shown on the page; no checkpoint gets its values.
TEST(ReportHtml, AnIndexWithANonIntegerStepIsDamagedNotConverted) {
  for (const auto* bad :
       {R"("step": 1e300, "epoch": 2)", R"("step": 200, "epoch": 2.5)", R"("step": "200", "epoch": 2)"}) {
    TempDir dir;
    test::write_synthetic_run(dir.path("run"));
    write_text(dir.path("run/checkpoints/index.json"),
               std::string(R"([{"file": "step_150.ckpt", "step": 150, "epoch": 1, "metrics": {"val_cer": 0.1}},
 {"file": "step_200.ckpt", )") + bad + R"(, "metrics": {"val_cer": 0.08}}])");
    const auto run = read_run(dir.path("run"));
    ASSERT_EQ(run.problems.size(), 1u) << bad;
    const auto& problem = run.problems[0];
    EXPECT_NE(problem.find(dir.path("run/checkpoints/index.json") + ": damaged"), std::string::npos) << problem;
    EXPECT_NE(problem.find("row 2 (step_200.ckpt)"), std::string::npos) << problem;
    EXPECT_NE(problem.find("expected an integer"), std::string::npos) << problem;
    ASSERT_EQ(run.checkpoints.size(), 5u);
    for (const auto& c : run.checkpoints) {
      EXPECT_FALSE(c.indexed) << c.file;  // the good row 1 too: the index as a whole is untrusted
      EXPECT_EQ(c.step, -1) << c.file;
      EXPECT_TRUE(c.metrics.empty()) << c.file;
    }
    const auto html = render_html_report(run);
    EXPECT_NE(html.find("<div class=\"problems\">"), std::string::npos);
    EXPECT_NE(html.find("index.json: damaged, not used (row 2 (step_200.ckpt)"), std::string::npos) << bad;
    EXPECT_EQ(count_of(html, "not in index.json"), 5u);
  }
}

}  // namespace
}  // namespace sori
