// The contract of the Transport seam (core/seams/transport.h), as a typed suite over a
// Harness (seam_world.h). Instantiate with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, TransportContractTest, ::testing::Types<MyHarness>);
//
// Handlers may outlive the body that installed them (a request still sleeping when the body
// returns), so they capture nothing from the body's stack but by shared_ptr.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/seams/seam_world.h"

namespace granary::seams_test {

template <typename Harness>
class TransportContractTest : public ::testing::Test {};

TYPED_TEST_SUITE_P(TransportContractTest);

namespace transport_contract {

constexpr Duration kCallBudget = std::chrono::seconds(10);

// Replies with the request reversed: method + "|" + body as the body, the payload reversed.
inline RpcHandler Mirror() {
  return [](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
    std::string payload(request.payload.rbegin(), request.payload.rend());
    return RpcReply{request.method + "|" + request.body, std::move(payload)};
  };
}

}  // namespace transport_contract

TYPED_TEST_P(TransportContractTest, RoundTripCarriesBodyAndPayload) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    ASSERT_TRUE(world.server().Serve(transport_contract::Mirror()).ok());
    Env& env = world.env();
    Result<RpcReply> reply = world.client().Call(
        world.server().self(), RpcRequest{"echo", "body bytes", "abc"}, env.Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "echo|body bytes");
    EXPECT_EQ(reply->payload, "cba");
    // Empty body and payload, and binary bytes, travel as they are.
    reply = world.client().Call(world.server().self(), RpcRequest{"m", "", ""},
                                env.Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "m|");
    EXPECT_EQ(reply->payload, "");
    const std::string binary("\0\xff\n\0", 4);
    reply = world.client().Call(world.server().self(), RpcRequest{"bin", binary, binary},
                                env.Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "bin|" + binary);
    EXPECT_EQ(reply->payload, std::string(binary.rbegin(), binary.rend()));
  });
}

TYPED_TEST_P(TransportContractTest, MebibytePayloadsBothWays) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    ASSERT_TRUE(world.server().Serve(transport_contract::Mirror()).ok());
    const std::string payload = PatternBytes(1 << 20, 42);
    Result<RpcReply> reply = world.client().Call(
        world.server().self(), RpcRequest{"big", "b", payload}, world.env().Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    ASSERT_EQ(reply->payload.size(), payload.size());
    EXPECT_TRUE(reply->payload == std::string(payload.rbegin(), payload.rend()));
    EXPECT_EQ(reply->body, "big|b");
  });
}

// Payloads on either side of the sizes where an implementation may change how it sends a
// message (ZmqTransport: packed with small ones into one frame up to 4 KiB of payload and
// 16 KiB in all, its own frame beyond) arrive exact, also when many are in flight at once.
TYPED_TEST_P(TransportContractTest, PayloadsAroundFramingLimitsArriveExactly) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    ASSERT_TRUE(world.server().Serve(transport_contract::Mirror()).ok());
    Env& env = world.env();
    Transport& client = world.client();
    const Address server = world.server().self();
    const std::vector<size_t> payload_sizes = {
        0, 1, 4095, 4096, 4097, 16 * 1024 - 100, 16 * 1024, 16 * 1024 + 1, 64 * 1024};
    const std::vector<size_t> body_sizes = {0, 100, 12 * 1024};
    constexpr int kFibers = 4;
    int fibers_done = 0;
    int mismatches = 0;
    int failures = 0;
    for (int f = 0; f < kFibers; ++f) {
      env.Spawn("caller", [&, f] {
        for (size_t body_bytes : body_sizes) {
          for (size_t payload_bytes : payload_sizes) {
            const std::string body = PatternBytes(body_bytes, static_cast<uint32_t>(f));
            const std::string payload = PatternBytes(payload_bytes, static_cast<uint32_t>(f + 7));
            Result<RpcReply> reply =
                client.Call(server, RpcRequest{"m", body, payload}, env.Now() + kCallBudget);
            if (!reply.ok()) {
              ++failures;
              continue;
            }
            if (reply->body != "m|" + body ||
                reply->payload != std::string(payload.rbegin(), payload.rend())) {
              ++mismatches;
            }
          }
        }
        ++fibers_done;
      });
    }
    ASSERT_TRUE(WaitFor(env, [&fibers_done] { return fibers_done == kFibers; }));
    EXPECT_EQ(failures, 0);
    EXPECT_EQ(mismatches, 0);
  });
}

