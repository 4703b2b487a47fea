// The nested state of ZmqTransport (zmq_transport.h), shared by its calling half
// (zmq_transport.cc: peers, calls, flushing) and its serving half (zmq_serving.cc: the ROUTER,
// serving fibers, replies). Internal to net/.
#pragma once

#include <deque>
#include <list>
#include <string>
#include <vector>

#include "net/zmq_transport.h"

namespace granary::net {

struct ZmqTransport::Peer {
  std::string address;
  void* dealer = nullptr;
  void* monitor = nullptr;
  RealScheduling::PollId dealer_poll = 0;
  RealScheduling::PollId monitor_poll = 0;
  bool connected = false;
  // A connection attempt failed after the last success: calls fail at once.
  bool failed = false;
  std::string failure;
  // kPermissionDenied when the peer refused our key (retrying cannot help), else kUnavailable.
  StatusCode failure_code = StatusCode::kUnavailable;
  uint32_t in_flight = 0;
  // Requests waiting for the next flush, as a batch frame (AppendToBatch).
  std::string batch;
  uint32_t batch_messages = 0;
  bool dirty = false;  // in dirty_peers_
  std::vector<Waiter*> send_waiters;
  std::list<Peer*>::iterator lru;
};

struct ZmqTransport::ServeJob {
  std::string routing_id;
  Address from;
  std::string principal;
  Instant deadline;
  rpc::IncomingRequest incoming;
  MessageShape shape;  // how the request came: so may the reply go
};

struct ZmqTransport::ReplyBatch {
  std::string routing_id;
  std::string frame;
  uint32_t messages = 0;
  Instant deadline;  // the latest of its replies': past it, every caller has given up
};

struct ZmqTransport::Servers {
  std::deque<ServeJob> jobs;
  std::vector<Waiter*> idle;  // on the idle fibers' stacks
  // Fibers woken (or started) to take jobs that have not run yet. One is enough: a fiber
  // that takes a job while more wait makes sure another is on its way before running it, so
  // a handler that suspends never holds back the jobs behind it, and a batch of requests
  // whose handlers do not suspend costs one fiber wake-up, not one per request.
  uint32_t waking = 0;
  bool closed = false;  // the transport is gone
};

struct ZmqTransport::PendingCall {
  Waiter waiter;
  Result<RpcReply> reply = Status(StatusCode::kTimeout, "no reply");
  uint64_t id = 0;  // its slot in the low kZmqCallSlotBits
  Instant deadline;
  bool expired = false;  // ended by ExpireCalls
};

}  // namespace granary::net
