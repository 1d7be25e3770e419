#include "event_proto.h"

#include <cstring>

#include "sori/core/crc32c.h"
#include "sori/core/error.h"
#include "sori/train/event_file.h"

namespace sori {

std::uint32_t masked_crc32c(const void* data, std::size_t n) {
  const std::uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

namespace event_proto {

namespace {

void put_key(std::string& out, int field, WireType type) {
  put_varint(out, (static_cast<std::uint64_t>(field) << 3) | type);
}

}  // namespace

// ---- encoding ----

void put_fixed(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_varint_field(std::string& out, int field, std::uint64_t v) {
  if (v == 0) return;
  put_key(out, field, kVarint);
  put_varint(out, v);
}

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

void put_float_field(std::string& out, int field, float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  put_key(out, field, kFixed32);
  put_fixed(out, bits, 4);
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

// ---- decoding ----

std::uint64_t load_fixed(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::pair<int, int> WireReader::key() {
  const std::uint64_t k = varint();
  const std::uint64_t number = k >> 3;
  if (number < 1 || number > 0x1fffffff)
    fail("a protobuf field number in 1..2^29-1, found " + std::to_string(number));
  return {static_cast<int>(number), static_cast<int>(k & 7)};
}

std::uint64_t WireReader::varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    need(1, "a varint");
    const auto byte = static_cast<unsigned char>(*p_++);
    v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
  fail("a varint of at most 10 bytes, found a longer one");
}

std::uint64_t WireReader::fixed(int bytes) {
  need(static_cast<std::size_t>(bytes), bytes == 8 ? "a fixed64" : "a fixed32");
  const std::uint64_t v = load_fixed(p_, bytes);
  p_ += bytes;
  return v;
}

std::string_view WireReader::bytes() {
  const std::uint64_t n = varint();
  need(n, "a length-delimited field");
  const std::string_view v(p_, static_cast<std::size_t>(n));
  p_ += n;
  return v;
}

double WireReader::f64() {
  const std::uint64_t bits = fixed(8);
  double v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

float WireReader::f32() {
  const auto bits = static_cast<std::uint32_t>(fixed(4));
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

void WireReader::skip(int wire_type) {
  switch (wire_type) {
    case kVarint: varint(); return;
    case kFixed64: fixed(8); return;
    case kLengthDelimited: bytes(); return;
    case kFixed32: fixed(4); return;
    default: fail("a protobuf wire type of 0, 1, 2 or 5, found " + std::to_string(wire_type));
  }
}

void WireReader::need(std::uint64_t n, const char* what) {
  if (static_cast<std::uint64_t>(end_ - p_) < n) fail(std::string(what) + ", found the message's end");
}

void WireReader::fail(const std::string& what) const {
  SORI_FAIL("event file ", path_, ": record at byte offset ", offset_, ": expected ", what,
            " (a corrupt record with a valid CRC: written by a broken writer)");
}

}  // namespace event_proto

}  // namespace sori
