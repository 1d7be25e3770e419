// Helpers for tests that make their own tiny data in a fresh temporary folder.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "sori/core/error.h"

namespace sori::test {

// A fresh folder under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name = "") const;

 private:
  std::filesystem::path dir_;
};

// Creates the parent folders as needed.
void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);
// A sine tone of `seconds` at `sample_rate`.
std::vector<float> tone(double seconds, int sample_rate, double hz = 440.0);
// Writes a tone WAV and returns one manifest JSON line for it.
std::string wav_entry(const TempDir& dir, const std::string& name, double seconds, const std::string& text,
                      int sample_rate = 16000);

// Runs a shell command with stderr merged into stdout. status: the exit code, -1 after a signal.
struct CommandResult {
  int status;
  std::string output;
};
CommandResult run_command(const std::string& command);

// Child processes for tests that run `sori` (or this test binary) as users and launchers do.
// spawn: argv[0] is looked up on PATH; `env` adds NAME=value pairs; stdout and stderr go to `log`.
pid_t spawn(std::vector<std::string> argv, const std::vector<std::string>& env, const std::string& log);
int wait_exit(pid_t pid);  // the waitpid status
// torchrun's variables (RANK, WORLD_SIZE, LOCAL_*, MASTER_*) for rank r of `world` on this host.
std::vector<std::string> rank_env(int r, int world, const std::string& port);
// A TCP port free on the loopback interface now (a caller that loses a race retries).
int free_port();

// The message of the sori::Error that f throws (a test failure when it throws none).
inline std::string error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a sori::Error";
  return "";
}

}  // namespace sori::test
