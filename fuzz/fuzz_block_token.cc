// libFuzzer target: block access token parsing and verification (core/security/block_token.h)
// on arbitrary bytes. Checks: parsing never crashes; a token that parses re-signs to a token
// that parses back to the same fields; a token verifies under the fuzzer's key only when it
// is byte for byte the one SignBlockToken makes for its fields (no forgery verifies), and
// never under another key. Input: the token itself. The committed corpus holds tokens signed
// with the key below (32 bytes of 'k').
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/security/block_token.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    __builtin_trap();
  }
  (void)what;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace granary;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  Result<BlockTokenFields> fields = ParseBlockToken(token);
  const BlockKey key{fields.ok() ? fields->key_id : 1, std::string(kBlockKeyBytes, 'k'),
                     kInstantMax};
  BlockTokenVerifier verifier;
  verifier.SetKeys({{key.key_id, key}});
  if (!fields.ok()) {
    Require(!verifier.Verify(token, 1, 0, BlockAccess::kRead, Instant{}).ok(),
            "a token that does not parse verified");
    return 0;
  }
  const std::string signed_again = SignBlockToken(*fields, key);
  Result<BlockTokenFields> again = ParseBlockToken(signed_again);
  Require(again.ok(), "a re-signed token does not parse");
  Require(again->block_id == fields->block_id && again->user == fields->user &&
              again->expiry == fields->expiry && again->mode == fields->mode &&
              again->generation_stamp == fields->generation_stamp,
          "re-signing changed the fields");
  const Instant now = fields->expiry;  // the last instant the token is valid
  const bool verified =
      verifier.Verify(token, fields->block_id, fields->generation_stamp, fields->mode, now).ok();
  Require(verified == (signed_again == token), "verification disagrees with the MAC");
  BlockTokenVerifier other;
  other.SetKeys(
      {{key.key_id, BlockKey{key.key_id, std::string(kBlockKeyBytes, 'o'), kInstantMax}}});
  Require(!other.Verify(token, fields->block_id, fields->generation_stamp, fields->mode, now).ok(),
          "a token verified under another key");
  return 0;
}
