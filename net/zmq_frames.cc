#include "net/zmq_frames.h"

#include <cassert>
#include <cerrno>
#include <cstring>

namespace granary::net {
namespace {

void FreeString(void*, void* hint) { delete static_cast<std::string*>(hint); }

}  // namespace

std::string ZmqError(std::string_view what) {
  return std::string(what) + ": " + zmq_strerror(errno);
}

std::optional<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  HostPort out;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    out.ipv6 = true;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '*';
    if (!ok) return std::nullopt;
  }
  const std::string_view port = text.substr(colon + 1);
  if (port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    out.port = out.port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (out.port > 65535) return std::nullopt;
  out.host = std::string(host);
  return out;
}

std::string Endpoint(const HostPort& hp, bool any_port) {
  const std::string host = hp.ipv6 ? "[" + hp.host + "]" : hp.host;
  return "tcp://" + host + ":" + (any_port ? std::string("*") : std::to_string(hp.port));
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool IsWildcard(const std::string& host) {
  return host == "*" || host == "0.0.0.0" || host == "::";
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

bool BatchHasRoom(size_t bytes, uint32_t messages, const rpc::WireMessage& message) {
  const size_t header = bytes == 0 ? sizeof(kBatchMagic) : 0;
  return messages < kZmqBatchMessagesMax &&
         bytes + header + kBatchLengthBytes + kPackedHeaderBytes + message.bytes() <=
             kZmqBatchBytesMax;
}

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

bool ReceiveMessage(void* socket, zmq_msg_t& first, std::string* routing_id, rpc::WireMessage& out,
                    MessageShape& shape, std::string* peer_address, std::string* user_id,
                    PayloadPool* pool) {
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
    if (user_id != nullptr && user_id->empty()) {
      if (const char* id = zmq_msg_gets(msg, "User-Id")) *user_id = id;
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
          if (ok && pool != nullptr) out.payload = pool->Take(size);
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

}  // namespace granary::net
