// TensorBoard event files, written and read natively (no protobuf library, no Python).
//
// File format (TFRecord framing of serialized `tensorboard.Event` protobufs), one record after
// another, all integers little-endian:
//   uint64 length | uint32 masked_crc32c(length bytes) | data[length] | uint32 masked_crc32c(data)
// masked_crc32c(x) = ((c >> 15) | (c << 17)) + 0xa282ead8 with c = CRC-32C (Castagnoli) of x.
//
// The messages, with the field numbers of TensorBoard's event.proto / summary.proto / tensor.proto:
//   Event           { double wall_time = 1; int64 step = 2; oneof { string file_version = 3;
//                     Summary summary = 5; SessionLog session_log = 7; } }
//   Summary         { repeated Value value = 1; }
//   Value           { string tag = 1; oneof { float simple_value = 2; TensorProto tensor = 8; }
//                     SummaryMetadata metadata = 9; }
//   SummaryMetadata { PluginData plugin_data = 1; }  PluginData { string plugin_name = 1; bytes content = 2; }
//   TensorProto     { DataType dtype = 1 (DT_STRING = 7); TensorShapeProto tensor_shape = 2;
//                     repeated bytes string_val = 8; }
//   SessionLog      { SessionStatus status = 1 (START = 1); string checkpoint_path = 2; string msg = 3; }
// (session_log is 7: 6 is the deprecated log_message.) We write fields in field-number order and
// leave proto3 defaults out, which is how protobuf itself serializes, so our bytes equal
// protobuf's for the same message.
//
// Restarts: TensorBoard reads every event file of a run directory in name order. Its Python loader
// (`--load_fast=false`) drops, on every SessionLog START after the run's first, the events it has
// already read at steps >= that START's step; its Rust data server ignores SessionLog and instead
// drops, per tag, the points at steps >= a step that comes again. docs/TENSORBOARD.md says more.
//
// Sources: src/train/event_file_writer.cpp, src/train/event_file_reader.cpp, and the wire level
// both share (CRC-32C, protobuf encoding and decoding, TFRecord framing) in src/train/event_proto.*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sori {

// How the name of every event file we write begins (TensorBoard's own writers' prefix).
inline constexpr char kEventFilePrefix[] = "events.out.tfevents.";

// The TFRecord checksum: the CRC rotated and offset, because a plain CRC of bytes that embed
// their own CRCs is weak (LevelDB's reason, which TFRecord kept).
std::uint32_t masked_crc32c(const void* data, std::size_t n);

// Appends events to a new file `<dir>/<kEventFilePrefix><seconds>.<hostname>.<pid>.<n>` (n
// counts the writers this process opened). <seconds> is the current Unix time, zero-padded to 10
// digits, or one more than the newest event file already in `dir` when that is not earlier, so
// that name order is start order even when a killed run restarts within the same second.
// The first record is Event{wall_time, file_version: "brain.Event:2"}.
//
// Every method writes its whole record with one write() (continued only after a short write)
// before it returns, with no buffering: the record is visible to readers at once and a kill -9
// leaves at most one torn record, at the end.
// A failed write truncates the file back to its last whole record before throwing, so what
// follows never lands behind a torn record. Not thread-safe: one writer, one thread (rank 0).
class EventFileWriter {
 public:
  // Creates `dir` as needed; a sori::Error names the path when the directory or file cannot be made.
  explicit EventFileWriter(const std::string& dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  const std::string& path() const { return path_; }

  // SessionLog START at the first step this process will log: TensorBoard's Python loader then
  // drops what an earlier (killed) process of the run logged at steps >= `step`.
  void session_start(std::int64_t step);
  // Scalars are stored as float32 (Value.simple_value), as TensorBoard plots them.
  void scalar(const std::string& tag, std::int64_t step, double value);
  // One Event holding every value, in tag order.
  void scalars(std::int64_t step, const std::map<std::string, double>& values);
  // A DT_STRING scalar tensor (shape []) with plugin_name "text": TensorBoard's text plugin
  // renders it as Markdown.
  void text(const std::string& tag, std::int64_t step, const std::string& markdown);
  // fdatasync: the records written so far survive a machine crash too (a killed process loses
  // nothing without it).
  void flush();

 private:
  void append(const std::string& event);

  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes of whole records in the file
};

// SessionLog.status values (event.proto's SessionLog.SessionStatus).
constexpr int kSessionStatusNone = 0;
constexpr int kSessionStatusStart = 1;

// One Summary.Value as decoded. Values of other kinds (images, histograms, non-string tensors)
// keep their tag and plugin name and have neither simple_value nor text.
struct EventValue {
  std::string tag;
  std::string plugin_name;  // metadata.plugin_data.plugin_name; empty when absent
  std::optional<float> simple_value;
  std::optional<std::string> text;  // string_val[0] of a DT_STRING tensor
};

struct Event {
  std::uint64_t offset = 0;  // of its record in the file
  double wall_time = 0;
  std::int64_t step = 0;
  std::string file_version;  // set in a file's first event only
  int session_status = kSessionStatusNone;
  std::vector<EventValue> values;  // the Summary, if any
};

struct EventFileContents {
  std::vector<Event> events;
  // Bytes after the last whole record: a record cut short by a killed writer (0 when none).
  std::uint64_t torn_tail_bytes = 0;
};

// Verifies both CRCs of every record. A record cut short at the end of the file (in its length,
// its CRCs or its data) is reported in torn_tail_bytes; a CRC mismatch or a malformed message
// anywhere is a sori::Error naming the file and the record's byte offset. Unknown fields are
// skipped by wire type, so files of TensorFlow's and PyTorch's writers read too.
EventFileContents read_event_file(const std::string& path);

// The summary events of a run directory as TensorBoard's Python loader keeps them: every file
// whose name contains "tfevents", in name order; a SessionLog START other than the run's first
// drops the events read so far at steps >= its step. (Only the SessionLog rule: the loader's
// fallback for files without file_version 2, out-of-order steps, is not modelled.)
std::vector<Event> read_run_events(const std::string& dir);

struct ScalarPoint {
  std::int64_t step;
  float value;
  friend bool operator==(const ScalarPoint& a, const ScalarPoint& b) {
    return a.step == b.step && a.value == b.value;
  }
};
// read_run_events' simple values by tag, in the order read.
std::map<std::string, std::vector<ScalarPoint>> read_run_scalars(const std::string& dir);

}  // namespace sori
