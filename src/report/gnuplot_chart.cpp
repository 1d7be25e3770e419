#include "sori/report/gnuplot_chart.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/text.h"

extern char** environ;

namespace sori {

namespace fs = std::filesystem;

namespace {

// The gnuplot executable on PATH, or "" when there is none.
std::string find_gnuplot() {
  const char* path = std::getenv("PATH");
  if (!path) return "";
  for (const auto& dir : split(path, ':')) {
    if (dir.empty()) continue;
    const auto candidate = (fs::path(dir) / "gnuplot").string();
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A gnuplot single-quoted string: only ' needs escaping (doubled); newlines would end the command.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') out += "''";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out + "'";
}

std::string script(const Chart& chart, const std::string& output, int width) {
  const std::size_t rows = (chart.panels.size() + 1) / 2;
  std::ostringstream gp;
  gp.precision(10);
  gp << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
     << "  set terminal pngcairo noenhanced size " << width << "," << 40 + 330 * rows << " font 'DejaVu Sans,10'\n"
     << "} else {\n  set terminal png noenhanced size " << width << "," << 40 + 330 * rows << "\n}\n"
     << "set output " << quoted(output) << "\n";
  std::size_t block = 0;
  for (const auto& panel : chart.panels)
    for (const auto& s : panel.series) {
      gp << "$d" << block++ << " << EOD\n";
      for (std::size_t i = 0; i < s.x.size(); ++i) gp << s.x[i] << " " << s.y[i] << "\n";
      gp << "EOD\n";
    }
  gp << "set multiplot layout " << rows << ",2 margins 0.06,0.98,0.07,0.95 spacing 0.08,0.12\n"
     << "set grid lc rgb '#e6e6e6'\nset key top right opaque font ',9'\nset xrange [0:*]\nset xlabel " << quoted(chart.x_label) << "\n";
  block = 0;
  for (const auto& panel : chart.panels) {
    gp << "set title " << quoted(panel.title) << "\nset ylabel " << quoted(panel.y_label) << "\n"
       << (panel.log_y ? "set logscale y\n" : "unset logscale y\n") << "set format y '%g'\nunset label\n";
    std::vector<std::string> plots;
    for (const auto& s : panel.series) {
      const std::size_t index = block++;
      if (s.x.empty()) continue;
      std::ostringstream p;
      p << "$d" << index << " using 1:2 with linespoints pt 7 ps " << (s.x.size() <= 60 ? "0.5" : "0")
        << " lw 2 dt " << s.style % 5 + 1 << " lc rgb '" << chart_color(s.run) << "' title " << quoted(s.label);
      plots.push_back(p.str());
    }
    if (plots.empty()) {
      // gnuplot needs something to plot: an empty frame carrying the note.
      gp << "set label 1 " << quoted(panel.empty_note) << " at graph 0.5,0.5 center\n"
         << "plot [0:1] [0:1] NaN notitle\n";
      continue;
    }
    gp << "plot ";
    for (std::size_t k = 0; k < plots.size(); ++k) gp << (k ? ", \\\n     " : "") << plots[k];
    gp << "\n";
  }
  gp << "unset multiplot\nset output\n";
  return gp.str();
}

// Runs gnuplot on `script_path` with stdout and stderr in `log_path`; returns its wait status.
int run_gnuplot(const std::string& gnuplot, const std::string& script_path, const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  std::vector<char*> argv{const_cast<char*>(gnuplot.c_str()), const_cast<char*>(script_path.c_str()), nullptr};
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, gnuplot.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  SORI_CHECK(spawned == 0, "cannot start ", gnuplot, ": ", std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// A new folder under the system temp dir, removed with what it holds when the object goes (on an
// error too).
struct ScratchFolder {
  fs::path path;
  ScratchFolder() {
    std::string name = (fs::temp_directory_path() / "sori_plot.XXXXXX").string();
    SORI_CHECK(::mkdtemp(name.data()) != nullptr, "cannot make a temporary folder ", name, ": ", std::strerror(errno),
               " (set TMPDIR to a writable folder)");
    path = name;
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
};

}  // namespace

void write_png_with_gnuplot(const Chart& chart, const std::string& path, int width) {
  const std::string gnuplot = find_gnuplot();
  SORI_CHECK(!gnuplot.empty(), "cannot write ", path, ": PNG output needs gnuplot, which is not on PATH; install "
             "Debian's gnuplot-nox (apt-get install gnuplot-nox), or write SVG instead (--output ",
             fs::path(path).replace_extension(".svg").string(), ")");
  // gnuplot's files go to a fresh folder only we can write (mkdtemp: an unpredictable name, mode
  // 0700); only the finished PNG reaches `path`.
  const ScratchFolder work;
  const auto png = (work.path / "chart.png").string(), log = (work.path / "gnuplot.log").string();
  const auto script_path = (work.path / "chart.gp").string();
  write_file_atomic(script_path, script(chart, png, width));
  const int status = run_gnuplot(gnuplot, script_path, log);
  std::error_code ec;
  const bool made = fs::file_size(png, ec) > 0 && !ec;
  SORI_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && made, "cannot write ", path, ": ", gnuplot,
             " failed (", WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status)) : "killed by a signal",
             "): ", trim(read_file(log)), "\n(an .svg output needs no gnuplot)");
  write_file_atomic(path, read_file(png));
}

}  // namespace sori
