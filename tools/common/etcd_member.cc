#include "tools/common/etcd_member.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace granary::tools {

std::vector<std::string> EtcdArgv(const std::vector<EtcdMemberSpec>& members, size_t index,
                                  const std::string& token) {
  const EtcdMemberSpec& me = members.at(index);
  const std::string peer = "http://127.0.0.1:" + std::to_string(me.peer_port);
  const std::string client = "http://127.0.0.1:" + std::to_string(me.client_port);
  std::string cluster;
  for (const EtcdMemberSpec& m : members) {
    if (!cluster.empty()) cluster += ',';
    cluster += m.name + "=http://127.0.0.1:" + std::to_string(m.peer_port);
  }
  return {kEtcdBinary,
          "--name",
          me.name,
          "--data-dir",
          me.data_dir,
          "--listen-client-urls",
          client,
          "--advertise-client-urls",
          client,
          "--listen-peer-urls",
          peer,
          "--initial-advertise-peer-urls",
          peer,
          "--initial-cluster",
          cluster,
          "--initial-cluster-state",
          "new",
          "--initial-cluster-token",
          token,
          "--heartbeat-interval",
          "100",
          "--election-timeout",
          "1000",
          "--quota-backend-bytes",
          std::to_string(uint64_t{2} << 30),
          "--auto-compaction-mode",
          "revision",
          "--auto-compaction-retention",
          "100000",
          "--snapshot-count",
          "10000",
          "--logger",
          "zap",
          "--log-outputs",
          "stderr",
          "--log-level",
          "warn"};
}

namespace {

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool WaitFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, static_cast<int>(left.count())) == 1 && (p.revents & events) != 0;
}

}  // namespace

bool EtcdHealthy(uint32_t client_port, int timeout_ms, std::string* detail) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *detail = std::strerror(errno);
    return false;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(client_port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  const bool sent = [&] {
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
        errno != EINPROGRESS) {
      return false;
    }
    if (!WaitFd(fd, POLLOUT, deadline)) return false;
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) return false;
    const std::string request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    return send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(request.size());
  }();
  if (sent) {
    char buffer[4096];
    while (reply.size() < 65536 && WaitFd(fd, POLLIN, deadline)) {
      const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      reply.append(buffer, static_cast<size_t>(n));
    }
  }
  close(fd);
  if (!sent) {
    *detail = "no connection to 127.0.0.1:" + std::to_string(client_port);
    return false;
  }
  const size_t body = reply.find("\r\n\r\n");
  *detail = body == std::string::npos ? "no answer" : reply.substr(body + 4);
  while (!detail->empty() && (detail->back() == '\n' || detail->back() == '\r')) {
    detail->pop_back();
  }
  return detail->find("\"health\":\"true\"") != std::string::npos;
}

}  // namespace granary::tools
