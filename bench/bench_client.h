// What granary-bench's parts share (granary_bench.cc, ha_bench.cc, read_spread_bench.cc,
// token_bench.cc): the client runtime (a fresh RealEnv with a calling-only transport, `body`
// run on its main fiber), running a command for its output, and medians.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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

// Runs a shell command and returns its standard output (its standard error goes to ours); an
// error when it cannot start or exits non-zero.
inline Result<std::string> Capture(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return Status(StatusCode::kInternal, "popen " + command);
  std::string out;
  char buffer[4096];
  size_t n = 0;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
  const int rc = pclose(pipe);
  if (rc != 0) return Status(StatusCode::kInternal, command + " exited with " + std::to_string(rc));
  return out;
}

// The median of `values` (0 for none).
inline double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// `value` cut to one decimal, for JSON lines.
inline double Round1(double value) {
  return static_cast<double>(static_cast<int64_t>(value * 10)) / 10;
}

}  // namespace granary::bench
