#include "net/zap_handler.h"

#include <zmq.h>

#include <cerrno>
#include <vector>

#include "core/common/limits.h"

namespace granary::net {
namespace {

// Receives one whole multipart message; false when none is waiting. Frames past the limits
// are received and dropped (the message is then malformed).
bool ReceiveMultipart(void* socket, std::vector<std::string>& frames, bool& oversized) {
  frames.clear();
  oversized = false;
  for (;;) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    const int flags = frames.empty() && !oversized ? ZMQ_DONTWAIT : 0;
    if (zmq_msg_recv(&msg, socket, flags) < 0) {
      zmq_msg_close(&msg);
      return false;
    }
    if (frames.size() < kZapFramesMax && zmq_msg_size(&msg) <= kZapFrameBytesMax) {
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    } else {
      oversized = true;
    }
    const bool more = zmq_msg_more(&msg) != 0;
    zmq_msg_close(&msg);
    if (!more) return true;
  }
}

void SendMultipart(void* socket, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = (i + 1 < frames.size() ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT;
    zmq_send(socket, frames[i].data(), frames[i].size(), flags);
  }
}

}  // namespace

ZapHandler::ZapHandler(RealScheduling& scheduling, void* zmq_context,
                       std::map<std::string, std::string> allowed_keys)
    : scheduling_(scheduling), context_(zmq_context), allowed_keys_(std::move(allowed_keys)) {}

ZapHandler::~ZapHandler() {
  if (poll_id_ != 0) scheduling_.Remove(poll_id_);
  if (socket_ != nullptr) {
    int linger = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(socket_);
  }
}

Status ZapHandler::Start() {
  socket_ = zmq_socket(context_, ZMQ_REP);
  if (socket_ == nullptr || zmq_bind(socket_, "inproc://zeromq.zap.01") != 0) {
    return Status(StatusCode::kInternal, std::string("ZAP handler: ") + zmq_strerror(errno));
  }
  poll_id_ = scheduling_.AddSocket(socket_, ZMQ_POLLIN, [this](short) { Drain(); });
  return Status::Ok();
}

void ZapHandler::Drain() {
  std::vector<std::string> request;
  bool oversized = false;
  while (ReceiveMultipart(socket_, request, oversized)) {
    // version, request id, domain, address, routing id, mechanism, credentials...
    std::string request_id = request.size() > 1 ? request[1] : std::string();
    bool allowed = false;
    std::string user_id;
    if (!oversized && request.size() == 7 && request[0] == "1.0" && request[5] == "CURVE") {
      auto key = allowed_keys_.find(request[6]);
      allowed = key != allowed_keys_.end();
      if (allowed) user_id = key->second;
    } else {
      ++malformed_;
    }
    if (allowed) {
      ++admitted_;
    } else {
      ++refused_;
    }
    // A REP socket must answer every request before it can receive the next.
    SendMultipart(socket_, {"1.0", request_id, allowed ? "200" : "400",
                            allowed ? "OK" : "client key not admitted", user_id, ""});
  }
}

}  // namespace granary::net
