#include "sori/core/pickle_scan.h"

#include <cstdint>
#include <cstring>

#include "sori/core/error.h"

namespace sori {

namespace {

// How an opcode's argument is laid out after it.
enum class Arg { None, Fixed, Line, TwoLines, Counted };

struct OpcodeArg {
  Arg kind;
  std::size_t bytes;  // Fixed: the argument's size; Counted: the size of its little-endian length
};

OpcodeArg argument_of(unsigned char op) {
  switch (op) {
    // No argument: stack and container operations.
    case '(': case '.': case '0': case '1': case '2': case 'N': case 'Q': case 'R': case 'a': case 'b': case 'd':
    case '}': case 'e': case 'l': case ']': case 'o': case 's': case 't': case ')': case 'u': case 0x81: case 0x85:
    case 0x86: case 0x87: case 0x88: case 0x89: case 0x8f: case 0x90: case 0x91: case 0x92: case 0x93: case 0x94:
    case 0x97: case 0x98:
      return {Arg::None, 0};
    case 'K': case 'h': case 'q': case 0x80: case 0x82: return {Arg::Fixed, 1};
    case 'M': case 0x83: return {Arg::Fixed, 2};
    case 'J': case 'j': case 'r': case 0x84: return {Arg::Fixed, 4};
    case 'G': case 0x95: return {Arg::Fixed, 8};
    case 'F': case 'I': case 'L': case 'P': case 'S': case 'V': case 'g': case 'p': return {Arg::Line, 0};
    case 'c': case 'i': return {Arg::TwoLines, 0};
    case 'U': case 'C': case 0x8c: case 0x8a: return {Arg::Counted, 1};
    case 'T': case 'X': case 'B': case 0x8b: return {Arg::Counted, 4};
    case 0x8d: case 0x8e: case 0x96: return {Arg::Counted, 8};
    default: return {Arg::None, ~std::size_t{0}};  // unknown
  }
}

}  // namespace

void check_pickle_lengths(const char* data, std::size_t size, const std::string& source) {
  std::size_t at = 0;
  auto need = [&](std::size_t n, unsigned char op, std::size_t where) {
    SORI_CHECK(n <= size - at, source, ": pickle opcode 0x", std::hex, static_cast<int>(op), std::dec, " at byte ",
               where, " declares ", n, " bytes, but only ", size - at, " are left (corrupt or crafted payload)");
  };
  auto skip_line = [&](unsigned char op, std::size_t where) {
    const void* end = std::memchr(data + at, '\n', size - at);
    SORI_CHECK(end != nullptr, source, ": pickle opcode 0x", std::hex, static_cast<int>(op), std::dec, " at byte ", where,
               " has no end of line");
    at = static_cast<std::size_t>(static_cast<const char*>(end) - data) + 1;
  };
  while (at < size) {
    const std::size_t where = at;
    const auto op = static_cast<unsigned char>(data[at++]);
    if (op == '.') return;  // STOP
    const auto arg = argument_of(op);
    switch (arg.kind) {
      case Arg::None:
        SORI_CHECK(arg.bytes == 0, source, ": unknown pickle opcode 0x", std::hex, static_cast<int>(op), std::dec,
                   " at byte ", where);
        break;
      case Arg::Fixed:
        need(arg.bytes, op, where);
        at += arg.bytes;
        break;
      case Arg::Line:
        skip_line(op, where);
        break;
      case Arg::TwoLines:
        skip_line(op, where);
        skip_line(op, where);
        break;
      case Arg::Counted: {
        need(arg.bytes, op, where);
        std::uint64_t n = 0;
        std::memcpy(&n, data + at, arg.bytes);  // little-endian, as x86 and aarch64 are
        at += arg.bytes;
        need(n, op, where);
        at += n;
        break;
      }
    }
  }
  SORI_FAIL(source, ": pickle ends without STOP after ", size, " bytes (truncated payload)");
}

}  // namespace sori
