// Round trips per second of ZmqTransport (RealEnv fibers, wire codec, request matching)
// against a plain cppzmq ROUTER/DEALER echo with the same number of requests in flight
// (STYLE.md 12: a ratio against a baseline measured in the same run). Arg: requests in flight.
//
// The comparison is set up alike on both sides, over loopback TCP in this process:
//   - the server runs on a thread of its own (ours: a RealEnv + ZmqTransport serving an echo
//     handler; the baseline: a ROUTER echoing every message in a zmq_poll loop);
//   - the client is the benchmark thread keeping `in_flight` requests outstanding (ours: that
//     many fibers calling Transport::Call on the client's RealEnv; the baseline: one DEALER
//     sending a new request for every reply);
//   - each request and reply carries the same 100-byte body.
// Ours also encodes and checks an envelope, matches replies to callers by request id, and
// runs the handler on a fiber: that is the cost being measured.
#include <benchmark/benchmark.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bench/plain_echo.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::net {
namespace {

constexpr int kCallsPerIteration = 64 * 50;
const std::string kBody(100, 'b');

// An echo server on a RealEnv of its own thread; the constructor returns once it listens.
class EchoServerThread {
 public:
  EchoServerThread() {
    std::promise<std::string> address;
    std::future<std::string> bound = address.get_future();
    thread_ = std::thread([this, &address] {
      RealEnvOptions env_options;
      env_options.node_name = "bench-server";
      env_options.seed = 2;
      RealEnv env(env_options);
      env_ = &env;
      ZmqTransportOptions listen;
      listen.listen = "127.0.0.1:0";
      std::unique_ptr<ZmqTransport> server = std::move(ZmqTransport::Create(env, listen)).value();
      const Status ran = env.RunMain([&]() -> Status {
        GRANARY_RETURN_IF_ERROR(
            server->Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
              return RpcReply{std::move(request.body), ""};
            }));
        address.set_value(server->self().value);
        const Status stopped = env.SleepUntil(kInstantMax);
        return stopped.code() == StatusCode::kNodeDown ? Status::Ok() : stopped;
      });
      (void)ran;
      server.reset();
    });
    address_ = Address{bound.get()};
  }
  ~EchoServerThread() {
    env_->RequestStop();
    thread_.join();
  }
  const Address& address() const { return address_; }

 private:
  std::thread thread_;
  RealEnv* env_ = nullptr;
  Address address_;
};

void BM_ZmqTransportRoundTrips(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  EchoServerThread server;
  RealEnvOptions env_options;
  env_options.node_name = "bench-client";
  env_options.seed = 1;
  RealEnv env(env_options);
  std::unique_ptr<ZmqTransport> client =
      std::move(ZmqTransport::Create(env, ZmqTransportOptions{})).value();
  const Status ran = env.RunMain([&]() -> Status {
    uint64_t failures = 0;
    for (auto _ : state) {
      int remaining = kCallsPerIteration;
      int running = in_flight;
      Waiter all_done;
      for (int f = 0; f < in_flight; ++f) {
        env.Spawn("caller", [&] {
          while (remaining > 0) {
            --remaining;
            Result<RpcReply> reply = client->Call(server.address(), RpcRequest{"echo", kBody, ""},
                                                  env.Now() + std::chrono::seconds(10));
            if (!reply.ok()) ++failures;
          }
          if (--running == 0) all_done.Complete(Status::Ok());
        });
      }
      GRANARY_RETURN_IF_ERROR(env.Wait(all_done, kInstantMax));
    }
    if (failures > 0) state.SkipWithError("calls failed");
    return Status::Ok();
  });
  client.reset();
  if (!ran.ok()) state.SkipWithError(ran.ToString().c_str());
  state.SetItemsProcessed(state.iterations() * kCallsPerIteration);
}
BENCHMARK(BM_ZmqTransportRoundTrips)->Arg(1)->Arg(64)->UseRealTime();

// The baseline: a ROUTER thread echoing every message, a DEALER keeping `in_flight` requests
// outstanding. No codec, no fibers, no request matching.
void BM_PlainZmqEchoRoundTrips(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  // The server has its own context and thread (plain_echo.h), as another process would.
  bench::PlainEchoServer echo;
  const std::string& endpoint = echo.endpoint();
  zmq::context_t client_context;
  zmq::socket_t dealer(client_context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(endpoint);
  for (auto _ : state) bench::PlainEchoCalls(dealer, kBody, in_flight, kCallsPerIteration);
  state.SetItemsProcessed(state.iterations() * kCallsPerIteration);
}
BENCHMARK(BM_PlainZmqEchoRoundTrips)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
}  // namespace granary::net

BENCHMARK_MAIN();
