// ZmqTransport and RealEnv beyond the seam contract: load, large payloads, deadlines,
// suspending handlers, CURVE authentication, the loopback-only default, malformed input,
// and shutdown. Every server listens on 127.0.0.1.
#include "net/zmq_transport.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "core/rpc/wire.h"
#include "net/real_env.h"
#include "tests/net/net_test_util.h"
#include "tests/seams/seam_world.h"

namespace granary::net {
namespace {

using seams_test::PatternBytes;
using seams_test::WaitFor;

constexpr Duration kBudget = std::chrono::seconds(10);

std::unique_ptr<ZmqTransport> MustCreate(RealEnv& env, ZmqTransportOptions options) {
  Result<std::unique_ptr<ZmqTransport>> transport = ZmqTransport::Create(env, std::move(options));
  EXPECT_TRUE(transport.ok()) << transport.status().ToString();
  return transport.ok() ? std::move(transport).value() : nullptr;
}

ZmqTransportOptions Loopback() {
  ZmqTransportOptions options;
  options.listen = "127.0.0.1:0";
  return options;
}

// A DEALER socket of the test's own, to send `server` raw frames.
zmq::socket_t RawDealer(zmq::context_t& context, const ZmqTransport& server) {
  zmq::socket_t raw(context, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.connect("tcp://" + server.self().value);
  return raw;
}

// Serves every request with its body and "!", and its payload as it came.
Status ServeExclaimed(ZmqTransport& server) {
  return server.Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
    return RpcReply{request.body + "!", request.payload};
  });
}

// `value` as `bytes` little-endian bytes.
std::string LittleEndian(size_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
  return out;
}

// A packed frame (zmq_transport.h) carrying `m`, its header claiming the lengths given.
std::string PackedFrame(const rpc::WireMessage& m, size_t envelope_bytes, size_t body_bytes) {
  return LittleEndian(envelope_bytes, 2) + LittleEndian(body_bytes, 4) + m.envelope + m.body +
         m.payload;
}
std::string PackedFrame(const rpc::WireMessage& m) {
  return PackedFrame(m, m.envelope.size(), m.body.size());
}

// Runs `body` as the main fiber of a fresh RealEnv on a fresh thread, with a server and a
// client transport on loopback; both are closed after every fiber has finished.
void WithPair(
    const std::function<void(RealEnv&, ZmqTransport& server, ZmqTransport& client)>& body) {
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    std::unique_ptr<ZmqTransport> server = MustCreate(env, Loopback());
    std::unique_ptr<ZmqTransport> client = MustCreate(env, ZmqTransportOptions{});
    ASSERT_TRUE(server && client);
    bool finished = false;
    const Status ran = env.RunMain([&] {
      body(env, *server, *client);
      finished = true;
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
    EXPECT_TRUE(finished);
    EXPECT_EQ(env.live_fibers(), 0u);
  });
}

TEST(ZmqTransportTest, SixtyFourFibersInFlightAllAnswered) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    constexpr int kFibers = 64;
    constexpr int kCallsPerFiber = 40;
    struct Shared {
      int in_handler = 0;
      int most_in_handler = 0;
      int done = 0;
      int bad = 0;
    };
    auto shared = std::make_shared<Shared>();
    ASSERT_TRUE(
        server
            .Serve([&env, shared](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
              ++shared->in_handler;
              shared->most_in_handler = std::max(shared->most_in_handler, shared->in_handler);
              const Status slept = env.SleepFor(Duration(0));
              --shared->in_handler;
              if (!slept.ok()) return slept;
              return RpcReply{"re:" + request.body, request.payload};
            })
            .ok());
    for (int f = 0; f < kFibers; ++f) {
      env.Spawn("caller", [&env, &client, &server, shared, f] {
        for (int c = 0; c < kCallsPerFiber; ++c) {
          const std::string tag = std::to_string(f) + "/" + std::to_string(c);
          Result<RpcReply> reply =
              client.Call(server.self(), RpcRequest{"m", tag, tag + tag}, env.Now() + kBudget);
          if (!reply.ok() || reply->body != "re:" + tag || reply->payload != tag + tag) {
            ++shared->bad;
          }
        }
        ++shared->done;
      });
    }
    ASSERT_TRUE(WaitFor(env, [&] { return shared->done == kFibers; }));
    EXPECT_EQ(shared->bad, 0);
    EXPECT_GT(shared->most_in_handler, 1);
    EXPECT_EQ(server.stats().requests_served, uint64_t{kFibers * kCallsPerFiber});
    EXPECT_EQ(server.stats().malformed_dropped, 0u);
  });
}

