#include "sori/core/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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
  SORI_CHECK(synced == 0, "cannot sync directory ", dir, " after writing ", path, ": ", std::strerror(err));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SORI_CHECK(in, "cannot open ", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sori
