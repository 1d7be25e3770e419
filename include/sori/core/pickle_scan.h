// A walk over a pickle's opcodes that checks every length its arguments declare against the
// bytes that are left, before LibTorch's unpickler sees it: that unpickler allocates (and
// zero-fills) whatever length a string or bytes opcode declares, so a 200 kB checkpoint payload
// declaring a 3.5 GB string took 3.7 GB of memory before failing (fuzz_checkpoint, an OOM).
// Knows every opcode of pickle protocols 0-5; torch's pickler uses a subset of them.
#pragma once

#include <cstddef>
#include <string>

namespace sori {

// Throws sori::Error naming `source`, the byte offset and the opcode when an argument runs past
// the end, an opcode is unknown, or STOP is missing. Says nothing about the pickle's meaning.
void check_pickle_lengths(const char* data, std::size_t size, const std::string& source);

}  // namespace sori
