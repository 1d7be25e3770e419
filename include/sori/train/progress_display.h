// What a person watching `sori train` sees between log lines. On a terminal: one status line
// (step, epoch, loss, audio s/s, ETA) redrawn in place at the bottom, with the log lines
// scrolling above it. Elsewhere (CI logs, SLURM output files, pipes) it draws nothing: the
// trainer's periodic log lines carry the same figures, and a file full of carriage returns is
// unreadable.
//
// Invariants: while live, every spdlog line goes through this display, which erases the status
// line first and redraws it after, so a log line is never glued to a half-drawn bar. The status
// line never exceeds the terminal's width (a wrapped line cannot be redrawn with '\r').
#pragma once

#include <spdlog/sinks/sink.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sori {

enum class ProgressMode { Auto, Bar, Lines };
// "auto" | "bar" | "lines"; anything else is an error naming the accepted values.
ProgressMode parse_progress_mode(const std::string& text);

struct ProgressFigures {
  std::int64_t step = 0, max_steps = 0;
  double epoch = 0, loss = 0, audio_s_per_s = 0;
  double eta_s = -1;  // < 0: not known yet
};

// "1:02:03", "12:05", "0:07"; "--:--" for an unknown time.
std::string format_duration(double seconds);
// The status line, at most `width` columns (ASCII only, so bytes are columns).
std::string format_progress_line(const ProgressFigures& figures, int width);

class ProgressDisplay {
 public:
  // Live when mode is Bar, or Auto and stdout is a terminal.
  explicit ProgressDisplay(ProgressMode mode);
  ~ProgressDisplay();  // leaves the last status line on screen and gives spdlog its sinks back
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  bool live() const { return sink_ != nullptr; }
  // Redraws at most 10 times a second (and always for the last step).
  void update(const ProgressFigures& figures);

 private:
  class Sink;
  std::shared_ptr<Sink> sink_;
  std::vector<spdlog::sink_ptr> replaced_;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace sori
