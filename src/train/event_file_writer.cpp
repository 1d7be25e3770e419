#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "event_proto.h"
#include "sori/core/error.h"
#include "sori/core/host.h"
#include "sori/train/event_file.h"

namespace sori {

using namespace event_proto;

namespace {

constexpr const char* kFileVersion = "brain.Event:2";
constexpr const char* kTextPluginName = "text";

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The fields every event we write starts with; the caller appends its `what`.
std::string event_prefix(std::int64_t step) {
  std::string event;
  put_double_field(event, field::kEventWallTime, now_seconds());
  put_varint_field(event, field::kEventStep, static_cast<std::uint64_t>(step));
  return event;
}

std::string scalar_value(const std::string& tag, double value) {
  std::string v;
  if (!tag.empty()) put_bytes_field(v, field::kValueTag, tag);
  put_float_field(v, field::kValueSimpleValue, static_cast<float>(value));
  return v;
}

// The seconds field of `events.out.tfevents.<seconds>.…`, or -1 for other names.
long long name_seconds(const std::string& name) {
  if (name.rfind(kEventFilePrefix, 0) != 0) return -1;
  const std::size_t begin = std::strlen(kEventFilePrefix);
  const std::size_t end = name.find('.', begin);
  const std::string digits = name.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  if (digits.empty() || digits.size() > 18 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  return std::stoll(digits);
}

std::string new_event_file_name(const std::string& dir) {
  static std::atomic<int> writers{0};
  long long seconds = static_cast<long long>(now_seconds());
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    seconds = std::max(seconds, name_seconds(it->path().filename().string()) + 1);
  SORI_CHECK(!ec, "cannot list the TensorBoard log directory ", dir, ": ", ec.message());
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%010lld", seconds);
  return std::string(kEventFilePrefix) + stamp + "." + host_name() + "." + std::to_string(::getpid()) + "." +
         std::to_string(writers++);
}

}  // namespace

EventFileWriter::EventFileWriter(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  SORI_CHECK(!ec, "cannot create the TensorBoard log directory ", dir, ": ", ec.message());
  path_ = (std::filesystem::path(dir) / new_event_file_name(dir)).string();
  // O_EXCL: a new file per process start, never an append to another process's file.
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  SORI_CHECK(fd_ >= 0, "cannot create the TensorBoard event file ", path_, ": ", std::strerror(errno));
  std::string first;
  put_double_field(first, field::kEventWallTime, now_seconds());
  put_bytes_field(first, field::kEventFileVersion, kFileVersion);
  append(first);
}

EventFileWriter::~EventFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void EventFileWriter::append(const std::string& event) {
  const std::string rec = record_of(event);
  std::size_t done = 0;
  while (done < rec.size()) {
    const ssize_t n = ::write(fd_, rec.data() + done, rec.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      // Drop the partial record: later records must not follow a torn one.
      const bool cut = ::ftruncate(fd_, static_cast<off_t>(size_)) == 0;
      SORI_FAIL("cannot write the TensorBoard event file ", path_, ": ", std::strerror(err),
                cut ? "" : " (and could not cut the partial record off its end)");
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += rec.size();
}

void EventFileWriter::session_start(std::int64_t step) {
  std::string log;
  put_varint_field(log, field::kSessionLogStatus, kSessionStatusStart);
  std::string event = event_prefix(step);
  put_bytes_field(event, field::kEventSessionLog, log);
  append(event);
}

void EventFileWriter::scalar(const std::string& tag, std::int64_t step, double value) {
  scalars(step, {{tag, value}});
}

void EventFileWriter::scalars(std::int64_t step, const std::map<std::string, double>& values) {
  std::string summary;
  for (const auto& [tag, value] : values) put_bytes_field(summary, field::kSummaryValue, scalar_value(tag, value));
  std::string event = event_prefix(step);
  put_bytes_field(event, field::kEventSummary, summary);
  append(event);
}

void EventFileWriter::text(const std::string& tag, std::int64_t step, const std::string& markdown) {
  std::string tensor;
  put_varint_field(tensor, field::kTensorDtype, kDtString);
  put_bytes_field(tensor, field::kTensorShape, "");  // shape []: a scalar
  put_bytes_field(tensor, field::kTensorStringVal, markdown);
  std::string plugin_data;
  put_bytes_field(plugin_data, field::kPluginDataName, kTextPluginName);
  std::string metadata;
  put_bytes_field(metadata, field::kMetadataPluginData, plugin_data);
  std::string value;
  if (!tag.empty()) put_bytes_field(value, field::kValueTag, tag);
  put_bytes_field(value, field::kValueTensor, tensor);
  put_bytes_field(value, field::kValueMetadata, metadata);
  std::string summary;
  put_bytes_field(summary, field::kSummaryValue, value);
  std::string event = event_prefix(step);
  put_bytes_field(event, field::kEventSummary, summary);
  append(event);
}

void EventFileWriter::flush() {
  SORI_CHECK(::fdatasync(fd_) == 0, "cannot flush the TensorBoard event file ", path_, ": ", std::strerror(errno));
}

}  // namespace sori