TEST(ZmqTransportTest, FourMebibytePayloadsBothWays) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    ASSERT_TRUE(server
                    .Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                      std::string reversed(request.payload.rbegin(), request.payload.rend());
                      return RpcReply{std::to_string(request.payload.size()), std::move(reversed)};
                    })
                    .ok());
    const std::string payload = PatternBytes(4 << 20, 9);
    Result<RpcReply> reply =
        client.Call(server.self(), RpcRequest{"big", "", payload}, env.Now() + kBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, std::to_string(4 << 20));
    ASSERT_EQ(reply->payload.size(), payload.size());
    EXPECT_TRUE(reply->payload == std::string(payload.rbegin(), payload.rend()));
  });
}

TEST(ZmqTransportTest, DeadlineExpiresWhenTheServerDoesNotAnswer) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    auto handled = std::make_shared<int>(0);
    ASSERT_TRUE(server
                    .Serve([&env, handled](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
                      ++*handled;
                      // Never answers in time: sleeps until the env stops.
                      return env.SleepUntil(kInstantMax);
                    })
                    .ok());
    const Instant deadline = env.Now() + std::chrono::milliseconds(200);
    Result<RpcReply> reply = client.Call(server.self(), RpcRequest{"hang", "", ""}, deadline);
    EXPECT_EQ(reply.code(), StatusCode::kTimeout) << reply.status().ToString();
    EXPECT_GE(env.Now(), deadline);
    EXPECT_EQ(*handled, 1);
  });
}

TEST(ZmqTransportTest, ASleepingHandlerDoesNotHoldBackOtherRequests) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    struct Shared {
      int fast_done = 0;
      int fast_done_when_slow_returned = -1;
      bool slow_done = false;
    };
    auto shared = std::make_shared<Shared>();
    ASSERT_TRUE(server
                    .Serve([&env](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                      if (request.method == "slow") {
                        GRANARY_RETURN_IF_ERROR(env.SleepFor(std::chrono::milliseconds(1500)));
                      }
                      return RpcReply{request.method, ""};
                    })
                    .ok());
    env.Spawn("slow", [&env, &client, &server, shared] {
      Result<RpcReply> reply =
          client.Call(server.self(), RpcRequest{"slow", "", ""}, env.Now() + kBudget);
      EXPECT_TRUE(reply.ok()) << reply.status().ToString();
      shared->fast_done_when_slow_returned = shared->fast_done;
      shared->slow_done = true;
    });
    ASSERT_TRUE(env.SleepFor(std::chrono::milliseconds(50)).ok());
    for (int i = 0; i < 20; ++i) {
      Result<RpcReply> reply =
          client.Call(server.self(), RpcRequest{"fast", "", ""}, env.Now() + kBudget);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      EXPECT_EQ(reply->body, "fast");
      ++shared->fast_done;
    }
    ASSERT_TRUE(WaitFor(env, [&] { return shared->slow_done; }));
    EXPECT_EQ(shared->fast_done_when_slow_returned, 20);
  });
}

TEST(ZmqTransportTest, UnreachableAndMalformedAddressesAreUnavailable) {
  WithPair([](RealEnv& env, ZmqTransport&, ZmqTransport& client) {
    for (const char* address : {"127.0.0.1:1", "no-port", "127.0.0.1:", ":80", "127.0.0.1:99999",
                                "a b:1", "127.0.0.1:0", "0.0.0.0:5"}) {
      SCOPED_TRACE(address);
      Result<RpcReply> reply =
          client.Call(Address{address}, RpcRequest{"x", "", ""}, env.Now() + kBudget);
      EXPECT_EQ(reply.code(), StatusCode::kUnavailable) << reply.status().ToString();
    }
    // A refused peer stays refused for the next call too.
    Result<RpcReply> again =
        client.Call(Address{"127.0.0.1:1"}, RpcRequest{"x", "", ""}, env.Now() + kBudget);
    EXPECT_EQ(again.code(), StatusCode::kUnavailable);
  });
}

