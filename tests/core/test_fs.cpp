// write_file_atomic: a failed write (here a full disk, simulated with RLIMIT_FSIZE) leaves the
// previous file intact and no temporary file behind.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "test_util.h"

using namespace sori;

TEST(WriteFileAtomic, AFullDiskLeavesThePreviousFileAndNoTemporary) {
  test::TempDir dir;
  const auto path = dir.path("checkpoint.bin");
  write_file_atomic(path, "previous");
  // In a child: the file-size limit applies to the whole process.
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of death, as a full disk gives ENOSPC
    const rlimit limit{4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
    try {
      write_file_atomic(path, std::string(1 << 20, 'x'));
    } catch (const Error& e) {
      const std::string what = e.what();
      _exit(what.find("cannot write " + path) != std::string::npos && what.find("File too large") != std::string::npos
                ? 0
                : 2);
    }
    _exit(1);  // no error reported
  }
  const int status = test::wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the failed write was not reported; 2: the message lacks the path or cause";
  EXPECT_EQ(test::read_text(path), "previous");
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().filename(), "checkpoint.bin") << "left behind: " << f.path();
}
