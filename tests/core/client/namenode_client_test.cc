// NamenodeClient against scripted namenodes on a simulated network: which statuses are
// retried and how often, the bounds of the backoff, the per-method call counter, and a list
// of namenodes through a failover (redirects, rotation, failover_timeout).
#include "core/client/namenode_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"

namespace granary {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kSeed = 11;

// A namenode node whose nn.Stat answers the scripted statuses in turn (then OK for ever),
// and a client node that runs `body` with a NamenodeClient to it.
class NamenodeClientTest : public ::testing::Test {
 protected:
  void Run(std::function<void(NamenodeClient&, Env&)> body) {
    sim::Simulator sim(kSeed);
    sim::Hardware hardware(sim);
    sim::NodeOptions nn;
    nn.name = "nn";
    hardware.AddNode(nn, [this](sim::SimProcess& process) {
      router_.Add(rpc::nn::kStat,
                  [this](const proto::StatRequest& request, proto::StatReply* reply,
                         rpc::Exchange&) -> Status {
                    ++served_;
                    if (!script_.empty()) {
                      const StatusCode code = script_.front();
                      script_.erase(script_.begin());
                      return Status(code, "scripted");
                    }
                    reply->mutable_status()->set_name(request.path());
                    return Status::Ok();
                  });
      ASSERT_TRUE(process.transport().Serve(router_.AsHandler()).ok());
    });
    sim::NodeOptions client;
    client.name = "client";
    bool finished = false;
    hardware.AddNode(client, [&](sim::SimProcess& process) {
      NamenodeClient namenode(process.env(), process.transport(), options_);
      body(namenode, process.env());
      finished = true;
    });
    sim.StartNode(NodeId(0));
    sim.StartNode(NodeId(1));
    sim.RunFor(std::chrono::minutes(10));
    EXPECT_TRUE(finished);
    EXPECT_TRUE(sim.Shutdown().ok());
  }

  Status Stat(NamenodeClient& namenode, bool* retried = nullptr) {
    proto::StatRequest request;
    request.set_path("/f");
    proto::StatReply reply;
    return namenode.Call(rpc::nn::kStat, request, &reply, {}, nullptr, retried);
  }

