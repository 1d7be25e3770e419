#include "sori/core/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "sori/core/error.h"
#include "sori/core/sanitizer.h"

namespace sori {

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile file(path);
  file.write(contents.data(), contents.size());
  file.commit();
}

namespace {

constexpr std::size_t kAtomicFileBuffer = 1 << 20;
// A large file goes to the disk a window at a time while it is written, and each window's pages
// leave the page cache once they are on it. Left to the final fsync, a checkpoint of 1.4 GB filled
// the page cache with as much fresh memory: its write took 5.7 s in a training run on the 2-core
// VM, whose fresh pages are slow to come in, and takes 2.0 s this way (docs/PERFORMANCE.md). On
// filesystems that write back through the page cache (ext4, XFS) it also keeps a checkpoint from
// pushing the training data out of the cache, and overlaps the disk with the writing. A file read
// right after its commit (a resume, an export) comes from the disk.
constexpr std::uint64_t kWritebackWindow = 64 << 20;

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp." + std::to_string(::getpid())) {
  const std::filesystem::path target(path_);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  SORI_CHECK(fd_ >= 0, "cannot write ", tmp_, ": ", std::strerror(errno));
  buffer_.reserve(kAtomicFileBuffer);
}

AtomicFile::~AtomicFile() {
  if (fd_ < 0) return;  // committed, or failed (which cleaned up)
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

// Any failure (a full disk shows up in write, fsync or close) removes the temporary file and
// leaves `path` as it was.
void AtomicFile::fail(const char* what, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  SORI_FAIL("cannot write ", path_, ": ", what, " of ", tmp_, " failed: ", std::strerror(err));
}

void AtomicFile::check_open() const {
  SORI_CHECK(fd_ >= 0, "cannot write ", path_, ": the file is already committed or failed");
}

void AtomicFile::write(const void* data, std::size_t n) {
  check_open();
  const auto* bytes = static_cast<const char*>(data);
  if (buffer_.size() + n > kAtomicFileBuffer) flush();
  if (n < kAtomicFileBuffer) {
    buffer_.insert(buffer_.end(), bytes, bytes + n);
    return;
  }
  // Large pieces (tensor data) go straight to the file, a window at most at a time: one write of a
  // GB would fill the page cache before any of it is written back.
  for (std::size_t done = 0; done < n;) {
    const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, kWritebackWindow));
    write_fully(bytes + done, piece, written_);
    written_ += piece;
    done += piece;
    write_back();
  }
}

void AtomicFile::flush() {
  write_fully(buffer_.data(), buffer_.size(), written_);
  written_ += buffer_.size();
  buffer_.clear();
  write_back();
}

// Starts writing each full window back, then waits for the one before it and drops its pages.
// A failed write back must be raised here: the kernel reports it to this file once, so the final
// fsync would not see it again. Where sync_file_range is refused (ENOSYS or EPERM from a seccomp
// filter or an emulated kernel, and the like), the file is left to the final fsync, as before.
void AtomicFile::write_back() {
#if defined(__linux__)
  const auto sync_window = [this](std::uint64_t start, unsigned flags) {
    if (::sync_file_range(fd_, static_cast<off_t>(start), static_cast<off_t>(kWritebackWindow), flags) == 0) return true;
    const int err = errno;
    if (err == ENOSYS || err == EINVAL || err == ESPIPE || err == EOPNOTSUPP || err == EPERM) return false;
    fail("write back", err);
  };
  constexpr unsigned kWriteAndWait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;
  for (; early_write_back_ && written_ - written_back_ >= kWritebackWindow; written_back_ += kWritebackWindow) {
    if (!sync_window(written_back_, SYNC_FILE_RANGE_WRITE)) early_write_back_ = false;
    if (!early_write_back_ || written_back_ == 0) continue;
    const auto previous = written_back_ - kWritebackWindow;
    if (!sync_window(previous, kWriteAndWait)) early_write_back_ = false;
    else ::posix_fadvise(fd_, static_cast<off_t>(previous), static_cast<off_t>(kWritebackWindow), POSIX_FADV_DONTNEED);
  }
#endif
}

