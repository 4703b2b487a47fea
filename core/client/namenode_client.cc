#include "core/client/namenode_client.h"

#include <algorithm>

#include "core/common/random.h"
#include "core/rpc/router.h"

namespace granary {

namespace {

// A client id: any value but 0, which means "none" to the namenode. Two clients must never
// share one (the namenode would answer one with the other's recorded answers), and the
// generator alone does not ensure it: real processes start theirs from the same seed
// (net/real_env.h's default), so a second process, or a second Env in one, would draw the
// same ids. The client's name (tools put host and pid in it) and the calendar time tell them
// apart; in the simulator both are deterministic, like the draw.
uint64_t DrawClientId(Env& env, std::string_view client_name) {
  const uint64_t id = Mix64(env.random().Next() ^ HashBytes(client_name) ^
                            static_cast<uint64_t>(env.CalendarNanos()));
  return id != 0 ? id : 1;
}

}  // namespace

bool IsRetryable(const Status& status) { return NamenodeLocator::Rotated(status); }

NamenodeClient::NamenodeClient(Env& env, Transport& transport, const ClientOptions& options)
    : env_(env),
      transport_(transport),
      options_(options),
      locator_(transport, options.namenode),
      client_id_(DrawClientId(env, options.client_name)) {
  locator_.SpreadReads(env, options.read_policy, std::string(HostOf(options.client_address)));
  locator_.set_stale_reads(options.stale_reads);
}

Status NamenodeClient::Msync() {
  proto::MsyncReply reply;
  GRANARY_RETURN_IF_ERROR(Call(rpc::nn::kMsync, proto::MsyncRequest(), &reply));
  locator_.RaiseSeq(reply.seq());
  return Status::Ok();
}

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

bool NamenodeClient::MayTryAgain(Instant start, uint32_t tries) const {
  if (locator_.namenodes().size() <= 1) return tries < std::max(options_.attempts, 1u);
  return tries < locator_.namenodes().size() || env_.Now() - start < options_.failover_timeout;
}

Status NamenodeClient::GiveUp(std::string_view method, const Status& last,
                              const std::vector<Address>& tried, Instant start) const {
  if (locator_.namenodes().size() <= 1) {
    return last.WithContext(std::string(method) + " failed after retries");
  }
  // Name each namenode once, in the order first tried.
  std::vector<Address> unique;
  for (const Address& address : tried) {
    if (std::find(unique.begin(), unique.end(), address) == unique.end()) {
      unique.push_back(address);
    }
  }
  std::string names;
  for (const Address& address : unique) names += (names.empty() ? "" : ", ") + address.value;
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(env_.Now() - start);
  return last.WithContext(std::string(method) + " failed after retries for " +
                          std::to_string(waited.count()) + " ms (failover_timeout " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             options_.failover_timeout)
                                             .count()) +
                          " ms) on the namenodes " + names);
}

Status NamenodeClient::CallByName(std::string_view method, const google::protobuf::Message& request,
                                  google::protobuf::Message* reply, std::string request_payload,
                                  std::string* reply_payload, bool* retried) {
  if (retried != nullptr) *retried = false;
  const Instant start = env_.Now();
  std::vector<Address> tried;
  bool may_have_run = false;
  // One call id for every attempt of this call: the namenode knows a retry by it.
  const rpc::CallKey key =
      NamenodeLocator::IsRead(method) ? rpc::CallKey{} : rpc::CallKey{client_id_, ++last_call_id_};
  Status status;
  for (uint32_t tries = 0; tries == 0 || MayTryAgain(start, tries); ++tries) {
    if (tries > 0) {
      GRANARY_RETURN_IF_ERROR(Backoff(tries));
      if (retried != nullptr && may_have_run) *retried = true;
    }
    const size_t before = tried.size();
    status =
        locator_.CallByName(method, request, request_payload, env_.Now() + options_.rpc_timeout,
                            reply, reply_payload, &tried, key);
    for (size_t i = before; i < tried.size(); ++i) CountCall(method);
    if (!NamenodeLocator::Rotated(status)) return status;
    // A request that timed out or was cut off may have run; a standby's refusal did not.
    if (status.code() != StatusCode::kNotActive) may_have_run = true;
  }
  return GiveUp(method, status, tried, start);
}

}  // namespace granary
