// EtcdClient: the calls of etcd's v3 gRPC API that EtcdJournal makes, from fibers of a RealEnv.
//
// Threading: a gRPC call blocks the OS thread that makes it, and the RealEnv's thread runs
// every fiber of the process over one zmq_poll loop (net/real_env.h), so every call here runs
// on a thread of RealEnv::RunBlocking's pool while only the calling fiber waits. Give that
// pool enough threads (RealEnvOptions::blocking_threads >= 4 with a journal): a lease renewal
// queued behind fsyncs and slow appends is a renewal that may come too late.
//
// Every call has a deadline; gRPC's own is set from it, so no call occupies a pool thread
// past its deadline. Errors map to Status codes (ToStatus below): DEADLINE_EXCEEDED ->
// kTimeout, UNAVAILABLE -> kUnavailable, etcd's "request is too large" -> kInvalidArgument,
// its NOSPACE alarm -> kNoSpace, anything else -> kInternal; messages name the call and
// etcd's own text. A call made after the env began to stop returns kNodeDown.
//
// Members: one channel over all endpoints with round-robin balancing (a member that is down
// is skipped once its connection fails, and used again soon after it returns), and one
// channel per member for the calls that act on a member rather than on the cluster
// (Maintenance Status and Defragment).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "net/real_env.h"
#include "proto/etcd/rpc.grpc.pb.h"

namespace granary::net {

class EtcdClient {
 public:
  // `endpoints` are the client URLs' "IPv4:port" of every member, 1..7 of them.
  static Result<std::shared_ptr<EtcdClient>> Connect(RealEnv& env,
                                                     const std::vector<std::string>& endpoints);

  // A transaction. etcd applies it atomically at one revision (the response header's).
  Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request, Instant deadline);
  Result<etcdserverpb::RangeResponse> Range(const etcdserverpb::RangeRequest& request,
                                            Instant deadline);
  // Discards the history before `revision` and returns once the backend has dropped it. Ok
  // when it was compacted already.
  Status Compact(int64_t revision, Instant deadline);

  // A new lease of `ttl_seconds`; returns its id.
  Result<int64_t> LeaseGrant(int64_t ttl_seconds, Instant deadline);
  // Revokes the lease and deletes every key attached to it. Ok when it was gone already.
  Status LeaseRevoke(int64_t lease_id, Instant deadline);
  // Renews the lease once; returns its remaining time to live in seconds, <= 0 when it had
  // expired already (it cannot be renewed then).
  Result<int64_t> LeaseKeepAlive(int64_t lease_id, Instant deadline);

  // What one watch saw (WatchNext).
  enum class WatchOutcome : uint8_t {
    kPut,        // a key in the range was put at or after the start revision
    kCompacted,  // the start revision was compacted away: read the range again instead
  };
  // Watches keys [key, range_end) from `start_revision` on (etcd's Watch) and returns at the
  // first put of one of them, or kCompacted; kTimeout when `deadline` passes without one.
  // Deletes are filtered out. A stream that breaks (its member died) is opened again on
  // another member from the same revision, so nothing between is missed. The watch holds a
  // thread of RunBlocking's pool until it returns: keep `deadline` short.
  Result<WatchOutcome> WatchNext(const std::string& key, const std::string& range_end,
                                 int64_t start_revision, Instant deadline);

  size_t members() const { return member_stubs_.size(); }
  // Maintenance calls on member `member` (0..members()-1) alone.
  Result<etcdserverpb::StatusResponse> MemberStatus(size_t member, Instant deadline);
  Status Defragment(size_t member, Instant deadline);

 private:
  EtcdClient(RealEnv& env, std::shared_ptr<grpc::Channel> channel);

  // Runs `rpc` on the blocking pool with gRPC's deadline set from `deadline`.
  Status Call(std::string_view what, Instant deadline,
              const std::function<grpc::Status(grpc::ClientContext&)>& rpc);

  RealEnv& env_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::vector<std::unique_ptr<etcdserverpb::Maintenance::Stub>> member_stubs_;
};

// A gRPC status as a Granary Status (see the class comment); `what` names the call.
Status ToStatus(std::string_view what, const grpc::Status& status);

}  // namespace granary::net
