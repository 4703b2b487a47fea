// Helpers for the tests of the namenode's services: typed calls to the namenode of a
// simulated cluster (tests/core/client/cluster_test_util.h) from a client process, as the
// services receive them, without the client library's retries in between.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <type_traits>

#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"
#include "sim/kernel/sim_process.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary::namenode_rpc_testing {

inline proto::UserContext Super() {
  proto::UserContext user;
  user.set_user("granary");
  return user;
}

// Calls the namenode of `cluster` from process `p`.
class NamenodeCaller {
 public:
  NamenodeCaller(sim::SimProcess& p, sim::SimCluster& cluster)
      : p_(p), namenode_(cluster.namenode_address()) {}

  // The status of `method`; `reply` and `reply_payload` receive the answer when given.
  template <typename Request, typename Reply>
  Status Call(const rpc::Method<Request, Reply>& method,
              const std::type_identity_t<Request>& request,
              std::type_identity_t<Reply>* reply = nullptr, std::string payload = {},
              std::string* reply_payload = nullptr) {
    Reply ignored;
    return rpc::Call(p_.transport(), namenode_, method, request, std::move(payload),
                     p_.env().Now() + std::chrono::seconds(5), reply ? reply : &ignored,
                     reply_payload);
  }

  // Creates `path` open for writing by `client_name` (no inline bytes); returns its inode id.
  uint64_t CreateOpen(const std::string& path, const std::string& client_name) {
    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_path(path);
    create.set_client_name(client_name);
    proto::CreateReply reply;
    const Status status = Call(rpc::nn::kCreate, create, &reply);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return reply.status().inode_id();
  }

  // Stats `path` as the superuser.
  proto::FileStatus Stat(const std::string& path) {
    proto::StatRequest stat;
    *stat.mutable_user() = Super();
    stat.set_path(path);
    proto::StatReply reply;
    const Status status = Call(rpc::nn::kStat, stat, &reply);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return reply.status();
  }

 private:
  sim::SimProcess& p_;
  Address namenode_;
};

}  // namespace granary::namenode_rpc_testing
