// The namenode's block token keys (block_token.h): makes the signing key, rolls it on a
// schedule, issues tokens, and lists the keys alive for the datanodes' heartbeat replies.
//
// Rolling is lazy and driven by the Env's calendar clock: the first call at or after a roll
// instant makes the next key sign. Each key is made, and listed for the datanodes, one roll
// interval before it signs, so that a datanode knows a key before any token uses it (it
// learns keys from heartbeat replies: a datanode that just registered accepts tokens from
// its first heartbeat on). A key signs for `key_roll_interval`, then still verifies for
// `token_lifetime + key_grace` (every token it signed has expired by then, and a datanode
// that missed a heartbeat or two still knows it). Key ids count from 1.
//
// Key material comes from options.random_bytes (the tools pass libsodium's randombytes_buf);
// without it, from the Env's seeded generator, which is deterministic and so only for the
// simulator. The generator is not touched while tokens are off.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/security/block_token.h"

namespace granary {

struct BlockTokenOptions {
  // Off: the namenode issues no tokens and hands out no keys; datanodes check nothing.
  bool enabled = false;
  // A writer whose token expires mid-block gets a fresh one with a new generation stamp
  // (nn.BumpGeneration, as a pipeline recovery that drops no datanode).
  Duration token_lifetime = std::chrono::hours(1);
  Duration key_roll_interval = std::chrono::hours(1);
  Duration key_grace = std::chrono::minutes(10);
  std::function<void(uint8_t* out, size_t bytes)> random_bytes;
};

class BlockKeyManager {
 public:
  BlockKeyManager(Env& env, BlockTokenOptions options);

  bool enabled() const { return options_.enabled; }
  const BlockTokenOptions& options() const { return options_; }

  // A token for `user` to access the block in `mode` until now + token_lifetime; empty when
  // tokens are off.
  std::string Issue(uint64_t block_id, uint64_t generation_stamp, BlockAccess mode,
                    const std::string& user);
  // The keys that still verify (the signing key among them), by id; empty when off.
  std::map<uint32_t, BlockKey> LiveKeys();

 private:
  // Makes the first key, or the next when the current one has signed long enough; forgets
  // the expired ones.
  void Roll();
  BlockKey MakeKey(uint32_t key_id, Instant now);
  // Calendar time (Env::CalendarNanos): datanodes compare expiries with their own calendar
  // clock, so the cluster's clocks must agree to well within the token lifetime (NTP).
  Instant Now();

  Env& env_;
  const BlockTokenOptions options_;
  std::map<uint32_t, BlockKey> keys_;
  uint32_t current_ = 0;  // 0: none yet
  Instant current_since_;
};

}  // namespace granary
