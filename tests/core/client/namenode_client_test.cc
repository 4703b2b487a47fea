// NamenodeClient against a scripted namenode on a simulated network: which statuses are
// retried and how often, the bounds of the backoff, and the per-method call counter.
#include "core/client/namenode_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
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

TEST(IsRetryableTest, OnlyTimeoutAndUnavailable) {
  EXPECT_TRUE(IsRetryable(Status(StatusCode::kTimeout, "")));
  EXPECT_TRUE(IsRetryable(Status(StatusCode::kUnavailable, "")));
  EXPECT_FALSE(IsRetryable(Status::Ok()));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kNodeDown, "")));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kNotFound, "")));
  EXPECT_FALSE(IsRetryable(Status(StatusCode::kAlreadyExists, "")));
}

}  // namespace
}  // namespace granary
