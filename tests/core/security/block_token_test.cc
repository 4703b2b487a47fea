#include "core/security/block_token.h"

#include <gtest/gtest.h>

namespace granary {
namespace {

BlockKey Key(uint32_t id, char fill, Instant expiry = kInstantMax) {
  return BlockKey{id, std::string(kBlockKeyBytes, fill), expiry};
}

BlockTokenFields Fields(uint64_t block, BlockAccess mode = BlockAccess::kRead) {
  BlockTokenFields fields;
  fields.key_id = 3;
  fields.block_id = block;
  fields.generation_stamp = 1001;
  fields.mode = mode;
  fields.expiry = InstantFromNanos(5'000'000'000);
  fields.user = "alice";
  return fields;
}

TEST(BlockToken, SignsAndParsesBack) {
  const std::string token = SignBlockToken(Fields(42, BlockAccess::kWrite), Key(3, 'k'));
  EXPECT_LE(token.size(), kBlockTokenBytesMax);
  Result<BlockTokenFields> fields = ParseBlockToken(token);
  ASSERT_TRUE(fields.ok()) << fields.status().ToString();
  EXPECT_EQ(fields->key_id, 3u);
  EXPECT_EQ(fields->block_id, 42u);
  EXPECT_EQ(fields->generation_stamp, 1001u);
  EXPECT_EQ(fields->mode, BlockAccess::kWrite);
  EXPECT_EQ(fields->expiry, InstantFromNanos(5'000'000'000));
  EXPECT_EQ(fields->user, "alice");
}

TEST(BlockToken, ParseRefusesWhatIsNotAToken) {
  const std::string token = SignBlockToken(Fields(42), Key(3, 'k'));
  EXPECT_FALSE(ParseBlockToken("").ok());
  EXPECT_FALSE(ParseBlockToken(token.substr(0, token.size() - 1)).ok());
  EXPECT_FALSE(ParseBlockToken(token + "x").ok());
  std::string version = token;
  version[0] = 1;  // version 1 was MACed with HMAC-SHA-512-256: not a token any more
  EXPECT_FALSE(ParseBlockToken(version).ok());
  version[0] = 3;
  EXPECT_FALSE(ParseBlockToken(version).ok());
  std::string mode = token;
  mode[21] = 9;
  EXPECT_FALSE(ParseBlockToken(mode).ok());
}

TEST(BlockToken, VerifierAcceptsOnlyTheRightToken) {
  BlockTokenVerifier verifier;
  verifier.SetKeys({{3, Key(3, 'k')}});
  const Instant now = InstantFromNanos(2'000'000'000);
  const std::string token = SignBlockToken(Fields(42), Key(3, 'k'));
  EXPECT_TRUE(verifier.Verify(token, 42, 1001, BlockAccess::kRead, now).ok());
  EXPECT_TRUE(verifier.Verify(token, 42, 0, BlockAccess::kRead, now).ok());

  const auto code = [&](std::string_view t, uint64_t block, uint64_t stamp, BlockAccess mode,
                        Instant at) { return verifier.Verify(t, block, stamp, mode, at).code(); };
  EXPECT_EQ(code("", 42, 1001, BlockAccess::kRead, now), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(token, 43, 1001, BlockAccess::kRead, now), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(token, 42, 1002, BlockAccess::kRead, now), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(token, 42, 1001, BlockAccess::kWrite, now), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(token, 42, 1001, BlockAccess::kReplicate, now), StatusCode::kPermissionDenied);
  const std::string write = SignBlockToken(Fields(42, BlockAccess::kWrite), Key(3, 'k'));
  EXPECT_TRUE(verifier.Verify(write, 42, 1001, BlockAccess::kRead, now).ok());
  EXPECT_EQ(code(token, 42, 1001, BlockAccess::kRead, InstantFromNanos(6'000'000'000)),
            StatusCode::kStale);
  // Forged: any changed byte, or a token signed with a key the datanode does not hold.
  for (size_t at : {size_t{5}, size_t{21}, size_t{30}, token.size() - 1}) {
    std::string forged = token;
    forged[at] = static_cast<char>(forged[at] ^ 1);
    EXPECT_NE(code(forged, 42, 1001, BlockAccess::kRead, now), StatusCode::kOk) << at;
  }
  std::string other_block = SignBlockToken(Fields(43), Key(3, 'x'));
  other_block.replace(5, 8, token.substr(5, 8));  // claims block 42 under a wrong key
  EXPECT_EQ(code(other_block, 42, 1001, BlockAccess::kRead, now), StatusCode::kPermissionDenied);
  EXPECT_EQ(code(SignBlockToken(Fields(42), Key(9, 'k')), 42, 1001, BlockAccess::kRead, now),
            StatusCode::kPermissionDenied);
}

TEST(BlockToken, AnExpiredKeyRefusesItsTokens) {
  BlockTokenVerifier verifier;
  verifier.SetKeys({{3, Key(3, 'k', InstantFromNanos(1'500'000'000))}});
  const std::string token = SignBlockToken(Fields(42), Key(3, 'k'));
  EXPECT_EQ(
      verifier.Verify(token, 42, 1001, BlockAccess::kRead, InstantFromNanos(2'000'000'000)).code(),
      StatusCode::kStale);
}

}  // namespace
}  // namespace granary