  ClientOptions options_ = [] {
    ClientOptions options;
    options.namenode = Address{"nn"};
    options.rpc_timeout = std::chrono::seconds(1);
    return options;
  }();
  rpc::Router router_;
  std::vector<StatusCode> script_;
  int served_ = 0;
};

TEST_F(NamenodeClientTest, RetriesUnavailableAndTimeoutUntilAnAnswer) {
  script_ = {StatusCode::kUnavailable, StatusCode::kTimeout, StatusCode::kUnavailable};
  Run([this](NamenodeClient& namenode, Env&) {
    bool retried = false;
    EXPECT_TRUE(Stat(namenode, &retried).ok());
    EXPECT_TRUE(retried);
    EXPECT_EQ(served_, 4);
    // Every attempt is a request sent, and counted.
    EXPECT_EQ(namenode.call_counts(),
              (NamenodeClient::CallCounts{{std::string(rpc::nn::kStat.name), 4}}));
  });
}

TEST_F(NamenodeClientTest, AnyOtherStatusIsTheAnswer) {
  script_ = {StatusCode::kNotFound, StatusCode::kPermissionDenied};
  Run([this](NamenodeClient& namenode, Env&) {
    bool retried = true;
    EXPECT_EQ(Stat(namenode, &retried).code(), StatusCode::kNotFound);
    EXPECT_FALSE(retried);
    EXPECT_EQ(Stat(namenode).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(Stat(namenode).ok());
    EXPECT_EQ(served_, 3);
    EXPECT_EQ(namenode.call_counts().at(std::string(rpc::nn::kStat.name)), 3u);
  });
}

TEST_F(NamenodeClientTest, GivesUpAfterItsAttempts) {
  options_.attempts = 3;
  script_.assign(10, StatusCode::kUnavailable);
  Run([this](NamenodeClient& namenode, Env&) {
    const Status status = Stat(namenode);
    EXPECT_EQ(status.code(), StatusCode::kUnavailable);
    EXPECT_NE(status.ToString().find("failed after retries"), std::string::npos)
        << status.ToString();
    EXPECT_EQ(served_, 3);
    EXPECT_EQ(namenode.call_counts().at(std::string(rpc::nn::kStat.name)), 3u);
  });
}

TEST_F(NamenodeClientTest, AnUnreachableNamenodeCountsEveryAttempt) {
  options_.namenode = Address{"nowhere"};
  options_.attempts = 2;
  Run([this](NamenodeClient& namenode, Env&) {
    EXPECT_TRUE(IsRetryable(Stat(namenode)));
    proto::ServerDefaultsRequest request;
    proto::ServerDefaultsReply reply;
    EXPECT_FALSE(namenode.Call(rpc::nn::kServerDefaults, request, &reply).ok());
    EXPECT_EQ(namenode.call_counts(),
              (NamenodeClient::CallCounts{{std::string(rpc::nn::kServerDefaults.name), 2},
                                          {std::string(rpc::nn::kStat.name), 2}}));
    EXPECT_EQ(served_, 0);
  });
}

TEST_F(NamenodeClientTest, BackoffStaysWithinHalfAndAllOfTheCappedExponential) {
  options_.backoff_initial = milliseconds(50);
  options_.backoff_max = std::chrono::seconds(2);
  Run([this](NamenodeClient& namenode, Env& env) {
    for (uint32_t attempt = 1; attempt <= 40; ++attempt) {
      const int64_t exponential =
          std::min<int64_t>(2000, int64_t{50} << std::min<uint32_t>(attempt - 1, 20));
      const Instant before = env.Now();
      ASSERT_TRUE(namenode.Backoff(attempt).ok());
      const Duration slept = env.Now() - before;
      EXPECT_GE(slept, milliseconds(exponential / 2)) << "attempt " << attempt;
      EXPECT_LE(slept, milliseconds(exponential)) << "attempt " << attempt;
    }
    EXPECT_TRUE(namenode.call_counts().empty());  // backing off sends nothing
  });
}

// The retry cache's key (issue 13): every attempt of one mutation carries the same client and
// call ids, the next mutation the next call id.
TEST_F(NamenodeClientTest, EveryAttemptOfAMutationCarriesTheSameCallIdAndAReadNone) {
  std::vector<rpc::CallKey> keys;
  std::vector<StatusCode> deletes = {StatusCode::kTimeout, StatusCode::kUnavailable};
  router_.Add(rpc::nn::kDelete,
              [&](const proto::DeleteRequest&, proto::DeleteReply*, rpc::Exchange& exchange) {
                keys.push_back(exchange.key);
                if (deletes.empty()) return Status::Ok();
                const StatusCode code = deletes.front();
                deletes.erase(deletes.begin());
                return Status(code, "scripted");
              });
  Run([&](NamenodeClient& namenode, Env&) {
    proto::DeleteReply reply;
    ASSERT_TRUE(namenode.Call(rpc::nn::kDelete, proto::DeleteRequest(), &reply).ok());
    ASSERT_EQ(keys.size(), 3u);
    EXPECT_NE(keys[0].client_id, 0u);
    EXPECT_EQ(keys[0].client_id, namenode.client_id());
    EXPECT_NE(keys[0].call_id, 0u);
    for (const rpc::CallKey& key : keys) {
      EXPECT_EQ(key.client_id, keys[0].client_id);
      EXPECT_EQ(key.call_id, keys[0].call_id);
    }
    EXPECT_TRUE(Stat(namenode).ok());  // a read between them takes no call id
    ASSERT_TRUE(namenode.Call(rpc::nn::kDelete, proto::DeleteRequest(), &reply).ok());
    ASSERT_EQ(keys.size(), 4u);
    EXPECT_EQ(keys[3].client_id, keys[0].client_id);
    EXPECT_EQ(keys[3].call_id, keys[0].call_id + 1);
  });
}

TEST(IsRetryableTest, OnlyTimeoutUnavailableAndNotActive) {
  EXPECT_TRUE(IsRetryable(Status(StatusCode::kTimeout, "")));
  EXPECT_TRUE(IsRetryable(Status(StatusCode::kUnavailable, "")));
  EXPECT_TRUE(IsRetryable(Status(StatusCode::kNotActive, "")));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kFenced, "")));
  EXPECT_FALSE(IsRetryable(Status::Ok()));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kNodeDown, "")));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kNotFound, "")));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kAlreadyExists, "")));
}

