// CURVE keys for the ZeroMQ transport (DESIGN.md §9).
//
// Keys travel in configuration as Z85 text (40 characters for 32 bytes), as ZeroMQ prints
// them; they are checked and decoded once, when a transport is created.
#pragma once

#include <string>
#include <string_view>

#include "core/common/status.h"

namespace granary::net {

inline constexpr size_t kCurveKeyZ85Bytes = 40;
inline constexpr size_t kCurveKeyBytes = 32;

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85
};

// A fresh key pair from libsodium (through zmq_curve_keypair).
Result<CurveKeyPair> GenerateCurveKeyPair();

// The 32 raw bytes of a Z85 key; kInvalidArgument when `z85` is not one.
Result<std::string> DecodeCurveKey(std::string_view z85);

}  // namespace granary::net