TYPED_TEST_P(TransportContractTest, HandlerSeesTheRequestContext) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    Env& server_env = world.server_env();
    ASSERT_TRUE(
        world.server()
            .Serve([&server_env](const RpcContext& context, RpcRequest&) -> Result<RpcReply> {
              // The remaining budget, as the handler's own clock tells it.
              const Duration left = context.deadline - server_env.Now();
              return RpcReply{std::to_string(left.count()), context.from.value};
            })
            .ok());
    Result<RpcReply> reply = world.client().Call(world.server().self(), RpcRequest{"ctx", "", ""},
                                                 world.env().Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    const int64_t left_ns = std::stoll(reply->body);
    EXPECT_GT(left_ns, 0);
    EXPECT_LE(left_ns, kCallBudget.count());
    EXPECT_FALSE(reply->payload.empty()) << "context.from names the caller";
  });
}

TYPED_TEST_P(TransportContractTest, HandlerErrorsTravelWithCodeAndMessage) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    ASSERT_TRUE(world.server()
                    .Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                      const auto code = StatusCodeFromWire(std::stoi(request.body));
                      return Status(*code, "handler says: " + request.payload);
                    })
                    .ok());
    for (StatusCode code :
         {StatusCode::kNotFound, StatusCode::kInvalidArgument, StatusCode::kLeaseConflict,
          StatusCode::kNoSpace, StatusCode::kStale, StatusCode::kInternal}) {
      const std::string detail = "detail of " + std::string(StatusCodeName(code));
      Result<RpcReply> reply = world.client().Call(
          world.server().self(),
          RpcRequest{"fail", std::to_string(static_cast<int32_t>(code)), detail},
          world.env().Now() + kCallBudget);
      ASSERT_FALSE(reply.ok());
      EXPECT_EQ(reply.code(), code);
      EXPECT_EQ(reply.status().message(), "handler says: " + detail);
    }
  });
}

TYPED_TEST_P(TransportContractTest, DeadlinePassesAsTimeout) {
  TypeParam::Run([](SeamWorld& world) {
    Env& server_env = world.server_env();
    auto handled = std::make_shared<int>(0);
    ASSERT_TRUE(
        world.server()
            .Serve([&server_env, handled](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
              ++*handled;
              if (!server_env.SleepFor(std::chrono::seconds(2)).ok()) {
                return Status(StatusCode::kNodeDown, "stopping");
              }
              return RpcReply{"late", ""};
            })
            .ok());
    Env& env = world.env();
    const Instant deadline = env.Now() + std::chrono::milliseconds(100);
    Result<RpcReply> reply =
        world.client().Call(world.server().self(), RpcRequest{"slow", "", ""}, deadline);
    EXPECT_EQ(reply.code(), StatusCode::kTimeout) << reply.status().ToString();
    EXPECT_GE(env.Now(), deadline) << "a timeout before the deadline";
    EXPECT_EQ(*handled, 1);
    // A deadline already past fails without waiting.
    reply = world.client().Call(world.server().self(), RpcRequest{"slow", "", ""},
                                env.Now() - std::chrono::milliseconds(1));
    EXPECT_EQ(reply.code(), StatusCode::kTimeout);
    // The transport still works afterwards: the late reply does not confuse the next call.
    ASSERT_TRUE(world.server().Serve(transport_contract::Mirror()).ok());
    ASSERT_TRUE(env.SleepFor(std::chrono::seconds(3)).ok());
    reply = world.client().Call(world.server().self(), RpcRequest{"next", "", ""},
                                env.Now() + transport_contract::kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "next|");
  });
}

