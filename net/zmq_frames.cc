#include "net/zmq_frames.h"

#include <cassert>
#include <cerrno>
#include <cstring>

#include "core/common/limits.h"

namespace granary::net::zmq_impl {
namespace {

void FreeString(void*, void* hint) { delete static_cast<std::string*>(hint); }

}  // namespace

std::string ZmqError(std::string_view what) {
  return std::string(what) + ": " + zmq_strerror(errno);
}

void SetInt(void* socket, int option, int value) {
  const int rc = zmq_setsockopt(socket, option, &value, sizeof(value));
  assert(rc == 0);
  (void)rc;
}

void CloseSocket(void* socket) {
  if (socket == nullptr) return;
  SetInt(socket, ZMQ_LINGER, 0);
  zmq_close(socket);
}

// Sends one frame; large frames give their bytes to ZeroMQ, which frees them when sent.
// Only frames after the first of a message: those cannot meet a full queue.
int SendFrame(void* socket, std::string&& bytes, int flags) {
  if (bytes.size() < kZmqZeroCopyFrameBytes) {
    return zmq_send(socket, bytes.data(), bytes.size(), flags);
  }
  auto* owned = new std::string(std::move(bytes));
  zmq_msg_t msg;
  zmq_msg_init_data(&msg, owned->data(), owned->size(), FreeString, owned);
  const int rc = zmq_msg_send(&msg, socket, flags);
  if (rc < 0) zmq_msg_close(&msg);
  return rc;
}

bool ShouldPack(const rpc::WireMessage& message) {
  return message.payload.size() <= kZmqZeroCopyFrameBytes &&
         message.body.size() + message.payload.size() <= kZmqPackedBytesMax;
}

// Appends `message` packed (header, envelope, body, payload) to `out`.
void PackInto(const rpc::WireMessage& message, std::string& out) {
  assert(message.envelope.size() <= rpc::kEnvelopeBytesMax);
  const size_t envelope = message.envelope.size();
  const size_t body = message.body.size();
  const size_t start = out.size();
  out.resize(start + kPackedHeaderBytes + message.bytes());
  char* at = out.data() + start;
  at[0] = static_cast<char>(envelope & 0xff);
  at[1] = static_cast<char>(envelope >> 8);
  for (int i = 0; i < 4; ++i) at[2 + i] = static_cast<char>(body >> (8 * i));
  at += kPackedHeaderBytes;
  std::memcpy(at, message.envelope.data(), envelope);
  std::memcpy(at + envelope, message.body.data(), body);
  std::memcpy(at + envelope + body, message.payload.data(), message.payload.size());
}

std::string Pack(const rpc::WireMessage& message) {
  std::string packed;
  PackInto(message, packed);
  return packed;
}

// Whether a batch of `bytes` and `messages` can take `message` (which ShouldPack).
bool BatchHasRoom(size_t bytes, uint32_t messages, const rpc::WireMessage& message) {
  const size_t header = bytes == 0 ? sizeof(kBatchMagic) : 0;
  return messages < kZmqBatchMessagesMax &&
         bytes + header + kBatchLengthBytes + kPackedHeaderBytes + message.bytes() <=
             kZmqBatchBytesMax;
}

// Appends `message` (which ShouldPack, and for which the batch has room) to a batch frame.
void AppendToBatch(const rpc::WireMessage& message, std::string& batch) {
  if (batch.empty()) batch.assign(kBatchMagic, sizeof(kBatchMagic));
  const size_t bytes = kPackedHeaderBytes + message.bytes();
  for (size_t i = 0; i < kBatchLengthBytes; ++i) {
    batch.push_back(static_cast<char>(bytes >> (8 * i)));
  }
  PackInto(message, batch);
}

bool IsBatch(const char* data, size_t size) {
  return size >= sizeof(kBatchMagic) && data[0] == kBatchMagic[0] && data[1] == kBatchMagic[1];
}

// Splits a packed frame; false when its header does not fit it or a part is past its limit.
bool UnpackView(const char* data, size_t size, PackedView& out) {
  if (size < kPackedHeaderBytes) return false;
  const auto byte = [data](size_t i) { return static_cast<size_t>(static_cast<uint8_t>(data[i])); };
  const size_t envelope = byte(0) | (byte(1) << 8);
  const size_t body = byte(2) | (byte(3) << 8) | (byte(4) << 16) | (byte(5) << 24);
  if (envelope > rpc::kEnvelopeBytesMax || body > kMessageBodyBytesMax) return false;
  if (kPackedHeaderBytes + envelope + body > size) return false;
  const size_t payload = size - kPackedHeaderBytes - envelope - body;
  if (payload > kPayloadBytesMax) return false;
  const char* at = data + kPackedHeaderBytes;
  out.envelope = std::string_view(at, envelope);
  out.body = std::string_view(at + envelope, body);
  out.payload = std::string_view(at + envelope + body, payload);
  return true;
}

bool Unpack(const char* data, size_t size, rpc::WireMessage& out) {
  PackedView view;
  if (!UnpackView(data, size, view)) return false;
  out.envelope.assign(view.envelope);
  out.body.assign(view.body);
  out.payload.assign(view.payload);
  return true;
}

// Receives the rest of a message whose first frame is `first` (on a ROUTER, `routing_id`
// given, the routing id). Three shapes are accepted after the routing id: the wire's three
// frames (envelope, body, payload), one packed frame (Pack), or one batch frame (its bytes
// are left in out.payload for ForEachBatched). False when the message had another shape or a
// part past its limit; it is consumed all the same. `shape` tells the shape; `peer_address`,
// when given, receives the connection's peer IP (ZeroMQ metadata).
bool ReceiveMessage(void* socket, zmq_msg_t& first, std::string* routing_id, rpc::WireMessage& out,
                    MessageShape& shape, std::string* peer_address) {
  shape = MessageShape::kFrames;
  const size_t data_start = routing_id != nullptr ? 1 : 0;
  size_t index = 0;
  bool ok = true;
  zmq_msg_t* msg = &first;
  zmq_msg_t next;
  bool own_next = false;
  for (;;) {
    const char* data = static_cast<const char*>(zmq_msg_data(msg));
    const size_t size = zmq_msg_size(msg);
    const bool more = zmq_msg_more(msg) != 0;
    if (peer_address != nullptr && peer_address->empty()) {
      if (const char* ip = zmq_msg_gets(msg, "Peer-Address")) *peer_address = ip;
    }
    if (ok && index < data_start) {
      ok = size <= kZmqRoutingIdBytesMax;
      if (ok) routing_id->assign(data, size);
    } else if (ok) {
      switch (index - data_start) {
        case 0:
          if (!more && IsBatch(data, size)) {
            shape = MessageShape::kBatched;
            ok = size <= kZmqBatchBytesMax;
            if (ok) out.payload.assign(data, size);
          } else if (!more) {
            shape = MessageShape::kPacked;
            ok = Unpack(data, size, out);
          } else {
            ok = size <= rpc::kEnvelopeBytesMax;
            if (ok) out.envelope.assign(data, size);
          }
          break;
        case 1:
          ok = size <= kMessageBodyBytesMax;
          if (ok) out.body.assign(data, size);
          break;
        case 2:
          ok = size <= kPayloadBytesMax;
          if (ok) out.payload.assign(data, size);
          break;
        default:
          ok = false;  // too many frames
          break;
      }
    }
    ++index;
    if (own_next) zmq_msg_close(&next);
    if (!more) break;
    zmq_msg_init(&next);
    own_next = true;
    // The rest of a message arrives with its first frame: this never blocks.
    if (zmq_msg_recv(&next, socket, 0) < 0) {
      zmq_msg_close(&next);
      return false;
    }
    msg = &next;
  }
  if (!ok || index <= data_start) return false;
  return shape != MessageShape::kFrames || index - data_start == 3;
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace granary::net::zmq_impl
