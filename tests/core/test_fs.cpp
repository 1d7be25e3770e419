// write_file_atomic and AtomicFile: a failed write (here a full disk, simulated with RLIMIT_FSIZE)
// leaves the previous file intact and no temporary file behind; read_file reads what they wrote.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstddef>
#include <iterator>
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
// from the page cache: every byte must survive that (pieces that straddle windows, a piece of
// several windows, a file of whole windows, a header rewritten after its window has left the
// cache), and the first window must have left the cache before the commit.
TEST(AtomicFile, AFileOfSeveralWriteBackWindowsKeepsEveryByte) {
  constexpr std::size_t kWindow = 64 << 20;
  test::TempDir dir;
  struct statfs fs_info {};
  ASSERT_EQ(statfs(dir.path().c_str(), &fs_info), 0);
  // Where the page cache is checked: filesystems known to write back through it and drop what is
  // on disk. tmpfs keeps its pages (it has no disk), overlayfs forwards no write back to the file
  // below, NFS keeps pages until the server commits them.
  const bool written_back = fs_info.f_type == EXT4_SUPER_MAGIC || fs_info.f_type == XFS_SUPER_MAGIC;
  for (const std::size_t size : {std::size_t{150} << 20, 2 * kWindow}) {
    const auto path = dir.path("large.ckpt");
    std::string expected(size, '\0');
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>(i * 7919 % 251);
    AtomicFile file(path);
    // Buffered pieces, pieces straight to the file, one that straddles the first window's end, one
    // of more than a window; then pieces of 5 MB to the end.
    const std::vector<std::size_t> pieces = {1, 7, 4095, (1 << 20) - 1, (1 << 20) + 1, 3 << 20, (60 << 20) + 5, 90 << 20};
    std::size_t at = 0;
    for (std::size_t i = 0; at < size; ++i) {
      const std::size_t n = std::min(i < pieces.size() ? pieces[i] : std::size_t{5 << 20}, size - at);
      file.write(expected.data() + at, n);
      at += n;
    }
    if (written_back) {
      const int fd = ::open((path + ".tmp." + std::to_string(::getpid())).c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      void* map = ::mmap(nullptr, kWindow, PROT_READ, MAP_SHARED, fd, 0);
      ASSERT_NE(map, MAP_FAILED);
      std::vector<unsigned char> resident(kWindow / 4096);
      ASSERT_EQ(::mincore(map, kWindow, resident.data()), 0);
      ::munmap(map, kWindow);
      ::close(fd);
      EXPECT_EQ(std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; }), 0)
          << "pages of the first window are still in the page cache";
    }
    file.write_at(3, "HEAD", 4);
    expected.replace(3, 4, "HEAD");
    file.commit();
    EXPECT_TRUE(read_file(path) == expected) << "a file of " << size << " bytes differs from what was written";
  }
}

// sync_file_range answering an error, through a seccomp filter in a child: ENOSYS (refused, as
// in some sandboxes) leaves the file to the final fsync and it is written whole; EIO (a failed
// write back) is an error naming the file, and the previous file stays with no temporary left.
TEST(AtomicFile, WriteBackRefusedOrFailed) {
  test::TempDir dir;
  const auto path = dir.path("large.ckpt");
  std::string expected(100 << 20, '\0');
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<char>(i * 31 % 253);
  // The child's exit status: 0 written, 1 an Error naming the file, 2 another error, 3 no filter.
  const auto write_where_sync_file_range_answers = [&](int error) {
    const pid_t pid = fork();
    if (pid == 0) {
      sock_filter program[] = {
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_sync_file_range, 0, 1),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | static_cast<unsigned>(error)),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      const sock_fprog filter{static_cast<unsigned short>(std::size(program)), program};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter) != 0) _exit(3);
      try {
        write_file_atomic(path, expected);
      } catch (const Error& e) {
        _exit(std::string(e.what()).find("cannot write " + path) != std::string::npos ? 1 : 2);
      }
      _exit(0);
    }
    const int status = test::wait_exit(pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const int refused = write_where_sync_file_range_answers(ENOSYS);
  if (refused == 3) GTEST_SKIP() << "this system allows no seccomp filter";
  ASSERT_EQ(refused, 0) << "the write failed where sync_file_range is refused";
  EXPECT_TRUE(read_file(path) == expected);

  write_file_atomic(path, "previous");
  EXPECT_EQ(write_where_sync_file_range_answers(EIO), 1) << "0: the failed write back went unreported; 2: unnamed";
  EXPECT_EQ(test::read_text(path), "previous");
  for (const auto& f : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(f.path().filename(), "large.ckpt") << "left behind: " << f.path();
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
