// The ZAP handler of one ZeroMQ context (RFC 27): admits a CURVE client only when its public
// key is listed, and answers with the identity listed for the key as the ZAP User-Id, which
// libzmq attaches to every message of that connection (zmq_msg_gets "User-Id"; the
// transport hands it to handlers as RpcContext::principal, core/security/identity.h). Without a
// handler bound, libzmq accepts every CURVE client, so a transport with CURVE keys binds this
// before it binds its listening socket.
//
// Runs on the RealEnv's thread, from its poll loop (RealScheduling): requests are answered
// in the poll callback, never suspending.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/common/status.h"
#include "net/real_scheduling.h"

namespace granary::net {

class ZapHandler {
 public:
  // `allowed_keys`: raw 32-byte CURVE public key -> its identity (at most
  // kPrincipalBytesMax; may be empty).
  ZapHandler(RealScheduling& scheduling, void* zmq_context,
             std::map<std::string, std::string> allowed_keys);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Binds inproc://zeromq.zap.01 in the context.
  Status Start();

  uint64_t admitted() const { return admitted_; }
  uint64_t refused() const { return refused_; }
  uint64_t malformed() const { return malformed_; }

 private:
  void Drain();

  RealScheduling& scheduling_;
  void* const context_;
  const std::map<std::string, std::string> allowed_keys_;
  void* socket_ = nullptr;
  RealScheduling::PollId poll_id_ = 0;
  uint64_t admitted_ = 0;
  uint64_t refused_ = 0;
  uint64_t malformed_ = 0;
};

}  // namespace granary::net
