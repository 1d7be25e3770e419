// Every committed fuzz input (tests/fuzz/corpus/<target>/, seeds and the crashes scripts/fuzz.sh
// found) runs through its target here: a refusal is fine, anything else fails the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "fuzz/fuzz_targets.h"

namespace fs = std::filesystem;

TEST(FuzzCorpora, EveryCommittedInputIsAcceptedOrRefusedCleanly) {
  std::size_t inputs = 0;
  for (const auto& target : sori::fuzz::all_targets()) {
    const auto dir = fs::path(SORI_SOURCE_DIR) / "tests/fuzz/corpus" / target.name;
    ASSERT_TRUE(fs::is_directory(dir)) << "no corpus for fuzz target " << target.name << " in " << dir;
    std::size_t here = 0;
    for (const auto& f : fs::directory_iterator(dir)) {
      std::ifstream in(f.path(), std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      SCOPED_TRACE(f.path().string());
      EXPECT_NO_THROW(target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      ++here;
    }
    EXPECT_GT(here, 0u) << "empty corpus for " << target.name;
    inputs += here;
  }
  RecordProperty("inputs", static_cast<int>(inputs));
}
