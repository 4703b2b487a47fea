#include "core/common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace granary {
namespace {

TEST(Crc32cTest, KnownVectors) {
  // RFC 3720 (iSCSI) appendix B.4 test vectors.
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(""), 0u);
}

TEST(Crc32cTest, ExtendsAcrossPieces) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7));
  for (size_t cut : {0u, 1u, 7u, 8u, 9u, 500u, 999u}) {
    const uint32_t first = Crc32c(std::string_view(data).substr(0, cut));
    EXPECT_EQ(Crc32c(std::string_view(data).substr(cut), first), Crc32c(data)) << cut;
  }
}

// Long inputs go three stripes at a time (crc32c.cc: 2 KiB stripes, then 256-byte ones for
// what is left, e.g. a 4 KiB record): the same values as byte at a time.
TEST(Crc32cTest, StripedMatchesBytewiseOnLongInputs) {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 3 * 65536 + 77; ++i) {
    x = x * 1103515245u + 12345u;
    data.push_back(static_cast<char>(x >> 16));
  }
  for (size_t length : {767u, 768u, 769u, 1536u + 9u, 4096u, 4096u + 16u, 6143u, 6144u, 6145u,
                        6144u + 768u + 5u, 12288u, 65536u, 65536u + 13u, 3u * 65536u + 77u}) {
    const std::string_view part = std::string_view(data).substr(0, length);
    uint32_t bytewise = 0;
    for (char c : part) bytewise = Crc32c(std::string_view(&c, 1), bytewise);
    EXPECT_EQ(Crc32c(part), bytewise) << length;
    EXPECT_EQ(Crc32c(part.substr(100), Crc32c(part.substr(0, 100))), bytewise) << length;
  }
}

TEST(Crc32cTest, MaskMatchesTfRecordDefinition) {
  const uint32_t crc = Crc32c("abc");
  EXPECT_EQ(MaskCrc32c(crc), ((crc >> 15) | (crc << 17)) + 0xa282ead8u);
}

}  // namespace
}  // namespace granary
