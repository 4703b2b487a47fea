#include "net/etcd_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

#include "core/common/limits.h"

namespace granary::net {
namespace {

constexpr size_t kEtcdMembersMax = 7;
// A reply of a full Read: kJournalReadEntriesMax entries of the largest size, with their keys
// and framing.
constexpr int kReplyBytesMax =
    static_cast<int>(kJournalReadEntriesMax * (kJournalEntryBytesMax + 4096) + 1024 * 1024);
// A call without a deadline still ends: no pool thread waits forever.
constexpr auto kCallTimeMax = std::chrono::hours(1);
// Retries of a call that found no member able to answer (UNAVAILABLE), kRetryPause apart.
constexpr uint32_t kCallAttemptsMax = 1000;
constexpr Duration kRetryPause = std::chrono::milliseconds(50);

bool IsIpv4Endpoint(std::string_view endpoint) {
  const size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == endpoint.size()) return false;
  int dots = 0;
  for (char c : endpoint.substr(0, colon)) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3 && std::all_of(endpoint.begin() + colon + 1, endpoint.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
}

grpc::ChannelArguments ChannelArgs(bool balanced, const std::string& authority) {
  grpc::ChannelArguments args;
  // gRPC would send the whole "ipv4:a,b,c" list as the :authority header.
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, authority);
  if (balanced) args.SetLoadBalancingPolicyName("round_robin");
  // A member that returns is used again within a second, not after gRPC's default 2 minutes.
  // The minimum is also the connect timeout: a starting member accepts connections before it
  // serves them, and gRPC's default would wait 20 s for its first frame before trying again.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(kReplyBytesMax);
  args.SetMaxSendMessageSize(static_cast<int>(2 * kJournalRequestBytesMax));
  return args;
}

std::chrono::system_clock::time_point WallDeadline(Instant deadline) {
  const auto now = std::chrono::steady_clock::now();
  auto until = now + kCallTimeMax;
  if (deadline != kInstantMax) until = std::min(until, RealEnv::ToSteady(deadline));
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(until - now);
}

}  // namespace

Status ToStatus(std::string_view what, const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  const std::string text = "etcd " + std::string(what) + ": " + status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(StatusCode::kTimeout,
                    text + " (no answer from a majority of the journal's members in time)");
    case grpc::StatusCode::UNAVAILABLE:
      return Status(StatusCode::kUnavailable, text);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      // The NOSPACE alarm: only reads and deletes until compaction and defragmentation.
      return Status(StatusCode::kNoSpace, text);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status(StatusCode::kInvalidArgument, text);
    case grpc::StatusCode::CANCELLED:
      return Status(StatusCode::kCancelled, text);
    default:
      return Status(StatusCode::kInternal, text);
  }
}

Result<std::shared_ptr<EtcdClient>> EtcdClient::Connect(RealEnv& env,
                                                        const std::vector<std::string>& endpoints) {
  if (endpoints.empty() || endpoints.size() > kEtcdMembersMax) {
    return Status(StatusCode::kInvalidArgument, "an etcd journal has 1..7 members");
  }
  std::string target = "ipv4:";
  for (const std::string& endpoint : endpoints) {
    if (!IsIpv4Endpoint(endpoint)) {
      return Status(StatusCode::kInvalidArgument,
                    "etcd endpoint " + endpoint + " is not IPv4:port");
    }
    if (target.size() > 5) target += ',';
    target += endpoint;
  }
  auto credentials = grpc::InsecureChannelCredentials();
  std::shared_ptr<EtcdClient> client(new EtcdClient(
      env, grpc::CreateCustomChannel(target, credentials, ChannelArgs(true, endpoints.front()))));
  for (const std::string& endpoint : endpoints) {
    client->member_stubs_.push_back(etcdserverpb::Maintenance::NewStub(
        grpc::CreateCustomChannel("ipv4:" + endpoint, credentials, ChannelArgs(false, endpoint))));
  }
  return client;
}

EtcdClient::EtcdClient(RealEnv& env, std::shared_ptr<grpc::Channel> channel)
    : env_(env),
      channel_(std::move(channel)),
      kv_(etcdserverpb::KV::NewStub(channel_)),
      lease_(etcdserverpb::Lease::NewStub(channel_)),
      watch_(etcdserverpb::Watch::NewStub(channel_)) {}

Status EtcdClient::Call(std::string_view what, Instant deadline,
                        const std::function<grpc::Status(grpc::ClientContext&)>& rpc) {
  for (uint32_t attempt = 1;; ++attempt) {
    if (env_.stopping()) return Status(StatusCode::kNodeDown, "etcd " + std::string(what));
    if (deadline != kInstantMax && env_.Now() >= deadline) {
      return Status(StatusCode::kTimeout, "etcd " + std::string(what) + ": deadline passed");
    }
    grpc::Status status;
    env_.RunBlocking([&] {
      grpc::ClientContext context;
      context.set_deadline(WallDeadline(deadline));
      // Wait for a connection rather than fail at once while none is ready. Besides riding out
      // a member's restart, this is what makes connections progress at all: the synchronous
      // API polls a connection attempt only while some call waits on the channel.
      context.set_wait_for_ready(true);
      status = rpc(context);
    });
    if (env_.stopping()) return Status(StatusCode::kNodeDown, "etcd " + std::string(what));
    // UNAVAILABLE: no member connected, the one asked died, or it has no raft leader for the
    // moment (an election). Another member, or the same after the election, may answer, so
    // try again until the deadline. A call that reached etcd may have been applied before the
    // failure: every call here is idempotent or (an append) detects its own earlier success.
    const bool again = status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                       attempt < kCallAttemptsMax &&
                       (deadline == kInstantMax || env_.Now() + kRetryPause < deadline);
    if (!again) return ToStatus(what, status);
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(kRetryPause));
  }
}

