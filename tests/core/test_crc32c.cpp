// CRC-32C: the standard test vectors, and the CPU's crc32 instruction (where the machine has it)
// against the portable tables on every length and alignment around their 8-byte steps.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sori/core/crc32c.h"

using namespace sori;

TEST(Crc32c, MatchesTheStandardTestVectors) {
  for (const auto f : {&crc32c, &crc32c_portable}) {
    EXPECT_EQ(f("123456789", 9, 0), 0xE3069283u);
    EXPECT_EQ(f("", 0, 0), 0u);
    const std::string zeros(32, '\0'), ones(32, '\xff');
    EXPECT_EQ(f(zeros.data(), zeros.size(), 0), 0x8A9136AAu);  // RFC 3720 B.4
    EXPECT_EQ(f(ones.data(), ones.size(), 0), 0x62A8AB43u);
    std::string ascending(32, '\0');
    for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
    EXPECT_EQ(f(ascending.data(), ascending.size(), 0), 0x46DD794Eu);
    std::string descending(32, '\0');
    for (int i = 0; i < 32; ++i) descending[i] = static_cast<char>(31 - i);
    EXPECT_EQ(f(descending.data(), descending.size(), 0), 0x113FDB5Cu);
  }
}

TEST(Crc32c, EveryPathGivesTheSameValueAndContinues) {
  std::string data(300, '\0');
  std::uint32_t x = 12345;
  for (auto& c : data) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
  for (std::size_t offset = 0; offset < 9; ++offset)
    for (std::size_t n = 0; offset + n <= data.size(); n += (n < 40 ? 1 : 37)) {
      const auto* p = data.data() + offset;
      const auto whole = crc32c(p, n);
      ASSERT_EQ(whole, crc32c_portable(p, n)) << "offset " << offset << ", " << n << " bytes";
      for (std::size_t cut : {std::size_t{0}, n / 3, n})
        ASSERT_EQ(crc32c(p + cut, n - cut, crc32c(p, cut)), whole) << "continued at " << cut << " of " << n;
    }
}
