// `sori plot` and `sori report` through the binary on synthetic run directories; the PNG outputs
// are decoded and looked at (gnuplot's chart, chromium's screenshot of the report).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <numeric>
#include <string>

#include "report/png_image.h"
#include "report/synthetic_run.h"
#include "test_util.h"

namespace {

using sori::test::read_text;
using sori::test::run_command;
using sori::test::TempDir;

sori::test::CommandResult sori_run(const std::string& args) { return run_command(std::string(SORI_BINARY) + " " + args); }

// The first of `names` that is an executable in the usual places, or "".
std::string find_program(const std::vector<std::string>& names) {
  for (const auto& name : names)
    for (const auto* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
      const std::string path = std::string(dir) + "/" + name;
      if (::access(path.c_str(), X_OK) == 0) return path;
    }
  return "";
}

TEST(ReportCli, PlotAndReportHelpShowAnExample) {
  for (const auto* command : {"plot", "report"}) {
    const auto r = sori_run(std::string(command) + " --help");
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("Example:\n  sori " + std::string(command)), std::string::npos) << r.output;
  }
}

TEST(ReportCli, PlotOverlaysRunsInOneSvg) {
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("base"));
  sori::test::write_synthetic_run(dir.path("lr2"), {0.6, /*torn_last_line=*/true});
  const auto r = sori_run("plot --run " + dir.path("base") + " --run " + dir.path("lr2") + "/ --output " +
                          dir.path("out/curves.svg"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto svg = read_text(dir.path("out/curves.svg"));
  EXPECT_EQ(svg.rfind("<svg xmlns=", 0), 0u);
  EXPECT_NE(svg.find("class=\"legend\" x=\"108.0\" y=\"26\">base</text>"), std::string::npos);
  EXPECT_NE(svg.find(">lr2</text>"), std::string::npos);
  EXPECT_NE(svg.find("data-label=\"lr2 dev_b\""), std::string::npos);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

TEST(ReportCli, PlotRefusesWhatItCannotDraw) {
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("run"));
  auto r = sori_run("plot --run " + dir.path("run") + " --output " + dir.path("curves.pdf"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(".svg or .png"), std::string::npos) << r.output;
  sori::test::write_text(dir.path("fresh/config.yaml"), "name: fresh\n");
  r = sori_run("plot --run " + dir.path("fresh") + " --output " + dir.path("curves.svg"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(dir.path("fresh/metrics.jsonl")), std::string::npos) << r.output;
  sori::test::write_text(dir.path("fresh/metrics.jsonl"), "\n");
  r = sori_run("plot --run " + dir.path("fresh") + " --output " + dir.path("curves.svg"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("no metrics rows"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path("curves.svg")));
}

TEST(ReportCli, PlotPngThroughGnuplot) {
  if (find_program({"gnuplot"}).empty()) GTEST_SKIP() << "gnuplot is not installed (apt-get install gnuplot-nox)";
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("a"));
  sori::test::write_synthetic_run(dir.path("b"), {0.5, false});
  std::filesystem::create_directories(dir.path("tmp"));
  const auto r = run_command("env TMPDIR=" + dir.path("tmp") + " " + SORI_BINARY + " plot --run " + dir.path("a") +
                             " --run " + dir.path("b") + " --output " + dir.path("c.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path("tmp"))) << "gnuplot's scratch folder was left behind";
  const auto png = sori::test::decode_png(read_text(dir.path("c.png")));
  ASSERT_TRUE(png.ok) << png.error;
  EXPECT_EQ(png.width, 1200);
  EXPECT_EQ(png.height, 40 + 2 * 330);
  // Both runs' colours are drawn (the palette's first two).
  EXPECT_GT(sori::test::count_pixels(png, 0x00, 0x72, 0xb2, 8), 500u);
  EXPECT_GT(sori::test::count_pixels(png, 0xd5, 0x5e, 0x00, 8), 500u);
}

// gnuplot works in a fresh mkdtemp folder under TMPDIR, removed when it fails too.
TEST(ReportCli, AFailingGnuplotLeavesNoScratchFolder) {
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("run"));
  // It records where its script is, and that folder's mode, before failing.
  sori::test::write_text(dir.path("bin/gnuplot"), "#!/bin/sh\n/bin/ls -ld \"${1%/*}\" > " + dir.path("seen") +
                                                      "\necho 'gnuplot broke' >&2\nexit 3\n");
  std::filesystem::permissions(dir.path("bin/gnuplot"), std::filesystem::perms::owner_all);
  std::filesystem::create_directories(dir.path("tmp"));
  const auto r = run_command("env PATH=" + dir.path("bin") + " TMPDIR=" + dir.path("tmp") + " " + SORI_BINARY +
                             " plot --run " + dir.path("run") + " --output " + dir.path("c.png"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("failed (exit status 3): gnuplot broke"), std::string::npos) << r.output;
  const auto seen = read_text(dir.path("seen"));
  EXPECT_EQ(seen.rfind("drwx------ ", 0), 0u) << seen;
  EXPECT_NE(seen.find(" " + dir.path("tmp") + "/sori_plot."), std::string::npos) << seen;
  EXPECT_TRUE(std::filesystem::is_empty(dir.path("tmp"))) << "gnuplot's scratch folder was left behind";
  EXPECT_FALSE(std::filesystem::exists(dir.path("c.png")));
}

TEST(ReportCli, PlotPngWithoutGnuplotSaysWhatToInstall) {
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("run"));
  std::filesystem::create_directories(dir.path("empty_bin"));
  // sori itself needs nothing from PATH: it is started by its full path.
  const auto r = run_command("env PATH=" + dir.path("empty_bin") + " " + SORI_BINARY + " plot --run " +
                             dir.path("run") + " --output " + dir.path("c.png"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("gnuplot-nox"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(dir.path("c.svg")), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path("c.png")));
}

// One utterance of the report's HTML, its head and alignment, found by the manifest line it names.
std::string utterance_html(const std::string& html, const std::string& where) {
  const auto at = html.find("<code>" + where + "</code>");
  if (at == std::string::npos) return "";
  const auto from = html.rfind("<div class=\"utt\">", at);
  return html.substr(from, html.find("</details>", at) - from);
}

// Pixels of a colour in the rows below the first band of rows that hold it.
std::size_t pixels_below_first_band(const sori::test::PngImage& png, int r, int g, int b) {
  const auto rows = sori::test::count_pixels_per_row(png, r, g, b, 4);
  std::size_t y = 0;
  while (y < rows.size() && rows[y] == 0) ++y;
  while (y < rows.size() && rows[y] > 0) ++y;
  return std::accumulate(rows.begin() + static_cast<std::ptrdiff_t>(y), rows.end(), std::size_t{0});
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST(ReportCli, ReportRendersInAHeadlessBrowser) {
  TempDir dir;
  sori::test::write_synthetic_run(dir.path("run"));
  // An utterance whose edits are known: between four anchors 6 letters deleted, 8 substituted and
  // 7 inserted. No letter occurs twice, and each anchor is longer than the edits on either side of
  // it, so keeping the anchors aligned is the one minimal alignment (21 edits).
  const std::string reference = "ABCDEqrstuvFGHIJabcdefghKLMNOPQRST";
  const std::string hypothesis = "ABCDEFGHIJijklmnopKLMNOwxyz012PQRST";
  sori::test::write_text(dir.path("run/validation/rank1.jsonl"),
                         read_text(dir.path("run/validation/rank1.jsonl")) +
                             sori::test::validation_row(200, "dev_b", 9, reference, hypothesis));
  const auto r = sori_run("report --run " + dir.path("run"));
  ASSERT_EQ(r.status, 0) << r.output;
  const auto html = read_text(dir.path("run/report.html"));
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // the transcript's, escaped
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // nothing fetched: the SVG namespace only
  EXPECT_EQ(html.find("https://"), std::string::npos);

  // Each edit is one highlighted cell of its kind, reference above hypothesis; the colour key
  // (class "key") is not counted.
  const auto known = utterance_html(html, "dev_b.jsonl:9");
  ASSERT_FALSE(known.empty()) << "the utterance dev_b.jsonl:9 is not in the report";
  EXPECT_EQ(count_of(known, "<span class=\"a sub\">"), 8u) << known;
  EXPECT_EQ(count_of(known, "<span class=\"a del\">"), 6u) << known;
  EXPECT_EQ(count_of(known, "<span class=\"a ins\">"), 7u) << known;
  EXPECT_EQ(count_of(known, "<span class=\"a\">"), 20u) << known;  // the anchors, unhighlighted
  EXPECT_NE(known.find("<span class=\"a del\"><span>q</span><span></span></span>"), std::string::npos) << known;
  EXPECT_NE(known.find("<span class=\"a sub\"><span>a</span><span>i</span></span>"), std::string::npos) << known;
  EXPECT_NE(known.find("<span class=\"a ins\"><span></span><span>w</span></span>"), std::string::npos) << known;
  EXPECT_NE(known.find("CER 61.8% (21/34)"), std::string::npos) << known;

  // The screenshot: the binary the issue names (Debian's chromium-headless-shell), nothing else.
  const std::string chromium = find_program({"chromium-headless-shell"});
  if (chromium.empty())
    GTEST_SKIP() << "chromium-headless-shell is not installed (apt-get install chromium-headless-shell)";
  // --no-sandbox: chromium refuses to run as root otherwise (CI containers); a profile of its own
  // keeps it out of $HOME.
  const auto shot = run_command("timeout 60 " + chromium + " --no-sandbox --disable-gpu --hide-scrollbars "
                                "--user-data-dir=" + dir.path("profile") + " --window-size=1280,3000 --screenshot=" +
                                dir.path("shot.png") + " file://" + dir.path("run/report.html"));
  ASSERT_TRUE(std::filesystem::exists(dir.path("shot.png"))) << shot.output;
  const auto png = sori::test::decode_png(read_text(dir.path("shot.png")));
  ASSERT_TRUE(png.ok) << png.error;
  ASSERT_EQ(png.width, 1280);
  const double pixels = static_cast<double>(png.width) * png.height;
  const double white = static_cast<double>(sori::test::count_pixels(png, 255, 255, 255));
  // Text, tables and curves cover a few percent of a page; a blank or failed page none.
  EXPECT_GT(1 - white / pixels, 0.03) << "the screenshot is nearly blank";
  EXPECT_GT(sori::test::count_pixels(png, 0x00, 0x72, 0xb2, 8), 1000u) << "no curves";
  // The edit colours fill cells below the colour key (one line above every alignment), at least
  // the known utterance's: about 10 x 37 pixels a cell, 100 asked for.
  EXPECT_GE(pixels_below_first_band(png, 0xff, 0xc9, 0x66), 8 * 100u) << "substitutions not highlighted";
  EXPECT_GE(pixels_below_first_band(png, 0xff, 0x9c, 0x9c), 6 * 100u) << "deletions not highlighted";
  EXPECT_GE(pixels_below_first_band(png, 0x8f, 0xd9, 0x8f), 7 * 100u) << "insertions not highlighted";
}

}  // namespace
