#include <spdlog/spdlog.h>

#include "commands.h"
#include "sori/core/fs.h"
#include "sori/report/chart_file.h"
#include "sori/report/html_report.h"
#include "sori/report/metrics_history.h"
#include "sori/report/run_curves.h"
#include "sori/report/run_record.h"

namespace sori::cli {

void add_report_commands(CLI::App& app) {
  auto* plot = with_example(app.add_subcommand("plot", "Training curves of one or more runs as SVG or PNG"),
                            "sori plot --run runs/demo_en --run runs/demo_en_lr2 --output curves.svg");
  static std::vector<std::string> plot_runs;
  static std::string plot_output, loss_scale = "auto";
  plot->add_option("--run", plot_runs, "run folder (trainer.run_dir); repeat to overlay runs")->required();
  plot->add_option("--output", plot_output, "curves.svg (written natively) or curves.png (needs gnuplot)")->required();
  plot->add_option("--loss-scale", loss_scale, "auto, linear or log (auto: log when the loss spans 30x or more)");
  plot->callback([] {
    const auto scale = parse_loss_scale(loss_scale);
    const auto names = run_names(plot_runs);
    std::vector<RunMetrics> runs;
    for (std::size_t k = 0; k < plot_runs.size(); ++k) runs.push_back({names[k], read_run_metrics(plot_runs[k])});
    write_chart_file(training_curves(runs, scale), plot_output);
    spdlog::info("wrote {} ({} run(s))", plot_output, runs.size());
  });

  auto* report = with_example(app.add_subcommand("report", "A self-contained HTML report of a run"),
                              "sori report --run runs/demo_en --output runs/demo_en/report.html");
  static std::string report_run, report_output;
  static std::size_t worst = 20;
  report->add_option("--run", report_run, "run folder (trainer.run_dir)")->required();
  report->add_option("--output", report_output, "HTML file to write (default: <run>/report.html)");
  report->add_option("--worst", worst, "how many of the worst validation utterances to show");
  report->callback([] {
    const auto run = read_run(report_run);
    for (const auto& p : run.problems) spdlog::warn("{}", p);
    const std::string output = report_output.empty() ? report_run + "/report.html" : report_output;
    ReportOptions options;
    options.worst_utterances = worst;
    write_file_atomic(output, render_html_report(run, options));
    spdlog::info("wrote {}", output);
  });
}

}  // namespace sori::cli