Result<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request,
                                                  Instant deadline) {
  etcdserverpb::TxnResponse response;
  GRANARY_RETURN_IF_ERROR(Call("txn", deadline, [&](grpc::ClientContext& context) {
    return kv_->Txn(&context, request, &response);
  }));
  return response;
}

Result<etcdserverpb::RangeResponse> EtcdClient::Range(const etcdserverpb::RangeRequest& request,
                                                      Instant deadline) {
  etcdserverpb::RangeResponse response;
  GRANARY_RETURN_IF_ERROR(Call("range", deadline, [&](grpc::ClientContext& context) {
    return kv_->Range(&context, request, &response);
  }));
  return response;
}

Status EtcdClient::Compact(int64_t revision, Instant deadline) {
  etcdserverpb::CompactionRequest request;
  request.set_revision(revision);
  // Physical: return only once the compacted values are gone from the backend, so that a
  // defragmentation that follows finds their pages free.
  request.set_physical(true);
  etcdserverpb::CompactionResponse response;
  return Call("compact", deadline, [&](grpc::ClientContext& context) {
    grpc::Status result = kv_->Compact(&context, request, &response);
    // etcd answers OUT_OF_RANGE ("required revision has been compacted") when a compaction at
    // or past this revision ran before: the history is gone either way.
    return result.error_code() == grpc::StatusCode::OUT_OF_RANGE ? grpc::Status::OK : result;
  });
}

Result<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds, Instant deadline) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_seconds);
  etcdserverpb::LeaseGrantResponse response;
  GRANARY_RETURN_IF_ERROR(Call("lease grant", deadline, [&](grpc::ClientContext& context) {
    return lease_->LeaseGrant(&context, request, &response);
  }));
  if (!response.error().empty() || response.id() == 0) {
    return Status(StatusCode::kInternal, "etcd lease grant: " + response.error());
  }
  return response.id();
}

Status EtcdClient::LeaseRevoke(int64_t lease_id, Instant deadline) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseRevokeResponse response;
  return Call("lease revoke", deadline, [&](grpc::ClientContext& context) {
    grpc::Status result = lease_->LeaseRevoke(&context, request, &response);
    // NOT_FOUND: "requested lease not found", it expired or was revoked already.
    return result.error_code() == grpc::StatusCode::NOT_FOUND ? grpc::Status::OK : result;
  });
}

Result<int64_t> EtcdClient::LeaseKeepAlive(int64_t lease_id, Instant deadline) {
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(lease_id);
  etcdserverpb::LeaseKeepAliveResponse response;
  bool answered = false;
  // One renewal per stream: a stream kept open would hold a pool thread for its lifetime.
  GRANARY_RETURN_IF_ERROR(Call("lease keepalive", deadline, [&](grpc::ClientContext& context) {
    auto stream = lease_->LeaseKeepAlive(&context);
    if (stream->Write(request)) {
      stream->WritesDone();
      answered = stream->Read(&response);
    }
    if (answered) context.TryCancel();  // the answer is all we wanted; do not wait for EOF
    grpc::Status result = stream->Finish();
    return answered ? grpc::Status::OK : result;
  }));
  if (!answered) return Status(StatusCode::kUnavailable, "etcd lease keepalive: no answer");
  return response.ttl();
}

Result<EtcdClient::WatchOutcome> EtcdClient::WatchNext(const std::string& key,
                                                       const std::string& range_end,
                                                       int64_t start_revision, Instant deadline) {
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(start_revision);
  create->add_filters(etcdserverpb::WatchCreateRequest::NODELETE);
  std::optional<WatchOutcome> outcome;
  GRANARY_RETURN_IF_ERROR(Call("watch", deadline, [&](grpc::ClientContext& context) {
    auto stream = watch_->Watch(&context);
    // The send side stays open: the watch lives as long as the stream.
    if (!stream->Write(request)) return stream->Finish();
    etcdserverpb::WatchResponse response;
    while (!outcome && stream->Read(&response)) {
      // The first response only confirms the creation; a compacted start revision cancels
      // the watch with compact_revision set.
      if (response.canceled()) {
        outcome = response.compact_revision() != 0 ? WatchOutcome::kCompacted : WatchOutcome::kPut;
      } else if (response.events_size() > 0) {
        outcome = WatchOutcome::kPut;
      }
    }
    if (outcome) context.TryCancel();  // what we waited for came; do not wait for EOF
    grpc::Status result = stream->Finish();
    if (outcome) return grpc::Status::OK;
    // A stream that ended without an error and without news: the member went away.
    return result.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "watch stream ended") : result;
  }));
  assert(outcome.has_value());
  return *outcome;
}

Result<etcdserverpb::StatusResponse> EtcdClient::MemberStatus(size_t member, Instant deadline) {
  assert(member < member_stubs_.size());
  etcdserverpb::StatusRequest request;
  etcdserverpb::StatusResponse response;
  GRANARY_RETURN_IF_ERROR(Call("status", deadline, [&](grpc::ClientContext& context) {
    return member_stubs_[member]->Status(&context, request, &response);
  }));
  return response;
}

Status EtcdClient::Defragment(size_t member, Instant deadline) {
  assert(member < member_stubs_.size());
  etcdserverpb::DefragmentRequest request;
  etcdserverpb::DefragmentResponse response;
  return Call("defragment", deadline, [&](grpc::ClientContext& context) {
    return member_stubs_[member]->Defragment(&context, request, &response);
  });
}

}  // namespace granary::net