TEST(ZmqTransportTest, ListeningBeyondLoopbackNeedsKeysOrAnExplicitOptOut) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    ZmqTransportOptions any;
    any.listen = "0.0.0.0:0";
    Result<std::unique_ptr<ZmqTransport>> refused = ZmqTransport::Create(env, any);
    ASSERT_EQ(refused.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(refused.status().message().find("insecure-bind-any"), std::string::npos);
    any.listen = "192.0.2.1:7000";  // a documentation address, never bound
    EXPECT_EQ(ZmqTransport::Create(env, any).code(), StatusCode::kInvalidArgument);
    // With the opt-out the security check passes; the wildcard then needs an advertised
    // address (checked before anything is bound, so no test listens beyond loopback).
    any.listen = "0.0.0.0:0";
    any.insecure_bind_any = true;
    Result<std::unique_ptr<ZmqTransport>> no_advertise = ZmqTransport::Create(env, any);
    ASSERT_EQ(no_advertise.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(no_advertise.status().message().find("advertised"), std::string::npos);
    // Loopback names are fine without keys.
    for (const char* listen : {"127.0.0.1:0", "localhost:0", "127.0.0.2:0"}) {
      ZmqTransportOptions loopback;
      loopback.listen = listen;
      Result<std::unique_ptr<ZmqTransport>> ok = ZmqTransport::Create(env, loopback);
      EXPECT_TRUE(ok.ok()) << listen << ": " << ok.status().ToString();
    }
    ZmqTransportOptions bad;
    bad.listen = "127.0.0.1";
    EXPECT_EQ(ZmqTransport::Create(env, bad).code(), StatusCode::kInvalidArgument);
  });
}

TEST(ZmqTransportTest, CurveAdmitsListedClientsOnly) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    Result<CurveKeyPair> server_keys = GenerateCurveKeyPair();
    Result<CurveKeyPair> listed = GenerateCurveKeyPair();
    Result<CurveKeyPair> unlisted = GenerateCurveKeyPair();
    ASSERT_TRUE(server_keys.ok() && listed.ok() && unlisted.ok());
    ZmqTransportOptions server_options = Loopback();
    server_options.curve_server = *server_keys;
    server_options.curve_allowed_clients = {listed->public_key};
    std::unique_ptr<ZmqTransport> server = MustCreate(env, server_options);
    auto client_with = [&](const CurveKeyPair& keys) {
      ZmqTransportOptions options;
      options.curve_client = keys;
      options.curve_peer_server_key = server_keys->public_key;
      return MustCreate(env, options);
    };
    std::unique_ptr<ZmqTransport> good = client_with(*listed);
    std::unique_ptr<ZmqTransport> bad = client_with(*unlisted);
    std::unique_ptr<ZmqTransport> plain = MustCreate(env, ZmqTransportOptions{});
    ASSERT_TRUE(server && good && bad && plain);
    auto handled = std::make_shared<int>(0);
    const Status ran = env.RunMain([&]() -> Status {
      EXPECT_TRUE(
          server
              ->Serve([handled](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                ++*handled;
                return RpcReply{"hello " + request.body, request.payload};
              })
              .ok());
      Result<RpcReply> reply =
          good->Call(server->self(), RpcRequest{"m", "listed", "p"}, env.Now() + kBudget);
      EXPECT_TRUE(reply.ok()) << reply.status().ToString();
      if (reply.ok()) {
        EXPECT_EQ(reply->body, "hello listed");
      }
      EXPECT_EQ(*handled, 1);
      for (ZmqTransport* refused : {bad.get(), plain.get()}) {
        const Instant deadline = env.Now() + std::chrono::seconds(2);
        Result<RpcReply> denied = refused->Call(server->self(), RpcRequest{"m", "x", ""}, deadline);
        EXPECT_FALSE(denied.ok());
        // A key the server does not admit is refused as such (not retryable); a client with no
        // key at all never completes a handshake.
        const StatusCode expected =
            refused == bad.get() ? StatusCode::kPermissionDenied : StatusCode::kUnavailable;
        EXPECT_TRUE(denied.code() == expected || denied.code() == StatusCode::kTimeout)
            << denied.status().ToString();
      }
      EXPECT_EQ(*handled, 1) << "a refused client's request reached the handler";
      EXPECT_GE(server->zap_refused(), 1u);
      // The listed client still works afterwards.
      reply = good->Call(server->self(), RpcRequest{"m", "again", ""}, env.Now() + kBudget);
      EXPECT_TRUE(reply.ok()) << reply.status().ToString();
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
    EXPECT_EQ(*handled, 2);
  });
}

