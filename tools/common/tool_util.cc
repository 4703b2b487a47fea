#include "tools/common/tool_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iostream>
#include <random>

#include "tools/common/curve_keys.h"
#include "tools/common/log.h"

namespace granary::tools {

int ParseFlags(CLI::App& app, int argc, char** argv, const std::string& program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    for (char& c : what) {
      if (c == '\n') c = ' ';
    }
    std::cerr << program << ": " << what << std::endl;
    return 2;
  }
  return -1;
}

CLI::Option* AddLogLevelFlag(CLI::App& app, std::string& level) {
  return app.add_option("--log-level", level, "debug, info, warn or error (default info)")
      ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));
}

uint64_t SeedFromDevice() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

Result<std::unique_ptr<net::ZmqTransport>> CreateServerTransport(net::RealEnv& env,
                                                                 const ServerNetFlags& flags) {
  net::ZmqTransportOptions options;
  options.listen = flags.listen;
  options.advertise = flags.advertise;
  options.insecure_bind_any = flags.insecure_bind_any;
  size_t admitted = 0;
  if (!flags.curve_keys.empty()) {
    GRANARY_RETURN_IF_ERROR(ConfigureServerCurve(flags.curve_keys, options, &admitted)
                                .WithContext("--curve-keys " + flags.curve_keys));
    if (flags.datanode_key) {
      GRANARY_RETURN_IF_ERROR(UseDatanodeKey(flags.curve_keys, options)
                                  .WithContext("--curve-keys " + flags.curve_keys));
    }
  }
  auto transport = net::ZmqTransport::Create(env, options);
  if (!transport.ok()) return transport.status();
  const std::string self = (*transport)->self().value;
  if (!flags.curve_keys.empty()) {
    LogInfo("listening on " + flags.listen + " as " + self + " with CURVE (" +
            std::to_string(admitted) + " keys admitted from " + flags.curve_keys +
            "/clients and /datanodes; requests act as their key's user)");
  } else if (flags.insecure_bind_any && !IsLoopbackHost(HostOf(flags.listen))) {
    LogWarn("listening on " + flags.listen + " as " + self +
            " WITHOUT CURVE keys (--insecure-bind-any): plaintext, no authentication; anyone "
            "who reaches this port can act on the cluster");
  } else {
    LogInfo("listening on " + flags.listen + " as " + self +
            " without CURVE keys: loopback only (pass --curve-keys to serve other machines)");
  }
  return transport;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return address;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

bool IsHostPort(const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  const std::string port = text.substr(colon + 1);
  if (port.size() > 5) return false;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  const int value = std::stoi(port);
  return value >= 1 && value <= 65535;
}

std::string FirstOfList(const std::string& text) { return text.substr(0, text.find(',')); }

std::string LocalAddressToward(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return {};
  const std::string host = HostOf(address);
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return {};
  std::string local;
  // Connecting a UDP socket sends nothing; it only picks the route and the source address.
  const int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_storage mine{};
    socklen_t length = sizeof(mine);
    char text[INET6_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&mine), &length) == 0) {
      if (mine.ss_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&mine)->sin_addr, text, sizeof(text));
      } else if (mine.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&mine)->sin6_addr, text, sizeof(text));
      }
      local = text;
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return local;
}

}  // namespace granary::tools