TYPED_TEST_P(TransportContractTest, UnknownAddressIsUnavailable) {
  TypeParam::Run([](SeamWorld& world) {
    Result<RpcReply> reply = world.client().Call(world.UnknownAddress(), RpcRequest{"x", "", ""},
                                                 world.env().Now() + std::chrono::seconds(5));
    EXPECT_EQ(reply.code(), StatusCode::kUnavailable) << reply.status().ToString();
  });
}

TYPED_TEST_P(TransportContractTest, ServeReplacesTheHandler) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    auto constant = [](std::string text) -> RpcHandler {
      return [text](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
        return RpcReply{text, ""};
      };
    };
    ASSERT_TRUE(world.server().Serve(constant("first")).ok());
    Result<RpcReply> reply = world.client().Call(world.server().self(), RpcRequest{"q", "", ""},
                                                 world.env().Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "first");
    ASSERT_TRUE(world.server().Serve(constant("second")).ok());
    reply = world.client().Call(world.server().self(), RpcRequest{"q", "", ""},
                                world.env().Now() + kCallBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "second");
  });
}

// Requests run on fibers of their own and may finish out of order; every caller still gets
// its own reply.
TYPED_TEST_P(TransportContractTest, ConcurrentCallsEachGetTheirOwnReply) {
  using transport_contract::kCallBudget;
  TypeParam::Run([](SeamWorld& world) {
    constexpr int kFibers = 8;
    constexpr int kCallsPerFiber = 25;
    Env& server_env = world.server_env();
    struct Shared {
      int in_handler = 0;
      int most_in_handler = 0;
      int fibers_done = 0;
      int mismatches = 0;
      int failures = 0;
    };
    auto shared = std::make_shared<Shared>();
    ASSERT_TRUE(
        world.server()
            .Serve(
                [&server_env, shared](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                  ++shared->in_handler;
                  shared->most_in_handler = std::max(shared->most_in_handler, shared->in_handler);
                  const Duration pause(std::chrono::microseconds(server_env.random().Below(2000)));
                  const Status slept = server_env.SleepFor(pause);
                  --shared->in_handler;
                  if (!slept.ok()) return slept;
                  return RpcReply{"re:" + request.body, request.payload + request.payload};
                })
            .ok());
    Env& env = world.env();
    Transport& client = world.client();
    const Address server = world.server().self();
    for (int f = 0; f < kFibers; ++f) {
      env.Spawn("caller", [&env, &client, server, shared, f] {
        for (int c = 0; c < kCallsPerFiber; ++c) {
          const std::string tag = std::to_string(f) + "/" + std::to_string(c);
          Result<RpcReply> reply = client.Call(
              server, RpcRequest{"tagged", tag, PatternBytes(64 + c, f)}, env.Now() + kCallBudget);
          if (!reply.ok()) {
            ++shared->failures;
            continue;
          }
          const std::string pattern = PatternBytes(64 + c, f);
          if (reply->body != "re:" + tag || reply->payload != pattern + pattern) {
            ++shared->mismatches;
          }
        }
        ++shared->fibers_done;
      });
    }
    ASSERT_TRUE(WaitFor(env, [&shared] { return shared->fibers_done == kFibers; }));
    EXPECT_EQ(shared->failures, 0);
    EXPECT_EQ(shared->mismatches, 0);
    EXPECT_GT(shared->most_in_handler, 1) << "requests ran one at a time";
  });
}

REGISTER_TYPED_TEST_SUITE_P(TransportContractTest, RoundTripCarriesBodyAndPayload,
                            PayloadsAroundFramingLimitsArriveExactly, MebibytePayloadsBothWays,
                            HandlerSeesTheRequestContext, HandlerErrorsTravelWithCodeAndMessage,
                            DeadlinePassesAsTimeout, UnknownAddressIsUnavailable,
                            ServeReplacesTheHandler, ConcurrentCallsEachGetTheirOwnReply);

}  // namespace granary::seams_test