// Each admitted key's identity reaches the handler with every request of its connection
// (the ZAP User-Id, core/security/identity.h), in every message shape.
TEST(ZmqTransportTest, CurveHandsTheKeysIdentityToTheHandler) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    Result<CurveKeyPair> server_keys = GenerateCurveKeyPair();
    Result<CurveKeyPair> alice = GenerateCurveKeyPair();
    Result<CurveKeyPair> bob = GenerateCurveKeyPair();
    ASSERT_TRUE(server_keys.ok() && alice.ok() && bob.ok());
    ZmqTransportOptions server_options = Loopback();
    server_options.curve_server = *server_keys;
    server_options.curve_allowed_clients = {alice->public_key, bob->public_key};
    server_options.curve_client_identities = {{alice->public_key, "alice:ml"},
                                              {bob->public_key, "bob"}};
    std::unique_ptr<ZmqTransport> server = MustCreate(env, server_options);
    auto client_with = [&](const CurveKeyPair& keys) {
      ZmqTransportOptions options;
      options.curve_client = keys;
      options.curve_peer_server_key = server_keys->public_key;
      return MustCreate(env, options);
    };
    std::unique_ptr<ZmqTransport> as_alice = client_with(*alice);
    std::unique_ptr<ZmqTransport> as_bob = client_with(*bob);
    ASSERT_TRUE(server && as_alice && as_bob);
    const Status ran = env.RunMain([&]() -> Status {
      EXPECT_TRUE(server
                      ->Serve([](const RpcContext& context, RpcRequest&) -> Result<RpcReply> {
                        return RpcReply{context.principal, ""};
                      })
                      .ok());
      for (int round = 0; round < 2; ++round) {
        // Small (packed or batched) and large (three frames) requests alike.
        for (const std::string& payload : {std::string("x"), std::string(64 * 1024, 'p')}) {
          Result<RpcReply> a =
              as_alice->Call(server->self(), RpcRequest{"m", "", payload}, env.Now() + kBudget);
          Result<RpcReply> b =
              as_bob->Call(server->self(), RpcRequest{"m", "", payload}, env.Now() + kBudget);
          EXPECT_EQ(a.ok() ? a->body : a.status().ToString(), "alice:ml");
          EXPECT_EQ(b.ok() ? b->body : b.status().ToString(), "bob");
        }
      }
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

TEST(ZmqTransportTest, BadKeysAreRejectedAtCreation) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    ZmqTransportOptions options = Loopback();
    options.curve_server = CurveKeyPair{"short", "short"};
    EXPECT_EQ(ZmqTransport::Create(env, options).code(), StatusCode::kInvalidArgument);
  });
}

