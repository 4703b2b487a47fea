// The client runtime granary-bench's parts share (granary_bench.cc, ha_bench.cc): a fresh
// RealEnv with a calling-only transport, `body` run on its main fiber.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::bench {

inline Status RunClient(const std::string& node_name, uint64_t seed,
                        const std::function<Status(net::RealEnv&, net::ZmqTransport&)>& body) {
  net::RealEnvOptions env_options;
  env_options.node_name = node_name;
  env_options.seed = seed;
  net::RealEnv env(env_options);
  Result<std::unique_ptr<net::ZmqTransport>> transport =
      net::ZmqTransport::Create(env, net::ZmqTransportOptions{});
  if (!transport.ok()) return transport.status();
  const Status status = env.RunMain([&] { return body(env, **transport); });
  transport->reset();
  return status;
}

}  // namespace granary::bench
