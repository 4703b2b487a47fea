// Block access tokens (DESIGN.md §9, issue #17): what the namenode allows a user to do with
// one block, MACed with a key it shares with the datanodes, which check it before serving.
//
// A token is opaque bytes to clients. Its layout (all integers little endian):
//   u8  version (2)          u32 key id          u64 block id        u64 generation stamp
//   u8  mode (BlockAccess)   i64 expiry (ns on the namenode's Env clock)
//   u8  user bytes, then the user (1..kNameBytesMax bytes)
//   32  MAC: keyed BLAKE2b-256 (libsodium crypto_generichash) of every byte before it, with the
//       key named by the key id
// so a token is at most kBlockTokenBytesMax bytes. Parsing checks the layout only;
// verification (BlockTokenVerifier) checks the MAC in constant time, then the key's and the
// token's expiry against the verifier's clock, then block, stamp and mode.
//
// Keys: the namenode rolls a key every roll interval (block_keys.h) and hands the keys alive
// to datanodes in heartbeat replies; a key stays valid for a grace period after it stops
// signing, so tokens signed just before a roll still verify. Pure computation: time comes
// from the caller (Env), so the simulator replays it exactly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"

namespace granary {

enum class BlockAccess : uint8_t { kRead = 1, kWrite = 2, kReplicate = 3 };

inline constexpr size_t kBlockKeyBytes = 32;
inline constexpr size_t kBlockTokenMacBytes = 32;
inline constexpr size_t kBlockTokenFixedBytes = 1 + 4 + 8 + 8 + 1 + 8 + 1;
inline constexpr size_t kBlockTokenBytesMax =
    kBlockTokenFixedBytes + kNameBytesMax + kBlockTokenMacBytes;

struct BlockTokenFields {
  uint32_t key_id = 0;
  uint64_t block_id = 0;
  uint64_t generation_stamp = 0;
  BlockAccess mode = BlockAccess::kRead;
  Instant expiry;
  std::string user;
};

// One MAC key: its id, 32 bytes, and the instant after which no token signed with it verifies.
struct BlockKey {
  uint32_t key_id = 0;
  std::string bytes;
  Instant expiry;
};

// The token for `fields`, MACed with `key` (whose id it records). Requires key.bytes of
// kBlockKeyBytes and a user of 1..kNameBytesMax bytes.
std::string SignBlockToken(const BlockTokenFields& fields, const BlockKey& key);

// The fields of `token` (MAC not checked); kInvalidArgument when it is not a token.
Result<BlockTokenFields> ParseBlockToken(std::string_view token);

const char* BlockAccessName(BlockAccess mode);

// Verify's refusal of an expired token (kStale, message starting so): the caller fetches a
// fresh token and tries again.
inline constexpr std::string_view kBlockTokenExpired = "block access token expired";
inline bool IsExpiredBlockToken(const Status& status) {
  return status.code() == StatusCode::kStale &&
         status.message().find(kBlockTokenExpired) != std::string::npos;
}

// A datanode's side: the keys it was handed, and the check of one request's token.
class BlockTokenVerifier {
 public:
  // Replaces the key set (a heartbeat reply lists every key alive). At most
  // kBlockKeysMax keys; keys of the wrong size are ignored.
  void SetKeys(const std::map<uint32_t, BlockKey>& keys);
  size_t keys() const { return keys_.size(); }

  // Ok when `token` is MACed with a known, unexpired key, has not expired at `now`, and
  // names `block_id` at `generation_stamp` (0: any stamp; the datanode passes 0, since a
  // pipeline recovery or an append restamps a block under a writer's token) and `mode` (a
  // write token also allows reads). Otherwise kPermissionDenied saying why ("no block access
  // token", "forged", "for block X, not Y", ...), or kStale for an expired token or key, so
  // that a client knows to fetch a fresh one.
  Status Verify(std::string_view token, uint64_t block_id, uint64_t generation_stamp,
                BlockAccess mode, Instant now) const;

 private:
  std::map<uint32_t, BlockKey> keys_;
};

}  // namespace granary
