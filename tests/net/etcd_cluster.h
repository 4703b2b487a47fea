// A real etcd cluster for tests: members named journal-1..N on 127.0.0.1 (Debian's
// /usr/bin/etcd), ports chosen free, data and logs under a directory the test owns, every
// process stopped by its PID (SIGKILL) and reaped when the cluster is destroyed, or killed by
// the kernel when the thread that started it ends (PR_SET_PDEATHSIG): members restarted from
// a test's own thread end with that thread at the latest.
//
// Timing: a 50 ms heartbeat and a 500 ms election timeout, so that a new raft leader is there
// within about a second of a crash; etcd then grants leases of at least 1 s.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace granary::net::testing {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

class EtcdCluster {
 public:
  // Picks ports and writes nothing yet; Start launches the members.
  EtcdCluster(std::string directory, int members) : directory_(std::move(directory)) {
    std::vector<int> sockets;
    for (int i = 0; i < 2 * members; ++i) sockets.push_back(BindFreePort());
    for (int m = 0; m < members; ++m) {
      members_.push_back(Member{PortOf(sockets[2 * m]), PortOf(sockets[2 * m + 1]), -1});
    }
    for (int fd : sockets) close(fd);
  }
  ~EtcdCluster() {
    for (int m = 0; m < members(); ++m) Crash(m);
  }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  static bool Available() { return access(kEtcdBinary, X_OK) == 0; }

  int members() const { return static_cast<int>(members_.size()); }
  bool running(int m) const { return members_[m].pid > 0; }

  // "127.0.0.1:port" of every member's client URL.
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (const Member& member : members_)
      out.push_back("127.0.0.1:" + std::to_string(member.client_port));
    return out;
  }

  bool Start() {
    for (int m = 0; m < members(); ++m) {
      if (!Restart(m)) return false;
    }
    return true;
  }

  // SIGKILL, then reap. Nothing the member had not written to its files survives.
  bool Crash(int m) {
    Member& member = members_[m];
    if (member.pid <= 0) return false;
    kill(member.pid, SIGKILL);
    int status = 0;
    waitpid(member.pid, &status, 0);
    member.pid = -1;
    return true;
  }

  // Starts member `m` (again) on its ports and data directory.
  bool Restart(int m) {
    Member& member = members_[m];
    if (member.pid > 0) return false;
    const std::string name = Name(m);
    const std::string peer = "http://127.0.0.1:" + std::to_string(member.peer_port);
    const std::string client = "http://127.0.0.1:" + std::to_string(member.client_port);
    std::string cluster;
    for (int i = 0; i < members(); ++i) {
      if (i > 0) cluster += ',';
      cluster += Name(i) + "=http://127.0.0.1:" + std::to_string(members_[i].peer_port);
    }
    const std::vector<std::pair<std::string, std::string>> flags = {
        {"--name", name},
        {"--data-dir", directory_ + "/" + name},
        {"--listen-client-urls", client},
        {"--advertise-client-urls", client},
        {"--listen-peer-urls", peer},
        {"--initial-advertise-peer-urls", peer},
        {"--initial-cluster", cluster},
        {"--initial-cluster-state", "new"},
        {"--initial-cluster-token", "granary-test"},
        {"--heartbeat-interval", "50"},
        {"--election-timeout", "500"},
        {"--logger", "zap"},
        {"--log-outputs", "stderr"},
        {"--log-level", "warn"},
    };
    std::vector<std::string> args = {kEtcdBinary};
    for (const auto& [flag, value] : flags) {
      args.push_back(flag);
      args.push_back(value);
    }
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log = directory_ + "/" + name + ".log";
    // fork + exec rather than posix_spawn, for PR_SET_PDEATHSIG: when the test process dies
    // (a crash, ctest's timeout), its members die with it instead of running on. Between fork
    // and exec only async-signal-safe calls.
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      execve(kEtcdBinary, argv.data(), environ);
      _exit(127);
    }
    member.pid = pid;
    return true;
  }

  std::string LogPath(int m) const { return directory_ + "/" + Name(m) + ".log"; }

 private:
  struct Member {
    int client_port;
    int peer_port;
    pid_t pid;
  };

  static std::string Name(int m) { return "journal-" + std::to_string(m + 1); }

  // A socket bound to a free loopback port, kept open until every port is chosen so that no
  // two members get the same one.
  static int BindFreePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    return fd;
  }
  static int PortOf(int fd) {
    sockaddr_in address{};
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
  }

  const std::string directory_;
  std::vector<Member> members_;
};

}  // namespace granary::net::testing