void AtomicFile::write_at(std::uint64_t offset, const void* data, std::size_t n) {
  check_open();
  SORI_CHECK(offset + n <= size(), "AtomicFile::write_at(", offset, ", ", n, ") of ", path_, ": only ", size(),
             " bytes are written; it overwrites, never extends");
  flush();
  write_fully(static_cast<const char*>(data), n, offset);
}

void AtomicFile::write_fully(const char* bytes, std::size_t n, std::uint64_t offset) {
  for (std::size_t done = 0; done < n;) {
    const ssize_t w = ::pwrite(fd_, bytes + done, n - done, static_cast<off_t>(offset + done));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) fail("write", errno);
    done += static_cast<std::size_t>(w);
  }
}

void AtomicFile::commit() {
  check_open();
  flush();
  // Test-only: widen the window between write and rename so that fault-injection tests
  // (tests/reliability) can kill a process inside a write.
  if (const char* delay = std::getenv("SORI_TEST_WRITE_DELAY_MS")) ::usleep(static_cast<useconds_t>(std::atoi(delay)) * 1000);
  if (::fsync(fd_) != 0) fail("fsync", errno);
#if defined(__linux__)
  if (written_back_ > 0 && early_write_back_) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED);  // the last windows
#endif
  const int closed = ::close(fd_);
  fd_ = -1;  // closed either way: fail() only removes the temporary file now
  if (closed != 0) fail("close", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("rename", errno);
  // The rename itself survives a power cut only once the directory is synced.
  const std::filesystem::path target(path_);
  const auto dir = target.has_parent_path() ? target.parent_path().string() : std::string(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  SORI_CHECK(dfd >= 0, "cannot open directory ", dir, " to sync the rename of ", path_, ": ", std::strerror(errno));
  const int synced = ::fsync(dfd);
  const int err = errno;
  ::close(dfd);
  // Some network and FUSE filesystems cannot sync a directory (EINVAL, ENOTSUP): the file itself
  // is complete and renamed, so that is no error.
  SORI_CHECK(synced == 0 || err == EINVAL || err == ENOTSUP || err == EROFS, "cannot sync directory ", dir,
             " after writing ", path_, ": ", std::strerror(err));
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  SORI_CHECK(!std::filesystem::is_directory(path, ec), "cannot read ", path, ": it is a directory");
  std::ifstream in(path, std::ios::binary);
  SORI_CHECK(in, "cannot open ", path);
  // A regular file is read in one piece (a checkpoint is up to GBs: a stringstream would copy it
  // twice); anything else, and files that cannot seek to their end (procfs), is read to its end.
  const auto size = std::filesystem::is_regular_file(path, ec) && in.seekg(0, std::ios::end)
                        ? static_cast<std::streamoff>(in.tellg())
                        : std::streamoff{-1};
  in.clear();
  in.seekg(0, std::ios::beg);
  if (size > 0) {
    std::string contents(static_cast<std::size_t>(size), '\0');
    in.read(contents.data(), size);
    // Fewer bytes than the size said: the file shrank, or is a pseudo-file (sysfs) that reports a
    // size it does not have. What was there is the content (checkpoints check their own size).
    if (in.gcount() < size) {
      contents.resize(static_cast<std::size_t>(in.gcount()));
      return contents;
    }
    if (in.peek() == std::char_traits<char>::eof()) return contents;
    in.clear();  // the file grew while read: the rest too
    std::stringstream rest;
    rest << in.rdbuf();
    contents += rest.str();
    return contents;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = kAddressSanitizer ? -1 : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    // MAP_POPULATE: one pass maps the whole file instead of a page fault per 4 KiB.
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p != MAP_FAILED) {
      map_ = p;
      size_ = static_cast<std::size_t>(st.st_size);
    }
  }
  if (fd >= 0) ::close(fd);  // a mapping outlives its descriptor
  if (map_) {
    data_ = static_cast<const char*>(map_);
    return;
  }
  read_ = read_file(path);
  data_ = read_.data();
  size_ = read_.size();
}

MappedFile::~MappedFile() {
  if (map_) ::munmap(map_, size_);
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
