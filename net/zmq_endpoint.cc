#include "net/zmq_endpoint.h"

namespace granary::net::zmq_impl {

// "host:port" or "[v6]:port", port 0..65535.
std::optional<HostPort> ParseHostPort(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return std::nullopt;
  }
  HostPort out;
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    out.ipv6 = true;
  }
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == ':' || c == '*';
    if (!ok) return std::nullopt;
  }
  const std::string_view port = text.substr(colon + 1);
  if (port.size() > 5) return std::nullopt;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    out.port = out.port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (out.port > 65535) return std::nullopt;
  out.host = std::string(host);
  return out;
}

std::string Endpoint(const HostPort& hp, bool any_port) {
  const std::string host = hp.ipv6 ? "[" + hp.host + "]" : hp.host;
  return "tcp://" + host + ":" + (any_port ? std::string("*") : std::to_string(hp.port));
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

bool IsWildcard(const std::string& host) {
  return host == "*" || host == "0.0.0.0" || host == "::";
}

}  // namespace granary::net::zmq_impl
