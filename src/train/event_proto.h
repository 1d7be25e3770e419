// The wire level of TensorBoard event files, shared by their writer and reader: the field numbers
// of the messages, protobuf encoding, a bounds-checked protobuf decoder and TFRecord framing.
// The file format and the messages are stated in include/sori/train/event_file.h (which also
// declares masked_crc32c). Private to src/train.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace sori::event_proto {

constexpr int kDtString = 7;  // types.proto DataType.DT_STRING

// Field numbers (see event_file.h for the messages).
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

// ---- encoding: each put_* appends to `out` ----

void put_fixed(std::string& out, std::uint64_t v, int bytes);  // little-endian
void put_varint(std::string& out, std::uint64_t v);
// Left out when 0 (the proto3 default).
void put_varint_field(std::string& out, int field, std::uint64_t v);
// Written even when empty: callers skip empty proto3 strings themselves, while an empty
// submessage or oneof member is present and means something (a tensor's shape []).
void put_bytes_field(std::string& out, int field, std::string_view bytes);
// Left out when 0 (the proto3 default).
void put_double_field(std::string& out, int field, double v);
// Always written, 0 included: simple_value is a oneof member, whose presence proto3 keeps (a
// Value without it holds no value at all).
void put_float_field(std::string& out, int field, float v);

// `data` framed as one TFRecord: length, its masked CRC, the data, the data's masked CRC.
std::string record_of(const std::string& data);

// ---- decoding ----

// The little-endian integer in p[0..bytes).
std::uint64_t load_fixed(const char* p, int bytes);

// Reads one message's bytes, never past their end; every error is a sori::Error naming the file
// and the byte offset of the record holding the message. `path` must outlive the reader.
class WireReader {
 public:
  WireReader(std::string_view bytes, const std::string& path, std::uint64_t record_offset)
      : p_(bytes.data()), end_(bytes.data() + bytes.size()), path_(path), offset_(record_offset) {}

  bool done() const { return p_ == end_; }

  // The next field's number and wire type.
  std::pair<int, int> key();
  std::uint64_t varint();
  std::uint64_t fixed(int bytes);
  std::string_view bytes();  // a length-delimited field's contents
  double f64();
  float f32();
  // A field of a wire type the caller did not expect for its number is skipped as unknown, as
  // protobuf does; only the deprecated groups (3, 4) and invalid types (6, 7) are refused.
  void skip(int wire_type);

  // A reader of a submessage's bytes, whose errors name the same record.
  WireReader sub(std::string_view bytes) const { return WireReader(bytes, path_, offset_); }

 private:
  void need(std::uint64_t n, const char* what);
  [[noreturn]] void fail(const std::string& what) const;

  const char* p_;
  const char* end_;
  const std::string& path_;
  std::uint64_t offset_;
};

}  // namespace sori::event_proto
