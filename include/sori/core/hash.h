// FNV-1a, 64 bit: the ranks' fingerprint of their training data, and the checksum of checkpoints
// written before 2026-12-03 (newer ones use CRC-32C, core/crc32c.h).
// Not cryptographic; stable across platforms and toolchains (part of the checkpoint format).
#pragma once

#include <cstddef>
#include <cstdint>

namespace sori {

constexpr std::uint64_t kFnv1a64Offset = 0xcbf29ce484222325ULL;

// `h` continues a previous hash (kFnv1a64Offset starts one).
inline std::uint64_t fnv1a64(const void* data, std::size_t n, std::uint64_t h = kFnv1a64Offset) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) {
    h ^= bytes[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace sori