// Messages a raw DEALER sends that no Granary client would: each is dropped and counted, the
// handler never sees them, and the server keeps serving.
TEST(ZmqTransportTest, MalformedMessagesAreDroppedAndTheServerKeepsServing) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    auto handled = std::make_shared<int>(0);
    ASSERT_TRUE(server
                    .Serve([handled](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                      ++*handled;
                      return RpcReply{request.body, ""};
                    })
                    .ok());
    zmq::context_t context;
    zmq::socket_t raw = RawDealer(context, server);
    auto send = [&raw](const std::vector<std::string>& frames) {
      for (size_t i = 0; i < frames.size(); ++i) {
        raw.send(zmq::buffer(frames[i]),
                 i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    };
    rpc::WireMessage good =
        rpc::EncodeRequest(RequestId(7), RpcRequest{"m", "body", "pay"}, std::chrono::seconds(5));
    rpc::WireMessage reply_shaped = rpc::EncodeReply(RequestId(8), RpcReply{"b", ""});
    std::vector<std::vector<std::string>> malformed = {
        {"garbage"},                                                       // one frame
        {good.envelope, good.body},                                        // two frames
        {good.envelope, good.body, good.payload, "extra"},                 // four frames
        {"not a protobuf \xff\xff", "body", "pay"},                        // undecodable envelope
        {good.envelope, "wrong length body", good.payload},                // lengths do not match
        {reply_shaped.envelope, reply_shaped.body, reply_shaped.payload},  // a reply
        {std::string(2000, 'e'), "", ""},  // envelope past its limit
        {""},                              // empty
    };
    for (const auto& frames : malformed) send(frames);
    // A well-formed request from the same raw socket is answered.
    send({good.envelope, good.body, good.payload});
    ASSERT_TRUE(WaitFor(
        env, [&] { return *handled == 1; }, std::chrono::seconds(10)));
    std::vector<zmq::message_t> answer;
    ASSERT_TRUE(WaitFor(
        env,
        [&] {
          zmq::message_t frame;
          while (raw.recv(frame, zmq::recv_flags::dontwait)) {
            const bool more = frame.more();
            answer.push_back(std::move(frame));
            if (!more) return true;
          }
          return false;
        },
        std::chrono::seconds(10)));
    ASSERT_EQ(answer.size(), 3u);
    Result<rpc::IncomingReply> decoded = rpc::DecodeReply(
        rpc::WireMessage{answer[0].to_string(), answer[1].to_string(), answer[2].to_string()});
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->id, RequestId(7));
    ASSERT_TRUE(decoded->reply.ok());
    EXPECT_EQ(decoded->reply->body, "body");
    EXPECT_EQ(server.stats().malformed_dropped, malformed.size());
    EXPECT_EQ(*handled, 1);
    // The transport's own clients are still served.
    Result<RpcReply> reply =
        client.Call(server.self(), RpcRequest{"m", "after", ""}, env.Now() + kBudget);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->body, "after");
  });
}

// Small messages travel packed in one frame (zmq_transport.h): a packed request is answered
// with a packed reply, and packed frames whose header does not fit are dropped and counted.
TEST(ZmqTransportTest, PackedFramesAreAnsweredPackedAndBadOnesDropped) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport&) {
    ASSERT_TRUE(ServeExclaimed(server).ok());
    zmq::context_t context;
    zmq::socket_t raw = RawDealer(context, server);
    rpc::WireMessage good =
        rpc::EncodeRequest(RequestId(9), RpcRequest{"m", "body", "pay"}, std::chrono::seconds(5));
    const std::vector<std::string> malformed = {
        "12345",                                                          // shorter than the header
        PackedFrame(good, good.envelope.size() + 100, good.body.size()),  // envelope past the end
        PackedFrame(good, good.envelope.size(), 1u << 30),                // body past its limit
        PackedFrame(good, good.envelope.size(), good.body.size() + 1),    // lengths do not match
    };
    for (const std::string& frame : malformed) raw.send(zmq::buffer(frame));
    raw.send(zmq::buffer(PackedFrame(good)));
    std::vector<zmq::message_t> answer;
    ASSERT_TRUE(WaitFor(
        env,
        [&] {
          zmq::message_t frame;
          while (raw.recv(frame, zmq::recv_flags::dontwait)) {
            const bool more = frame.more();
            answer.push_back(std::move(frame));
            if (!more) return true;
          }
          return false;
        },
        std::chrono::seconds(10)));
    ASSERT_EQ(answer.size(), 1u);  // packed, as the request was
    const std::string reply = answer[0].to_string();
    ASSERT_GE(reply.size(), 6u);
    const size_t envelope = static_cast<uint8_t>(reply[0]) | (static_cast<uint8_t>(reply[1]) << 8);
    const size_t body = static_cast<uint8_t>(reply[2]);
    ASSERT_LE(6 + envelope + body, reply.size());
    Result<rpc::IncomingReply> decoded = rpc::DecodeReply(
        rpc::WireMessage{reply.substr(6, envelope), reply.substr(6 + envelope, body),
                         reply.substr(6 + envelope + body)});
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->id, RequestId(9));
    ASSERT_TRUE(decoded->reply.ok());
    EXPECT_EQ(decoded->reply->body, "body!");
    EXPECT_EQ(decoded->reply->payload, "pay");
    EXPECT_EQ(server.stats().malformed_dropped, malformed.size());
  });
}