// Namenodes "nn-a", "nn-b", "nn-c" whose nn.Stat answers their scripted statuses in turn
// (then OK); those in `crashed_` are down from the start. The client's list names them all.
class NamenodeFailoverTest : public ::testing::Test {
 protected:
  void Run(std::function<void(NamenodeClient&, Env&)> body) {
    sim::Simulator sim(kSeed);
    sim::Hardware hardware(sim);
    std::vector<NodeId> nodes;
    for (const std::string& name : names_) {
      sim::NodeOptions nn;
      nn.name = name;
      nodes.push_back(hardware.AddNode(nn, [this, name](sim::SimProcess& process) {
        routers_[name].Add(rpc::nn::kStat,
                           [this, name](const proto::StatRequest& request, proto::StatReply* reply,
                                        rpc::Exchange&) -> Status {
                             ++served_[name];
                             std::vector<Status>& script = scripts_[name];
                             if (!script.empty()) {
                               const Status status = script.front();
                               script.erase(script.begin());
                               return status;
                             }
                             reply->mutable_status()->set_name(request.path() + "@" + name);
                             return Status::Ok();
                           });
        ASSERT_TRUE(process.transport().Serve(routers_[name].AsHandler()).ok());
      }));
    }
    sim::NodeOptions client;
    client.name = "client";
    bool finished = false;
    nodes.push_back(hardware.AddNode(client, [&](sim::SimProcess& process) {
      NamenodeClient namenode(process.env(), process.transport(), options_);
      body(namenode, process.env());
      finished = true;
    }));
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (i < names_.size() && crashed_.contains(names_[i])) continue;
      sim.StartNode(nodes[i]);
    }
    sim.RunFor(std::chrono::minutes(10));
    EXPECT_TRUE(finished);
    EXPECT_TRUE(sim.Shutdown().ok());
  }

  // nn.Stat of "/f": the name of the namenode that answered, or the error.
  Result<std::string> Stat(NamenodeClient& namenode, bool* retried = nullptr) {
    proto::StatRequest request;
    request.set_path("/f");
    proto::StatReply reply;
    GRANARY_RETURN_IF_ERROR(namenode.Call(rpc::nn::kStat, request, &reply, {}, nullptr, retried));
    return reply.status().name().substr(3);
  }

  static Status NotActive(std::string active) {
    return Status(StatusCode::kNotActive, std::move(active));
  }

  const std::vector<std::string> names_ = {"nn-a", "nn-b", "nn-c"};
  ClientOptions options_ = [] {
    ClientOptions options;
    options.namenode = Address{"nn-a,nn-b,nn-c"};
    options.rpc_timeout = std::chrono::seconds(1);
    options.backoff_initial = milliseconds(200);
    options.failover_timeout = std::chrono::seconds(5);
    // These tests follow calls to the active (redirects, rotation); Stat is a read, which
    // the default policy would spread over the namenodes (consistent_reads_test covers that).
    options.read_policy = ReadPolicy::kActive;
    return options;
  }();
  std::map<std::string, rpc::Router> routers_;
  std::map<std::string, std::vector<Status>> scripts_;
  std::map<std::string, int> served_;
  std::set<std::string> crashed_;
};

TEST_F(NamenodeFailoverTest, NotActiveNamingTheActiveSendsTheCallThereAtOnce) {
  scripts_["nn-a"] = {NotActive("nn-c")};
  Run([this](NamenodeClient& namenode, Env& env) {
    const Instant start = env.Now();
    bool retried = true;
    EXPECT_EQ(Stat(namenode, &retried).value(), "nn-c");
    // No backoff (at least backoff_initial / 2) before following the redirect.
    EXPECT_LT(env.Now() - start, options_.backoff_initial / 2);
    EXPECT_FALSE(retried);
    EXPECT_EQ(served_["nn-b"], 0);
    // The client stays with the active: the next call goes straight there.
    EXPECT_EQ(Stat(namenode).value(), "nn-c");
    EXPECT_EQ(served_["nn-a"], 1);
    EXPECT_EQ(served_["nn-c"], 2);
    EXPECT_EQ(namenode.locator().current(), Address{"nn-c"});
    EXPECT_EQ(namenode.call_counts().at(std::string(rpc::nn::kStat.name)), 3u);
  });
}

