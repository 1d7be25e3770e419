#include "sori/core/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sori/core/error.h"

namespace sori {

void write_file_atomic(const std::string& path, const std::string& contents) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  SORI_CHECK(fd >= 0, "cannot write ", tmp, ": ", std::strerror(errno));
  // Any failure (a full disk shows up in write, fsync or close) removes the temporary file and
  // leaves `path` as it was.
  const auto fail = [&](const char* what, int err, bool open) {
    if (open) ::close(fd);
    ::unlink(tmp.c_str());
    SORI_FAIL("cannot write ", path, ": ", what, " of ", tmp, " failed: ", std::strerror(err));
  };
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno, true);
    done += static_cast<std::size_t>(n);
  }
  // Test-only: widen the window between write and rename so that fault-injection tests
  // (tests/reliability) can kill a process inside a write.
  if (const char* delay = std::getenv("SORI_TEST_WRITE_DELAY_MS")) ::usleep(static_cast<useconds_t>(std::atoi(delay)) * 1000);
  if (::fsync(fd) != 0) fail("fsync", errno, true);
  if (::close(fd) != 0) fail("close", errno, false);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("rename", errno, false);
  // The rename itself survives a power cut only once the directory is synced.
  const auto dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  SORI_CHECK(dfd >= 0, "cannot open directory ", dir, " to sync the rename of ", path, ": ", std::strerror(errno));
  const int synced = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // Some network and FUSE filesystems cannot sync a directory (EINVAL, ENOTSUP): the file itself
  // is complete and renamed, so that is no error.
  SORI_CHECK(synced == 0 || err == EINVAL || err == ENOTSUP || err == EROFS, "cannot sync directory ", dir,
             " after writing ", path, ": ", std::strerror(err));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SORI_CHECK(in, "cannot open ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

DirectoryLock::DirectoryLock(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto path = (std::filesystem::path(dir) / ".lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  SORI_CHECK(fd_ >= 0, "cannot open ", path, ": ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == ENOSYS || err == EOPNOTSUPP || err == ENOLCK) {  // e.g. Lustre mounted without flock
      ::close(fd_);
      fd_ = -1;
      return;  // held() is false: the caller warns
    }
    std::string holder;
    char buf[256];
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    if (n > 0) holder.assign(buf, static_cast<std::size_t>(n));
    ::close(fd_);
    fd_ = -1;
    SORI_CHECK(err != EWOULDBLOCK, dir, " is in use by another Sori process (", holder.empty() ? "unknown" : holder,
               "): two runs must not write one run directory; wait for it to end or choose another trainer.run_dir");
    SORI_FAIL("cannot lock ", path, ": ", std::strerror(err));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string me = "pid " + std::to_string(::getpid()) + " on " + host;
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // The lock holds without the note; only the message to a second process loses the pid.
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  int removed = 0;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  for (const auto& f : fs::recursive_directory_iterator(dir, ec)) {
    const auto name = f.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || !f.is_regular_file(ec)) continue;
    const auto pid = name.substr(at + 5);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::remove(f.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace sori
