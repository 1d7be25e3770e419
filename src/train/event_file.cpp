#include "sori/train/event_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>
#include <system_error>

#include "sori/core/error.h"
#include "sori/core/fs.h"

namespace sori {

namespace {

constexpr std::array<std::uint32_t, 256> make_crc32c_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32cTable = make_crc32c_table();

constexpr const char* kEventFilePrefix = "events.out.tfevents.";
constexpr const char* kFileVersion = "brain.Event:2";
constexpr int kDtString = 7;  // types.proto DataType.DT_STRING
constexpr const char* kTextPluginName = "text";

// Field numbers (see the header for the messages).
namespace field {
constexpr int kEventWallTime = 1, kEventStep = 2, kEventFileVersion = 3, kEventSummary = 5,
              kEventSessionLog = 7;
constexpr int kSummaryValue = 1;
constexpr int kValueTag = 1, kValueSimpleValue = 2, kValueTensor = 8, kValueMetadata = 9;
constexpr int kMetadataPluginData = 1;
constexpr int kPluginDataName = 1;
constexpr int kTensorDtype = 1, kTensorShape = 2, kTensorStringVal = 8;
constexpr int kSessionLogStatus = 1;
}  // namespace field

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// ---- encoding ----

void put_fixed(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t load_fixed(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, int field, WireType type) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | type);
}

void put_varint_field(std::string& out, int field, std::uint64_t v) {
  if (v == 0) return;  // proto3 default
  put_key(out, field, kVarint);
  put_varint(out, v);
}

// Written even when empty: callers skip empty proto3 strings themselves, while an empty
// submessage or oneof member is present and means something (a tensor's shape []).
void put_bytes_field(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}

void put_double_field(std::string& out, int field, double v) {
  if (v == 0) return;
  std::uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed64);
  put_fixed(out, bits, 8);
}

// Always written, 0 included: simple_value is a oneof member, whose presence proto3 keeps (a
// Value without it holds no value at all).
void put_float_field(std::string& out, int field, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_fixed(out, bits, 4);
}

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

std::string record_of(const std::string& data) {
  std::string rec;
  rec.reserve(data.size() + 16);
  put_fixed(rec, data.size(), 8);
  put_fixed(rec, masked_crc32c(rec.data(), 8), 4);
  rec += data;
  put_fixed(rec, masked_crc32c(data.data(), data.size()), 4);
  return rec;
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
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%010lld", seconds);
  return std::string(kEventFilePrefix) + stamp + "." + host + "." + std::to_string(::getpid()) + "." +
         std::to_string(writers++);
}

// ---- decoding ----

// Reads one message's bytes; every error names the file and the offset of the record holding it.
class WireReader {
 public:
  WireReader(std::string_view bytes, const std::string& path, std::uint64_t record_offset)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), path_(path), offset_(record_offset) {}

  bool done() const { return p_ == end_; }

  // The next field's number and wire type.
  std::pair<int, int> key() {
    const std::uint64_t k = varint();
    const std::uint64_t number = k >> 3;
    if (number < 1 || number > 0x1fffffff)
      fail("a protobuf field number in 1..2^29-1, found " + std::to_string(number));
    return {static_cast<int>(number), static_cast<int>(k & 7)};
  }

  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1, "a varint");
      const auto byte = static_cast<unsigned char>(*p_++);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return v;
    }
    fail("a varint of at most 10 bytes, found a longer one");
  }

  std::uint64_t fixed(int bytes) {
    need(static_cast<std::size_t>(bytes), bytes == 8 ? "a fixed64" : "a fixed32");
    const std::uint64_t v = load_fixed(p_, bytes);
    p_ += bytes;
    return v;
  }

  std::string_view bytes() {
    const std::uint64_t n = varint();
    need(n, "a length-delimited field");
    const std::string_view v(p_, static_cast<std::size_t>(n));
    p_ += n;
    return v;
  }

  double f64() {
    const std::uint64_t bits = fixed(8);
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

  float f32() {
    const auto bits = static_cast<std::uint32_t>(fixed(4));
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }

  // A field of a wire type the caller did not expect for its number is skipped as unknown, as
  // protobuf does; only the deprecated groups (3, 4) and invalid types (6, 7) are refused.
  void skip(int wire_type) {
    switch (wire_type) {
      case kVarint: varint(); return;
      case kFixed64: fixed(8); return;
      case kLengthDelimited: bytes(); return;
      case kFixed32: fixed(4); return;
      default: fail("a protobuf wire type of 0, 1, 2 or 5, found " + std::to_string(wire_type));
    }
  }

  WireReader sub(std::string_view bytes) const { return WireReader(bytes, path_, offset_); }

 private:
  void need(std::uint64_t n, const char* what) {
    if (static_cast<std::uint64_t>(end_ - p_) < n) fail(std::string(what) + ", found the message's end");
  }
  [[noreturn]] void fail(const std::string& what) const {
    SORI_FAIL("event file ", path_, ": record at byte offset ", offset_, ": expected ", what,
              " (a corrupt record with a valid CRC: written by a broken writer)");
  }

  const char* p_;
  const char* end_;
  const std::string& path_;
  std::uint64_t offset_;
};

