// FiberGroup on a simulated process: membership, Close, Drain, and the fibers that start
// too late (after Close, or after the group is gone) doing nothing.
#include "core/common/fiber_group.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"

namespace granary {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kSeed = 7;

// Runs `body` on the start fiber of a lone simulated node and expects it to finish.
void RunOnANode(const std::function<void(Env&)>& body) {
  sim::Simulator sim(kSeed);
  bool finished = false;
  sim::NodeOptions options;
  options.name = "node";
  const NodeId id = sim.AddNode(options, [&](sim::SimProcess& process) {
    body(process.env());
    finished = true;
  });
  sim.StartNode(id);
  sim.RunFor(std::chrono::minutes(1));
  EXPECT_TRUE(finished) << "the body never finished";
  EXPECT_TRUE(sim.Shutdown().ok());
}

TEST(FiberGroupTest, SpawnedFibersAreMembersUntilTheyEnd) {
  RunOnANode([](Env& env) {
    FiberGroup group(env);
    std::vector<int> ended;
    for (int i = 1; i <= 3; ++i) {
      group.Spawn("member", [&env, &ended, i] {
        ASSERT_TRUE(env.SleepFor(milliseconds(10 * i)).ok());
        ended.push_back(i);
      });
    }
    EXPECT_EQ(group.members(), 0u);  // spawned, not started yet
    ASSERT_TRUE(env.SleepFor(milliseconds(1)).ok());
    EXPECT_EQ(group.members(), 3u);
    ASSERT_TRUE(env.SleepFor(milliseconds(15)).ok());
    EXPECT_EQ(group.members(), 2u);
    EXPECT_EQ(ended, std::vector<int>{1});
    group.Close();
    EXPECT_TRUE(group.closed());
    group.Drain();  // waits for the two still sleeping
    EXPECT_EQ(group.members(), 0u);
    EXPECT_EQ(ended, (std::vector<int>{1, 2, 3}));
  });
}

TEST(FiberGroupTest, AFiberStartingAfterCloseDoesNotRun) {
  RunOnANode([](Env& env) {
    FiberGroup group(env);
    bool ran = false;
    group.Spawn("late", [&ran] { ran = true; });
    group.Close();  // before the fiber had a chance to start
    ASSERT_TRUE(env.SleepFor(milliseconds(1)).ok());
    EXPECT_FALSE(ran);
    EXPECT_EQ(group.members(), 0u);
    group.Drain();  // nothing to wait for
    group.Spawn("after", [&ran] { ran = true; });
    ASSERT_TRUE(env.SleepFor(milliseconds(1)).ok());
    EXPECT_FALSE(ran);
  });
}

TEST(FiberGroupTest, AFiberStartingAfterTheGroupIsGoneDoesNotRun) {
  RunOnANode([](Env& env) {
    bool ran = false;
    {
      auto group = std::make_unique<FiberGroup>(env);
      group->Spawn("orphan", [&ran] { ran = true; });
    }  // destroyed before the fiber starts: its weak token has expired
    ASSERT_TRUE(env.SleepFor(milliseconds(1)).ok());
    EXPECT_FALSE(ran);
  });
}

TEST(FiberGroupTest, AWrappedHandlerRunsAsAMemberUntilClosed) {
  RunOnANode([](Env& env) {
    FiberGroup group(env);
    uint64_t members_inside = 0;
    RpcHandler handler = group.Wrap(
        [&group, &members_inside](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
          members_inside = group.members();
          RpcReply reply;
          reply.body = "echo:" + request.body;
          return reply;
        });
    RpcContext context;
    RpcRequest request;
    request.body = "x";
    Result<RpcReply> reply = handler(context, request);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "echo:x");
    EXPECT_EQ(members_inside, 1u);
    EXPECT_EQ(group.members(), 0u);
    // A handler's error is passed through as it is.
    RpcHandler failing = group.Wrap([](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
      return Status(StatusCode::kNotFound, "nothing");
    });
    EXPECT_EQ(failing(context, request).code(), StatusCode::kNotFound);
    EXPECT_EQ(group.members(), 0u);
    group.Close();
    members_inside = 0;
    EXPECT_EQ(handler(context, request).code(), StatusCode::kUnavailable);
    EXPECT_EQ(members_inside, 0u);  // the handler did not run
    group.Drain();
  });
}

TEST(FiberGroupTest, AWrappedHandlerOutlivingItsGroupAnswersUnavailable) {
  RunOnANode([](Env& env) {
    bool ran = false;
    RpcHandler handler;
    {
      FiberGroup group(env);
      handler = group.Wrap([&ran](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
        ran = true;
        return RpcReply{};
      });
    }
    RpcContext context;
    RpcRequest request;
    EXPECT_EQ(handler(context, request).code(), StatusCode::kUnavailable);
    EXPECT_FALSE(ran);
  });
}

}  // namespace
}  // namespace granary
