#include "net/curve.h"

#include <zmq.h>

#include <cerrno>

namespace granary::net {

Result<CurveKeyPair> GenerateCurveKeyPair() {
  char public_key[kCurveKeyZ85Bytes + 1] = {};
  char secret_key[kCurveKeyZ85Bytes + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0) {
    return Status(StatusCode::kUnimplemented,
                  std::string("zmq_curve_keypair: ") + zmq_strerror(errno));
  }
  return CurveKeyPair{public_key, secret_key};
}

Result<std::string> DecodeCurveKey(std::string_view z85) {
  if (z85.size() != kCurveKeyZ85Bytes) {
    return Status(StatusCode::kInvalidArgument, "a CURVE key is 40 Z85 characters");
  }
  const std::string text(z85);
  std::string raw(kCurveKeyBytes, '\0');
  if (zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), text.c_str()) == nullptr) {
    return Status(StatusCode::kInvalidArgument, "not a Z85 CURVE key");
  }
  return raw;
}

}  // namespace granary::net