std::string parse_plugin_name(WireReader in) {
  std::string name;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kMetadataPluginData && type == kLengthDelimited) {
      WireReader plugin_data = in.sub(in.bytes());
      while (!plugin_data.done()) {
        const auto [g, t] = plugin_data.key();
        if (g == field::kPluginDataName && t == kLengthDelimited)
          name = std::string(plugin_data.bytes());
        else
          plugin_data.skip(t);
      }
    } else {
      in.skip(type);
    }
  }
  return name;
}

std::optional<std::string> parse_string_tensor(WireReader in) {
  std::uint64_t dtype = 0;
  std::optional<std::string> first;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kTensorDtype && type == kVarint)
      dtype = in.varint();
    else if (f == field::kTensorStringVal && type == kLengthDelimited && !first)
      first = std::string(in.bytes());
    else
      in.skip(type);
  }
  if (dtype != kDtString) return std::nullopt;
  return first;
}

EventValue parse_value(WireReader in) {
  EventValue value;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kValueTag && type == kLengthDelimited)
      value.tag = std::string(in.bytes());
    else if (f == field::kValueSimpleValue && type == kFixed32)
      value.simple_value = in.f32();
    else if (f == field::kValueTensor && type == kLengthDelimited)
      value.text = parse_string_tensor(in.sub(in.bytes()));
    else if (f == field::kValueMetadata && type == kLengthDelimited)
      value.plugin_name = parse_plugin_name(in.sub(in.bytes()));
    else
      in.skip(type);
  }
  return value;
}

Event parse_event(WireReader in, std::uint64_t offset) {
  Event event;
  event.offset = offset;
  while (!in.done()) {
    const auto [f, type] = in.key();
    if (f == field::kEventWallTime && type == kFixed64) {
      event.wall_time = in.f64();
    } else if (f == field::kEventStep && type == kVarint) {
      event.step = static_cast<std::int64_t>(in.varint());
    } else if (f == field::kEventFileVersion && type == kLengthDelimited) {
      event.file_version = std::string(in.bytes());
    } else if (f == field::kEventSummary && type == kLengthDelimited) {
      WireReader summary = in.sub(in.bytes());
      while (!summary.done()) {
        const auto [g, t] = summary.key();
        if (g == field::kSummaryValue && t == kLengthDelimited)
          event.values.push_back(parse_value(summary.sub(summary.bytes())));
        else
          summary.skip(t);
      }
    } else if (f == field::kEventSessionLog && type == kLengthDelimited) {
      WireReader log = in.sub(in.bytes());
      while (!log.done()) {
        const auto [g, t] = log.key();
        if (g == field::kSessionLogStatus && t == kVarint)
          event.session_status = static_cast<int>(log.varint());
        else
          log.skip(t);
      }
    } else {
      in.skip(type);
    }
  }
  return event;
}

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) c = kCrc32cTable[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  const std::uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

// ---- EventFileWriter ----

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

// ---- readers ----

EventFileContents read_event_file(const std::string& path) {
  const std::string bytes = read_file(path);
  EventFileContents contents;
  std::uint64_t at = 0;
  const std::uint64_t size = bytes.size();
  while (at < size) {
    const char* rec = bytes.data() + at;
    if (size - at < 12) break;  // torn in the length or its CRC
    const std::uint64_t length = load_fixed(rec, 8);
    SORI_CHECK(load_fixed(rec + 8, 4) == masked_crc32c(rec, 8), "event file ", path, ": record at byte offset ", at,
               ": the CRC of its length does not match (the file is corrupt; a writer killed mid-record only "
               "ever cuts the last record short)");
    if (size - at - 12 < 4 || length > size - at - 16) break;  // torn in the data or its CRC
    const std::string_view data(rec + 12, static_cast<std::size_t>(length));
    SORI_CHECK(load_fixed(rec + 12 + length, 4) == masked_crc32c(data.data(), data.size()), "event file ", path,
               ": record at byte offset ", at, ": the CRC of its ", length,
               " data bytes does not match (the file is corrupt; a writer killed mid-record only ever cuts the "
               "last record short)");
    contents.events.push_back(parse_event(WireReader(data, path, at), at));
    at += 16 + length;
  }
  contents.torn_tail_bytes = size - at;
  return contents;
}

std::vector<Event> read_run_events(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_regular_file() && name.find("tfevents") != std::string::npos) files.push_back(it->path().string());
  }
  SORI_CHECK(!ec, "cannot list the TensorBoard run directory ", dir, ": ", ec.message());
  std::sort(files.begin(), files.end());
  std::vector<Event> kept;
  bool seen_start = false;
  for (const auto& file : files) {
    for (auto& event : read_event_file(file).events) {
      if (event.session_status == kSessionStatusStart) {
        if (seen_start) {
          const std::int64_t restart = event.step;
          kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Event& e) { return e.step >= restart; }),
                     kept.end());
        }
        seen_start = true;
      }
      if (!event.values.empty()) kept.push_back(std::move(event));
    }
  }
  return kept;
}

std::map<std::string, std::vector<ScalarPoint>> read_run_scalars(const std::string& dir) {
  std::map<std::string, std::vector<ScalarPoint>> series;
  for (const auto& event : read_run_events(dir))
    for (const auto& value : event.values)
      if (value.simple_value) series[value.tag].push_back({event.step, *value.simple_value});
  return series;
}

}  // namespace sori