// Small messages of one scheduler round travel in one batch frame (zmq_transport.h): a batch
// of requests is answered with a batch of replies; a batch that does not split into packed
// messages is dropped (what came before the fault is served) and counted; and fibers calling
// at once get their replies through batches both ways.
TEST(ZmqTransportTest, BatchFramesAreAnsweredBatchedAndBadOnesDropped) {
  WithPair([](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    ASSERT_TRUE(ServeExclaimed(server).ok());
    zmq::context_t context;
    zmq::socket_t raw = RawDealer(context, server);
    auto entry = [&](const std::string& message) {
      return LittleEndian(message.size(), 4) + message;
    };
    const std::string magic("\xff\xff", 2);
    const std::string first = PackedFrame(
        rpc::EncodeRequest(RequestId(11), RpcRequest{"m", "one", ""}, std::chrono::seconds(5)));
    const std::string second = PackedFrame(
        rpc::EncodeRequest(RequestId(12), RpcRequest{"m", "two", "p"}, std::chrono::seconds(5)));
    const std::vector<std::string> malformed = {
        magic,                                              // no message
        magic + LittleEndian(first.size() + 1, 4) + first,  // a length past the frame
        magic + entry(first.substr(0, 5)),                  // a message shorter than its header
        magic + entry(first) + "\x01",                      // a truncated length after a good one
    };
    for (const std::string& frame : malformed) raw.send(zmq::buffer(frame));
    raw.send(zmq::buffer(magic + entry(first) + entry(second)));
    // Replies: the one to the good message of the last malformed batch, then both of the
    // good batch, each a batch frame.
    std::vector<rpc::IncomingReply> replies;
    ASSERT_TRUE(WaitFor(
        env,
        [&] {
          zmq::message_t frame;
          while (raw.recv(frame, zmq::recv_flags::dontwait)) {
            EXPECT_FALSE(frame.more());
            const std::string bytes = frame.to_string();
            EXPECT_EQ(bytes.substr(0, 2), magic);
            for (size_t at = 2; at + 4 <= bytes.size();) {
              size_t length = 0;
              for (int i = 0; i < 4; ++i) {
                length |= static_cast<size_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
              }
              const std::string message = bytes.substr(at + 4, length);
              at += 4 + length;
              const size_t envelope =
                  static_cast<uint8_t>(message[0]) | (static_cast<uint8_t>(message[1]) << 8);
              const size_t body = static_cast<uint8_t>(message[2]);
              Result<rpc::IncomingReply> decoded = rpc::DecodeReply(
                  rpc::WireMessage{message.substr(6, envelope), message.substr(6 + envelope, body),
                                   message.substr(6 + envelope + body)});
              EXPECT_TRUE(decoded.ok()) << decoded.status().ToString();
              if (decoded.ok()) replies.push_back(std::move(decoded).value());
            }
          }
          return replies.size() >= 3;
        },
        std::chrono::seconds(10)));
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[0].id, RequestId(11));
    EXPECT_EQ(replies[1].id, RequestId(11));
    EXPECT_EQ(replies[2].id, RequestId(12));
    ASSERT_TRUE(replies[2].reply.ok());
    EXPECT_EQ(replies[2].reply->body, "two!");
    EXPECT_EQ(replies[2].reply->payload, "p");
    EXPECT_EQ(server.stats().malformed_dropped, malformed.size());

    // Through the transport: once the connection is up (its monitor tells, soon after the
    // first reply), small calls made at once ride in batches both ways.
    for (int round = 0; round < 100 && client.stats().messages_batched == 0; ++round) {
      int answered = 0;
      std::vector<Waiter> done(32);
      for (int i = 0; i < 32; ++i) {
        env.Spawn("caller", [&, i] {
          Result<RpcReply> reply = client.Call(
              server.self(), RpcRequest{"m", std::to_string(i), ""}, env.Now() + kBudget);
          if (reply.ok() && reply->body == std::to_string(i) + "!") ++answered;
          done[i].Complete(Status::Ok());
        });
      }
      for (Waiter& waiter : done) ASSERT_TRUE(env.Wait(waiter, kInstantMax).ok());
      EXPECT_EQ(answered, 32);
      ASSERT_TRUE(env.SleepFor(std::chrono::milliseconds(10)).ok());
    }
    EXPECT_GT(client.stats().messages_batched, 0u);
    EXPECT_GT(server.stats().messages_batched, 0u);
  });
}

