// write_file_atomic and AtomicFile: a failed write (here a full disk, simulated with RLIMIT_FSIZE)
// leaves the previous file intact and no temporary file behind; read_file reads what they wrote.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

// AtomicFile (checkpoints stream through it): pieces of every size, a header written last, and
// nothing at the path before commit().
TEST(AtomicFile, WritesPiecesAndAHeaderLastAndAppearsOnlyAtCommit) {
  test::TempDir dir;
  const auto path = dir.path("big.bin");
  std::string expected = "HEADER??";
  {
    AtomicFile file(path);
    file.write("HEADER??", 8);
    for (int i = 0; i < 1000; ++i) {  // small pieces, buffered
      const std::string piece = std::to_string(i) + ",";
      file.write(piece.data(), piece.size());
      expected += piece;
    }
    const std::string large(3 << 20, 'L');  // larger than the buffer: straight to the file
    file.write(large.data(), large.size());
    expected += large;
    file.write("tail", 4);
    expected += "tail";
    EXPECT_EQ(file.size(), expected.size());
    file.write_at(6, "OK", 2);
    expected.replace(6, 2, "OK");
    const auto error = test::error_text([&] { file.write_at(file.size() - 1, "xy", 2); });
    EXPECT_NE(error.find("never extends"), std::string::npos) << error;
    EXPECT_FALSE(std::filesystem::exists(path)) << "visible before commit()";
    file.commit();
  }
  EXPECT_EQ(read_file(path), expected);
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().filename(), "big.bin") << "left behind: " << f.path();
}

// Beyond 64 MB AtomicFile writes the file back a window at a time and drops the pages on disk
// from the page cache: every byte must survive that, pieces that straddle windows, a piece of
// several windows and a header rewritten after its window has left the cache included.
TEST(AtomicFile, AFileOfSeveralWriteBackWindowsKeepsEveryByte) {
  test::TempDir dir;
  const auto path = dir.path("large.ckpt");
  std::string expected(150 << 20, '\0');  // more than two windows of 64 MB
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>(i * 7919 % 251);
  {
    AtomicFile file(path);
    // Pieces of 1 byte to 5 MB (buffered ones and ones that go straight to the file), and one of
    // 100 MB, written a window at a time.
    const std::size_t huge_at = 20 << 20, huge = 100 << 20;
    for (std::size_t at = 0, n = 1; at < expected.size(); at += n, n = n * 3 % ((5 << 20) + 7) + 1) {
      if (at == huge_at) n = huge;
      n = std::min({n, expected.size() - at, at < huge_at ? huge_at - at : n});
      file.write(expected.data() + at, n);
    }
    file.write_at(3, "HEAD", 4);
    expected.replace(3, 4, "HEAD");
    file.commit();
  }
  EXPECT_TRUE(read_file(path) == expected) << "the file differs from what was written";
}

TEST(AtomicFile, DestroyedUncommittedLeavesThePreviousFileAndNoTemporary) {
  test::TempDir dir;
  const auto path = dir.path("last.ckpt");
  write_file_atomic(path, "previous");
  {
    AtomicFile file(path);
    const std::string piece(2 << 20, 'x');
    file.write(piece.data(), piece.size());
  }  // an exception between write and commit, say
  EXPECT_EQ(test::read_text(path), "previous");
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().filename(), "last.ckpt") << "left behind: " << f.path();
}

// read_file reads a regular file in one piece, files that report no size (procfs) to their end,
// and refuses a directory by name.
TEST(ReadFile, ReadsWholeFilesAndFilesWithoutASize) {
  test::TempDir dir;
  std::string contents(5 << 20, '\0');
  for (std::size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7919 % 251);
  write_file_atomic(dir.path("f.bin"), contents);
  EXPECT_EQ(read_file(dir.path("f.bin")), contents);
  write_file_atomic(dir.path("empty"), "");
  EXPECT_EQ(read_file(dir.path("empty")), "");
  EXPECT_NE(read_file("/proc/self/status").find("Pid:"), std::string::npos);
  const auto error = test::error_text([&] { read_file(dir.path("missing")); });
  EXPECT_NE(error.find("cannot open " + dir.path("missing")), std::string::npos) << error;
  // A directory (say one named like a checkpoint) is an error naming it, not an empty file.
  std::filesystem::create_directories(dir.path("step_1.ckpt"));
  const auto directory = test::error_text([&] { read_file(dir.path("step_1.ckpt")); });
  EXPECT_NE(directory.find(dir.path("step_1.ckpt") + ": it is a directory"), std::string::npos) << directory;
}

TEST(MappedFile, MapsRegularFilesAndReadsEverythingElseWithReadFilesErrors) {
  test::TempDir dir;
  std::string contents(3 << 20, '\0');
  for (std::size_t i = 0; i < contents.size(); ++i) contents[i] = static_cast<char>(i * 7919 % 251);
  write_file_atomic(dir.path("f.bin"), contents);
  {
    const MappedFile file(dir.path("f.bin"));
    EXPECT_TRUE(file.mapped());
    ASSERT_EQ(file.size(), contents.size());
    EXPECT_EQ(std::string(file.data(), file.size()), contents);
    // Replaced by rename while mapped, as checkpoints are: the mapping keeps the old bytes.
    write_file_atomic(dir.path("f.bin"), "new");
    EXPECT_EQ(std::string(file.data(), file.size()), contents);
  }
  write_file_atomic(dir.path("empty"), "");
  const MappedFile empty(dir.path("empty"));
  EXPECT_FALSE(empty.mapped());
  EXPECT_EQ(empty.size(), 0u);
  const MappedFile status("/proc/self/status");  // size 0 in stat: read, not mapped
  EXPECT_FALSE(status.mapped());
  EXPECT_NE(std::string(status.data(), status.size()).find("Pid:"), std::string::npos);
  const auto missing = test::error_text([&] { MappedFile m(dir.path("missing")); });
  EXPECT_NE(missing.find("cannot open " + dir.path("missing")), std::string::npos) << missing;
  std::filesystem::create_directories(dir.path("step_1.ckpt"));
  const auto directory = test::error_text([&] { MappedFile m(dir.path("step_1.ckpt")); });
  EXPECT_NE(directory.find(dir.path("step_1.ckpt") + ": it is a directory"), std::string::npos) << directory;
}
