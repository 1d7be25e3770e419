#include "sori/train/progress_display.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "sori/core/error.h"

namespace sori {

ProgressMode parse_progress_mode(const std::string& text) {
  if (text == "auto") return ProgressMode::Auto;
  if (text == "bar") return ProgressMode::Bar;
  if (text == "lines") return ProgressMode::Lines;
  SORI_FAIL("--progress: expected auto, bar or lines, found '", text, "'");
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "--:--";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char out[32];
  if (h > 0)
    std::snprintf(out, sizeof out, "%lld:%02lld:%02lld", h, m, s);
  else
    std::snprintf(out, sizeof out, "%lld:%02lld", m, s);
  return out;
}

std::string format_progress_line(const ProgressFigures& f, int width) {
  const double done = f.max_steps > 0 ? std::clamp(static_cast<double>(f.step) / f.max_steps, 0.0, 1.0) : 0.0;
  char head[64], tail[160];
  std::snprintf(head, sizeof head, "step %lld/%lld", static_cast<long long>(f.step), static_cast<long long>(f.max_steps));
  std::snprintf(tail, sizeof tail, " %5.1f%% | epoch %.2f | loss %.4f | %.0f audio s/s | ETA %s", 100 * done, f.epoch,
                f.loss, f.audio_s_per_s, format_duration(f.eta_s).c_str());
  std::string line = head;
  // The bar takes what the figures leave, up to 30 columns; on a narrow terminal it goes first.
  const int room = width - static_cast<int>(line.size() + std::string(tail).size()) - 3;
  const int bar = std::min(30, room);
  if (bar >= 5) {
    const int filled = static_cast<int>(done * bar);
    line += " [" + std::string(filled, '=') + (filled < bar ? ">" : "") +
            std::string(static_cast<std::size_t>(std::max(0, bar - filled - 1)), ' ') + "]";
  }
  line += tail;
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(static_cast<std::size_t>(width));
  return line;
}

namespace {

int terminal_width() {
  winsize w{};
  // One column short of the edge: some terminals wrap as soon as the last column is written.
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 1) return w.ws_col - 1;
  return 79;
}

constexpr const char* kEraseLine = "\r\x1b[2K";

}  // namespace

// Owns the bottom line of the terminal: erases it before each log line and redraws it after.
class ProgressDisplay::Sink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit Sink(std::vector<spdlog::sink_ptr> inner) : inner_(std::move(inner)) {}

  void draw(const std::string& status) {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = status;
    std::fputs(kEraseLine, stdout);
    std::fputs(status_.c_str(), stdout);
    std::fflush(stdout);
  }
  // The status line stays on screen as the run's last word.
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status_.empty()) std::fputs("\n", stdout);
    status_.clear();
    std::fflush(stdout);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (!status_.empty()) {
      std::fputs(kEraseLine, stdout);
      std::fflush(stdout);
    }
    for (auto& s : inner_)
      if (s->should_log(msg.level)) {
        s->log(msg);
        s->flush();
      }
    if (!status_.empty()) {
      std::fputs(status_.c_str(), stdout);
      std::fflush(stdout);
    }
  }
  void flush_() override {
    for (auto& s : inner_) s->flush();
  }

 private:
  std::vector<spdlog::sink_ptr> inner_;
  std::string status_;
};

ProgressDisplay::ProgressDisplay(ProgressMode mode) {
  const bool live = mode == ProgressMode::Bar || (mode == ProgressMode::Auto && ::isatty(STDOUT_FILENO));
  if (!live) return;
  auto& sinks = spdlog::default_logger()->sinks();
  replaced_ = sinks;
  sink_ = std::make_shared<Sink>(replaced_);
  sinks.assign({sink_});
}

ProgressDisplay::~ProgressDisplay() {
  if (!sink_) return;
  sink_->close();
  spdlog::default_logger()->sinks() = replaced_;
}

void ProgressDisplay::update(const ProgressFigures& figures) {
  if (!sink_) return;
  const auto now = std::chrono::steady_clock::now();
  if (figures.step < figures.max_steps && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  sink_->draw(format_progress_line(figures, terminal_width()));
}

}  // namespace sori
