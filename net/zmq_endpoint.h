// Listen and peer addresses of ZmqTransport: "host:port" text to ZeroMQ TCP endpoints.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace granary::net::zmq_impl {

struct HostPort {
  std::string host;  // without IPv6 brackets
  uint32_t port = 0;
  bool ipv6 = false;
};

// "host:port" or "[v6]:port", port 0..65535; nullopt for anything else.
std::optional<HostPort> ParseHostPort(std::string_view text);
// "tcp://host:port" ("tcp://[v6]:port"); with `any_port`, "tcp://host:*" (the OS chooses).
std::string Endpoint(const HostPort& hp, bool any_port);
// localhost, ::1 and 127.x.y.z.
bool IsLoopback(const std::string& host);
// *, 0.0.0.0 and ::, which name every interface.
bool IsWildcard(const std::string& host);

}  // namespace granary::net::zmq_impl
