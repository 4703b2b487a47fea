#include "core/security/block_keys.h"

#include <cassert>

#include "core/common/random.h"

namespace granary {

BlockKeyManager::BlockKeyManager(Env& env, BlockTokenOptions options)
    : env_(env), options_(std::move(options)) {
  assert(options_.key_roll_interval > Duration(0));
  assert(options_.token_lifetime > Duration(0));
}

Instant BlockKeyManager::Now() { return InstantFromNanos(env_.CalendarNanos()); }

BlockKey BlockKeyManager::MakeKey(uint32_t key_id, Instant now) {
  BlockKey key;
  key.key_id = key_id;
  key.bytes.resize(kBlockKeyBytes);
  auto* out = reinterpret_cast<uint8_t*>(key.bytes.data());
  if (options_.random_bytes) {
    options_.random_bytes(out, kBlockKeyBytes);
  } else {
    for (size_t i = 0; i < kBlockKeyBytes; i += 8) {
      const uint64_t word = env_.random().Next();
      for (size_t j = 0; j < 8; ++j) out[i + j] = static_cast<uint8_t>(word >> (8 * j));
    }
  }
  // Until it signs; set again when it does.
  key.expiry = now + 2 * options_.key_roll_interval + options_.token_lifetime + options_.key_grace;
  return key;
}

void BlockKeyManager::Roll() {
  const Instant now = Now();
  if (current_ == 0 || now - current_since_ >= options_.key_roll_interval) {
    // The next key is made (and listed for the datanodes) one roll interval before it signs.
    if (current_ == 0) keys_[1] = MakeKey(1, now);
    current_ += 1;
    current_since_ = now;
    keys_.at(current_).expiry =
        now + options_.key_roll_interval + options_.token_lifetime + options_.key_grace;
    keys_[current_ + 1] = MakeKey(current_ + 1, now);
  }
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = now > it->second.expiry ? keys_.erase(it) : std::next(it);
  }
  // The oldest go first should a roll interval be far shorter than the grace.
  while (keys_.size() > kBlockKeysMax) keys_.erase(keys_.begin());
}

std::string BlockKeyManager::Issue(uint64_t block_id, uint64_t generation_stamp, BlockAccess mode,
                                   const std::string& user) {
  if (!options_.enabled) return std::string();
  Roll();
  BlockTokenFields fields;
  fields.block_id = block_id;
  fields.generation_stamp = generation_stamp;
  fields.mode = mode;
  fields.expiry = Now() + options_.token_lifetime;
  fields.user = user;
  return SignBlockToken(fields, keys_.at(current_));
}

std::map<uint32_t, BlockKey> BlockKeyManager::LiveKeys() {
  if (!options_.enabled) return {};
  Roll();
  return keys_;
}

}  // namespace granary
