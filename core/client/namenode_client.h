// The client's side of the namenode protocol: typed calls with retries.
//
// A call that times out or finds the namenode unreachable (kTimeout, kUnavailable) is
// retried with exponential backoff and jitter, up to `attempts` times; every other status
// is the answer. A retried mutation may have taken effect the first time: callers that can
// tell (a retried delete that finds nothing) treat that as success.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/client/client_options.h"
#include "core/common/status.h"
#include "core/rpc/methods.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/fs.pb.h"

namespace granary {

// True for the statuses after which a request may not have run and may be sent again.
bool IsRetryable(const Status& status);

class NamenodeClient {
 public:
  NamenodeClient(Env& env, Transport& transport, const ClientOptions& options);

  // Calls `method` with retries. `retried` (optional) tells whether an earlier attempt may
  // have reached the namenode.
  template <typename Request, typename Reply>
  Status Call(const rpc::Method<Request, Reply>& method,
              const std::type_identity_t<Request>& request, std::type_identity_t<Reply>* reply,
              std::string request_payload = {}, std::string* reply_payload = nullptr,
              bool* retried = nullptr) {
    return CallByName(method.name, request, reply, std::move(request_payload), reply_payload,
                      retried);
  }

  // Sleeps the backoff before retry number `attempt` (from 1), with jitter.
  Status Backoff(uint32_t attempt);

  // Requests sent to the namenode so far, per method name, every attempt counted (each is
  // a round trip): what a test asserts when it promises a number of round trips. Ordered by
  // name; nothing in the client reads it.
  using CallCounts = std::map<std::string, uint64_t, std::less<>>;
  const CallCounts& call_counts() const { return call_counts_; }

 private:
  void CountCall(std::string_view method);
  Status CallByName(std::string_view method, const google::protobuf::Message& request,
                    google::protobuf::Message* reply, std::string request_payload,
                    std::string* reply_payload, bool* retried);

  Env& env_;
  Transport& transport_;
  const ClientOptions& options_;
  CallCounts call_counts_;
};

}  // namespace granary
