// libFuzzer's entry point for one target, chosen at compile time (-DSORI_FUZZ_TARGET=name).
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sori::fuzz::SORI_FUZZ_TARGET(data, size);
  return 0;
}