TEST_F(NamenodeFailoverTest, ADeadFirstNamenodeMakesTheCallRotateToTheNext) {
  crashed_ = {"nn-a"};
  Run([this](NamenodeClient& namenode, Env&) {
    bool retried = false;
    EXPECT_EQ(Stat(namenode, &retried).value(), "nn-b");
    // The request to the dead namenode may have run as far as the client can tell.
    EXPECT_TRUE(retried);
    EXPECT_EQ(Stat(namenode).value(), "nn-b");
    EXPECT_EQ(served_["nn-b"], 2);
    EXPECT_EQ(namenode.call_counts().at(std::string(rpc::nn::kStat.name)), 3u);
  });
}

TEST_F(NamenodeFailoverTest, NotActiveWithoutAnAddressRotatesAfterABackoff) {
  scripts_["nn-a"] = {NotActive("")};
  scripts_["nn-b"] = {NotActive("")};
  Run([this](NamenodeClient& namenode, Env& env) {
    const Instant start = env.Now();
    bool retried = true;
    EXPECT_EQ(Stat(namenode, &retried).value(), "nn-c");
    // Two backoffs, each at least half of the capped exponential (200 ms, then 400 ms).
    EXPECT_GE(env.Now() - start, milliseconds(100 + 200));
    EXPECT_FALSE(retried);  // standbys ran nothing
    EXPECT_EQ(served_["nn-a"], 1);
    EXPECT_EQ(served_["nn-b"], 1);
    EXPECT_EQ(served_["nn-c"], 1);
  });
}

TEST_F(NamenodeFailoverTest, AListKeepsTryingPastAttemptsUntilTheFailoverTimeout) {
  options_.attempts = 2;
  for (const std::string& name : names_) scripts_[name].assign(1000, NotActive(""));
  Run([this](NamenodeClient& namenode, Env& env) {
    const Instant start = env.Now();
    const Result<std::string> answer = Stat(namenode);
    const Duration waited = env.Now() - start;
    ASSERT_FALSE(answer.ok());
    EXPECT_EQ(answer.code(), StatusCode::kNotActive);
    const std::string message = answer.status().ToString();
    EXPECT_NE(message.find("failover_timeout 5000 ms"), std::string::npos) << message;
    EXPECT_NE(message.find("on the namenodes nn-a, nn-b, nn-c"), std::string::npos) << message;
    EXPECT_GE(waited, options_.failover_timeout);
    // The try in flight and one backoff may end past the timeout, nothing more.
    EXPECT_LE(waited, options_.failover_timeout + options_.backoff_max + options_.rpc_timeout);
    const int served = served_["nn-a"] + served_["nn-b"] + served_["nn-c"];
    EXPECT_GT(served, 2);  // more than `attempts`
    EXPECT_EQ(namenode.call_counts().at(std::string(rpc::nn::kStat.name)),
              static_cast<uint64_t>(served));
  });
}

TEST_F(NamenodeFailoverTest, ATimeoutOfZeroStillTriesEveryNamenodeOnce) {
  options_.failover_timeout = Duration(0);
  crashed_ = {"nn-a", "nn-b"};
  Run([this](NamenodeClient& namenode, Env&) { EXPECT_EQ(Stat(namenode).value(), "nn-c"); });
}

TEST_F(NamenodeFailoverTest, AListWithAnEmptyItemIsAClearErrorAndSendsNothing) {
  options_.namenode = Address{"nn-a,,nn-b"};
  Run([this](NamenodeClient& namenode, Env&) {
    const Result<std::string> answer = Stat(namenode);
    EXPECT_EQ(answer.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(answer.status().message().find("item 2 is empty"), std::string::npos)
        << answer.status().ToString();
    EXPECT_TRUE(namenode.call_counts().empty());
    EXPECT_TRUE(served_.empty());
  });
}

}  // namespace
}  // namespace granary
