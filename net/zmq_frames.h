// How ZmqTransport's messages travel in ZeroMQ frames, and the socket and endpoint helpers
// its calling and serving halves share (zmq_transport.h describes the three shapes: the wire's
// three frames, one packed frame, one batch frame). Internal to net/.
#pragma once

#include <zmq.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/limits.h"
#include "core/rpc/wire.h"
#include "net/payload_pool.h"
#include "net/zmq_transport.h"

namespace granary::net {

// The packed frame's header: envelope bytes (u16 LE), body bytes (u32 LE).
inline constexpr size_t kPackedHeaderBytes = 6;

// A batch frame starts with these two bytes: as a packed header they would announce an
// envelope past kEnvelopeBytesMax, so no packed frame can start so.
inline constexpr char kBatchMagic[2] = {'\xff', '\xff'};

// Each message of a batch: its packed bytes (u32 LE), then the packed message.
inline constexpr size_t kBatchLengthBytes = 4;

std::string ZmqError(std::string_view what);

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint32_t port = 0;
  bool ipv6 = false;
};

// "host:port" or "[v6]:port", port 0..65535.
std::optional<HostPort> ParseHostPort(std::string_view text);

std::string Endpoint(const HostPort& hp, bool any_port);

bool IsLoopback(const std::string& host);

bool IsWildcard(const std::string& host);

void SetInt(void* socket, int option, int value);

void CloseSocket(void* socket);

// Sends one frame; large frames give their bytes to ZeroMQ, which frees them when sent.
// Only frames after the first of a message: those cannot meet a full queue.
int SendFrame(void* socket, std::string&& bytes, int flags);

bool ShouldPack(const rpc::WireMessage& message);

// Appends `message` packed (header, envelope, body, payload) to `out`.
void PackInto(const rpc::WireMessage& message, std::string& out);

std::string Pack(const rpc::WireMessage& message);

// Whether a batch of `bytes` and `messages` can take `message` (which ShouldPack).
bool BatchHasRoom(size_t bytes, uint32_t messages, const rpc::WireMessage& message);

// Appends `message` (which ShouldPack, and for which the batch has room) to a batch frame.
void AppendToBatch(const rpc::WireMessage& message, std::string& batch);

bool IsBatch(const char* data, size_t size);

// The parts of a packed message, viewed in the frame that holds it.
struct PackedView {
  std::string_view envelope;
  std::string_view body;
  std::string_view payload;
};

// Splits a packed frame; false when its header does not fit it or a part is past its limit.
bool UnpackView(const char* data, size_t size, PackedView& out);

bool Unpack(const char* data, size_t size, rpc::WireMessage& out);

// Calls fn(const PackedView&) for each message of a batch frame, in order. False when the
// frame is malformed (an empty batch, a length past the frame, a bad packed message, more
// than kZmqBatchMessagesMax): the messages before the fault have been delivered.
template <typename Fn>
bool ForEachBatched(std::string_view frame, Fn&& fn) {
  if (!IsBatch(frame.data(), frame.size()) || frame.size() > kZmqBatchBytesMax) return false;
  size_t at = sizeof(kBatchMagic);
  uint32_t messages = 0;
  while (at < frame.size()) {
    if (frame.size() - at < kBatchLengthBytes || ++messages > kZmqBatchMessagesMax) return false;
    size_t bytes = 0;
    for (size_t i = 0; i < kBatchLengthBytes; ++i) {
      bytes |= static_cast<size_t>(static_cast<uint8_t>(frame[at + i])) << (8 * i);
    }
    at += kBatchLengthBytes;
    if (bytes > frame.size() - at) return false;
    PackedView message;
    if (!UnpackView(frame.data() + at, bytes, message)) return false;
    fn(message);
    at += bytes;
  }
  return messages > 0;
}

// Receives the rest of a message whose first frame is `first` (on a ROUTER, `routing_id`
// given, the routing id). Three shapes are accepted after the routing id: the wire's three
// frames (envelope, body, payload), one packed frame (Pack), or one batch frame (its bytes
// are left in out.payload for ForEachBatched). False when the message had another shape or a
// part past its limit; it is consumed all the same. `shape` tells the shape; `peer_address`,
// when given, receives the connection's peer IP and `user_id` its ZAP User-Id (ZeroMQ
// metadata; empty without CURVE). A large payload frame is copied into a buffer from `pool`
// when one is given and holds one that fits (PayloadPool).
bool ReceiveMessage(void* socket, zmq_msg_t& first, std::string* routing_id, rpc::WireMessage& out,
                    MessageShape& shape, std::string* peer_address = nullptr,
                    std::string* user_id = nullptr, PayloadPool* pool = nullptr);

}  // namespace granary::net
