// File helpers. Everything Sori writes for keeps (manifests, vocabularies, checkpoints) goes
// through write_file_atomic: a crash leaves the old file or the new one, never a torn mix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sori {

void write_file_atomic(const std::string& path, const std::string& contents);

// A file written in pieces, with write_file_atomic's guarantee: nothing appears at `path` until
// commit() (fsync, rename, directory sync), and a failure or an object destroyed uncommitted
// removes its temporary file and leaves `path` as it was. For files too large to assemble in
// memory first (checkpoints). Small writes are buffered. Beyond 64 MB the file goes to the disk
// while it is written, and leaves the page cache once there (see fs.cpp). Errors are sori::Error
// naming `path`.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t n);
  // Overwrites bytes already written at `offset` (a header whose fields are known last).
  void write_at(std::uint64_t offset, const void* data, std::size_t n);
  std::uint64_t size() const { return written_ + buffer_.size(); }
  void commit();

 private:
  void flush();
  void write_back();
  void check_open() const;  // an Error once committed or failed
  // All n bytes at `offset` (pwrite: the file position plays no part), retrying short writes.
  void write_fully(const char* bytes, std::size_t n, std::uint64_t offset);
  [[noreturn]] void fail(const char* what, int err);
  std::string path_, tmp_;
  int fd_ = -1;
  std::uint64_t written_ = 0;       // bytes in the file, not counting the buffer
  std::uint64_t written_back_ = 0;  // bytes whose write back has started
  bool early_write_back_ = true;     // false once the system refuses sync_file_range
  std::vector<char> buffer_;
};
std::string read_file(const std::string& path);

// A file's bytes, read-only, for as long as the object lives. A regular file is mapped: its bytes
// are the page cache's, neither copied nor backed by fresh memory (a GB checkpoint loads without
// faulting in and zeroing a GB). Anything else, or where mapping fails, is read (read_file, with
// its errors), and so is everything under AddressSanitizer, which cannot see over-reads of mapped
// pages. A mapped file must not shrink or be rewritten in place while mapped (by `cp` over it, say),
// and a disk error while its pages come in raises SIGBUS instead of an error: fine for what Sori
// reads this way (checkpoints), which it replaces by rename and never rewrites.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool mapped() const { return map_ != nullptr; }

 private:
  std::string read_;  // the bytes when not mapped
  void* map_ = nullptr;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

// An exclusive lock on a directory for as long as the object lives: flock() on <dir>/.lock,
// which records the holder's pid and host. The kernel drops it when the process dies, kill -9
// included, so a crashed run never leaves a stale lock. A second holder gets a sori::Error
// naming the directory and the pid and host of the one that has it. On filesystems where flock
// is node-local (Lustre's localflock) the lock only excludes processes on the same node.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& dir);
  ~DirectoryLock();
  // False where the filesystem has no flock (ENOSYS, EOPNOTSUPP, ENOLCK): nothing is locked.
  bool held() const { return fd_ >= 0; }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes the `<name>.tmp.<pid>` files write_file_atomic leaves when a process dies mid-write;
// returns how many. Only for a directory whose writers are all gone (hold its DirectoryLock).
int remove_stale_temporaries(const std::string& dir);

}  // namespace sori
