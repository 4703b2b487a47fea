// The client's side of the namenode protocol: typed calls with retries.
//
// The namenode may be a list, "a,b,c" (ClientOptions::namenode): a NamenodeLocator
// (core/rpc/namenode_locator.h) keeps the current one and follows kNotActive redirects to
// the active at once. A call that times out, finds the namenode unreachable (kTimeout,
// kUnavailable) or meets a standby that does not know the active (kNotActive without an
// address) moves to the next namenode and is retried with exponential backoff and jitter:
// up to `attempts` times with one namenode; with a list, until `failover_timeout` has passed
// since the call began (and every namenode was tried once). Every other status is the
// answer. A list that does not parse makes every call answer kInvalidArgument naming the
// fault. A retried mutation may have taken effect the first time: every call but a read
// carries this client's id and a call id of its own, the same on each retry of the call, so
// the namenode's retry cache (core/namenode/retry_cache.h) answers a retry whose first attempt
// ran with that attempt's answer. Past the cache's reach (a method it does not record, an
// answer older than kRetryCacheExpiry) callers that can tell (a retried delete that finds
// nothing) treat that as success.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/client/client_options.h"
#include "core/common/status.h"
#include "core/rpc/methods.h"
#include "core/rpc/namenode_locator.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

// True for the statuses after which a request may not have run and may be sent again
// (kTimeout, kUnavailable; kNotActive: a standby ran nothing).
bool IsRetryable(const Status& status);

class NamenodeClient {
 public:
  // Draws this client's id (never 0) from env's generator, mixed with the client's name and
  // the calendar time (two processes' generators may start alike).
  NamenodeClient(Env& env, Transport& transport, const ClientOptions& options);

  // Calls `method` with retries. `retried` (optional) tells whether an earlier attempt may
  // have reached a namenode that ran it (one that timed out or became unreachable; a
  // kNotActive answer ran nothing).
  template <typename Request, typename Reply>
  Status Call(const rpc::Method<Request, Reply>& method,
              const std::type_identity_t<Request>& request, std::type_identity_t<Reply>* reply,
              std::string request_payload = {}, std::string* reply_payload = nullptr,
              bool* retried = nullptr) {
    return CallByName(method.name, request, reply, std::move(request_payload), reply_payload,
                      retried);
  }

  // Raises this client's journal sequence to the active's (nn.Msync), so that later reads, on
  // any namenode, see every write acknowledged to any client before the call (issue 14).
  Status Msync();

  // Sleeps the backoff before retry number `attempt` (from 1), with jitter.
  Status Backoff(uint32_t attempt);

  // Requests sent to the namenode so far, per method name, every attempt counted (each is
  // a round trip): what a test asserts when it promises a number of round trips. Ordered by
  // name; nothing in the client reads it.
  using CallCounts = std::map<std::string, uint64_t, std::less<>>;
  const CallCounts& call_counts() const { return call_counts_; }
  // The namenodes and the one calls go to now.
  const NamenodeLocator& locator() const { return locator_; }
  NamenodeLocator& locator() { return locator_; }
  // The id every mutation of this client carries (envelope field 9).
  uint64_t client_id() const { return client_id_; }

 private:
  void CountCall(std::string_view method);
  // Whether a call that began at `start` and made `tries` tries may try again.
  bool MayTryAgain(Instant start, uint32_t tries) const;
  Status GiveUp(std::string_view method, const Status& last, const std::vector<Address>& tried,
                Instant start) const;
  Status CallByName(std::string_view method, const google::protobuf::Message& request,
                    google::protobuf::Message* reply, std::string request_payload,
                    std::string* reply_payload, bool* retried);

  Env& env_;
  Transport& transport_;
  const ClientOptions& options_;
  NamenodeLocator locator_;
  CallCounts call_counts_;
  const uint64_t client_id_;
  uint64_t last_call_id_ = 0;
};

}  // namespace granary
