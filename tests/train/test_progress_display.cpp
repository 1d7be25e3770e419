// The status line of `sori train`: its text, and the two modes seen through the real binary (a
// terminal gets a line redrawn in place; a pipe, as CI logs and SLURM files are, plain lines).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "sori/train/progress_display.h"
#include "test_util.h"
#include "tone_corpus.h"

namespace sori {
namespace {

TEST(ProgressDisplay, FormatsDurationsAndFitsTheLineToTheTerminal) {
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(725), "12:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "--:--");
  ProgressFigures f{120, 3200, 0.42, 1.2345, 125.4, 785};
  const auto wide = format_progress_line(f, 120);
  EXPECT_NE(wide.find("step 120/3200 ["), std::string::npos) << wide;
  EXPECT_NE(wide.find("3.8%"), std::string::npos) << wide;
  EXPECT_NE(wide.find("epoch 0.42 | loss 1.2345 | 125 audio s/s | ETA 13:05"), std::string::npos) << wide;
  EXPECT_LE(wide.size(), 120u);
  // A narrow terminal loses the bar first, then the end of the line; it never wraps.
  const auto narrow = format_progress_line(f, 70);
  EXPECT_EQ(narrow.find('['), std::string::npos) << narrow;
  EXPECT_LE(narrow.size(), 70u);
  EXPECT_EQ(format_progress_line(f, 20).size(), 20u);
  f.step = f.max_steps;
  EXPECT_NE(format_progress_line(f, 120).find("[==============================]"), std::string::npos);
}

TEST(ProgressDisplay, RejectsAnUnknownMode) {
  EXPECT_NE(test::error_text([] { parse_progress_mode("fancy"); }).find("expected auto, bar or lines"),
            std::string::npos);
}

// Runs `sori train` with its stdout on a pseudo-terminal (as a person's terminal is) and returns
// everything it printed.
std::string run_on_terminal(const std::vector<std::string>& args) {
  winsize size{};
  size.ws_col = 100;
  size.ws_row = 40;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  EXPECT_GT(pid, 0);
  std::string out;
  char buffer[4096];
  int status = 0;
  bool reaped = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        reaped = true;
        break;
      }
      continue;
    }
    const auto n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO: the child closed the terminal
    out.append(buffer, static_cast<std::size_t>(n));
  }
  // The terminal closes as the child exits; give it a moment, then end it rather than hang ctest.
  for (int i = 0; !reaped && i < 200; ++i) {
    reaped = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!reaped) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(master);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  return out;
}

TEST(ProgressDisplay, ATerminalGetsALiveStatusLineAndAPipePlainLines) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 3);
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, dir.path("unused")));
  auto command = [&](const std::string& run) {
    return std::vector<std::string>{SORI_BINARY, "train", "--config", dir.path("tiny.yaml"), "trainer.run_dir=" + run,
                                    "trainer.max_steps=30", "trainer.val_check_interval=1000", "checkpoint.every_n_steps=0"};
  };

  const auto terminal = run_on_terminal(command(dir.path("tty")));
  // Redrawn in place: erase the line, then the status; the last one stays with its newline.
  EXPECT_NE(terminal.find("\r\x1b[2Kstep "), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("step 30/30 [==="), std::string::npos) << terminal;
  EXPECT_NE(terminal.find("ETA 0:00\r\n"), std::string::npos) << terminal;
  // A log line is never glued to the status line: the status is erased before every log line.
  const auto log_line = terminal.find("training done");
  ASSERT_NE(log_line, std::string::npos) << terminal;
  const auto line_start = terminal.rfind('\n', log_line);
  const auto erase = terminal.rfind("\x1b[2K", log_line);
  EXPECT_TRUE(erase != std::string::npos && erase > line_start) << terminal;
  const std::string status = "\x1b[2Kstep ";
  for (auto at = terminal.find(status); at != std::string::npos; at = terminal.find(status, at + 1)) {
    at += 4;  // the status line itself, after the erase sequence
    const auto end = terminal.find_first_of("\r\n", at);
    EXPECT_LE(end - at, 100u) << "a status line wider than the terminal wraps and cannot be redrawn";
  }

  std::string piped_command;
  for (const auto& a : command(dir.path("pipe"))) piped_command += "'" + a + "' ";
  const auto piped = test::run_command(piped_command + "| cat");
  ASSERT_EQ(piped.status, 0) << piped.output;
  EXPECT_EQ(piped.output.find('\r'), std::string::npos) << "no carriage returns in log files";
  EXPECT_EQ(piped.output.find("\x1b[2K"), std::string::npos);
  EXPECT_NE(piped.output.find("step 10/30 epoch"), std::string::npos) << piped.output;
  EXPECT_NE(piped.output.find("step 30/30 epoch"), std::string::npos) << piped.output;
  EXPECT_NE(piped.output.find("ETA 0 s"), std::string::npos) << piped.output;
}

}  // namespace
}  // namespace sori