TEST(ZmqTransportTest, StoppingEndsCallsAndHandlersInFlight) {
  struct Shared {
    Status caller;
    Status handler;
    bool caller_done = false;
    bool handler_done = false;
  };
  auto shared = std::make_shared<Shared>();
  WithPair([shared](RealEnv& env, ZmqTransport& server, ZmqTransport& client) {
    ASSERT_TRUE(server
                    .Serve([&env, shared](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
                      shared->handler = env.SleepFor(std::chrono::minutes(5));
                      shared->handler_done = true;
                      return RpcReply{};
                    })
                    .ok());
    env.Spawn("caller", [&env, &client, &server, shared] {
      shared->caller =
          client.Call(server.self(), RpcRequest{"m", "", ""}, env.Now() + std::chrono::minutes(5))
              .status();
      shared->caller_done = true;
    });
    ASSERT_TRUE(WaitFor(env, [&] { return server.stats().requests_served == 1; }));
    // Returning from main stops the env: both waits end with kNodeDown.
  });
  EXPECT_TRUE(shared->caller_done);
  EXPECT_EQ(shared->caller.code(), StatusCode::kNodeDown);
  EXPECT_TRUE(shared->handler_done);
  EXPECT_EQ(shared->handler.code(), StatusCode::kNodeDown);
}

TEST(RealEnvTest, RequestStopFromAnotherThreadWakesTheLoop) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    std::thread stopper([&env] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      env.RequestStop();
    });
    const Status ran = env.RunMain([&env] { return env.SleepUntil(kInstantMax); });
    stopper.join();
    EXPECT_EQ(ran.code(), StatusCode::kNodeDown);
    EXPECT_EQ(env.SleepFor(Duration(0)).code(), StatusCode::kNodeDown);
  });
}

TEST(RealEnvTest, SleepsWaitAtLeastTheirDurationAndYieldsRunOthers) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    const Status ran = env.RunMain([&env]() -> Status {
      const Instant start = env.Now();
      GRANARY_RETURN_IF_ERROR(env.SleepFor(std::chrono::milliseconds(20)));
      EXPECT_GE(env.Now() - start, std::chrono::milliseconds(20));
      int ran_other = 0;
      env.Spawn("other", [&ran_other] { ++ran_other; });
      EXPECT_EQ(ran_other, 0) << "Spawn runs the fiber after the caller suspends";
      GRANARY_RETURN_IF_ERROR(env.SleepFor(Duration(0)));
      EXPECT_EQ(ran_other, 1);
      // Many fibers on pooled or guarded stacks.
      int finished = 0;
      for (int i = 0; i < 2000; ++i) {
        env.Spawn("many", [&env, &finished] {
          if (env.SleepFor(std::chrono::milliseconds(1)).ok()) ++finished;
        });
      }
      EXPECT_TRUE(WaitFor(env, [&] { return finished == 2000; }));
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

// A helper thread's wake-up (Boost.Fiber promise) reaches a loop idle in zmq_poll.
TEST(RealEnvTest, RunBlockingWakesTheWaitingFiber) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    const Status ran = env.RunMain([&env]() -> Status {
      int sum = 0;
      for (int i = 1; i <= 10; ++i) {
        env.RunBlocking([&sum, i] {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          sum += i;
        });
      }
      EXPECT_EQ(sum, 55);
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

}  // namespace
}  // namespace granary::net
