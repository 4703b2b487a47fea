#include "core/client/namenode_client.h"

#include <algorithm>

#include "core/rpc/router.h"

namespace granary {

bool IsRetryable(const Status& status) {
  return status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable;
}

NamenodeClient::NamenodeClient(Env& env, Transport& transport, const ClientOptions& options)
    : env_(env), transport_(transport), options_(options) {}

Status NamenodeClient::Backoff(uint32_t attempt) {
  const int64_t base = options_.backoff_initial.count();
  const int64_t cap = options_.backoff_max.count();
  const int64_t exponential = std::min(cap, base << std::min<uint32_t>(attempt - 1, 20));
  // Full jitter: spreads clients that failed together.
  const int64_t wait =
      exponential / 2 +
      static_cast<int64_t>(env_.random().Below(static_cast<uint64_t>(exponential / 2 + 1)));
  return env_.SleepFor(Duration(wait));
}

void NamenodeClient::CountCall(std::string_view method) {
  auto it = call_counts_.find(method);
  if (it == call_counts_.end()) it = call_counts_.emplace(std::string(method), 0).first;
  ++it->second;
}

Status NamenodeClient::CallByName(std::string_view method, const google::protobuf::Message& request,
                                  google::protobuf::Message* reply, std::string request_payload,
                                  std::string* reply_payload, bool* retried) {
  if (retried != nullptr) *retried = false;
  Status status;
  for (uint32_t attempt = 0; attempt < std::max(options_.attempts, 1u); ++attempt) {
    if (attempt > 0) {
      GRANARY_RETURN_IF_ERROR(Backoff(attempt));
      if (retried != nullptr) *retried = true;
    }
    CountCall(method);
    status = rpc::CallByName(transport_, options_.namenode, method, request, request_payload,
                             env_.Now() + options_.rpc_timeout, reply, reply_payload);
    if (!IsRetryable(status)) return status;
  }
  return status.WithContext(std::string(method) + " failed after retries");
}

}  // namespace granary
