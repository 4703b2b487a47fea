// The commands of granary-cluster (tools/granary_cluster.cc parses their flags).
#include "tools/common/local_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tools/common/client_session.h"
#include "tools/common/curve_keys.h"
#include "tools/common/process_control.h"
#include "tools/common/tool_util.h"

namespace granary::tools {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;

// Everything about one cluster directory.
class Cluster {
 public:
  explicit Cluster(const std::string& dir) : dir_(stdfs::absolute(dir).lexically_normal()) {}

  const std::string& dir() const { return dir_; }
  std::string ConfigPath() const { return dir_ + "/cluster.json"; }
  std::string KeysDir() const { return dir_ + "/keys"; }
  bool Exists() const { return stdfs::exists(ConfigPath()); }

  bool Load() {
    std::ifstream in(ConfigPath());
    if (!in) return false;
    try {
      config_ = json::parse(in);
    } catch (const std::exception&) {
      return false;
    }
    return config_.contains("namenode_port") && config_.contains("datanode_ports");
  }
  bool Save() const {
    std::ofstream out(ConfigPath(), std::ios::trunc);
    out << config_.dump(2) << "\n";
    return static_cast<bool>(out);
  }
  json& config() { return config_; }

  uint32_t datanodes() const { return static_cast<uint32_t>(config_["datanode_ports"].size()); }
  std::string NamenodeAddress() const {
    return "127.0.0.1:" + std::to_string(config_["namenode_port"].get<uint32_t>());
  }
  std::vector<std::string> Nodes() const {
    std::vector<std::string> nodes{"namenode"};
    for (uint32_t k = 1; k <= datanodes(); ++k) nodes.push_back("datanode-" + std::to_string(k));
    return nodes;
  }
  bool IsNode(const std::string& node) const {
    for (const std::string& n : Nodes()) {
      if (n == node) return true;
    }
    return false;
  }
  std::string Address(const std::string& node) const {
    if (node == "namenode") return NamenodeAddress();
    const uint32_t k = std::stoul(node.substr(9));
    return "127.0.0.1:" + std::to_string(config_["datanode_ports"][k - 1].get<uint32_t>());
  }
  std::string DataPath(const std::string& node) const {
    return dir_ + "/" + node + (node == "namenode" ? "/meta" : "/data");
  }
  std::string PidFile(const std::string& node) const { return dir_ + "/run/" + node + ".pid"; }
  std::string LogFile(const std::string& node) const { return dir_ + "/logs/" + node + ".log"; }
  // What /proc/<pid>/cmdline of this node's process contains.
  std::string Marker(const std::string& node) const {
    return (node == "namenode" ? " --meta-dir " : " --data-dir ") + DataPath(node) + " ";
  }

  std::vector<std::string> Argv(const std::string& node, const std::string& bin_dir) const {
    std::vector<std::string> argv;
    const json& flags = config_["flags"];
    if (node == "namenode") {
      argv = {bin_dir + "/granary-namenode", "--listen", Address(node), "--meta-dir",
              DataPath(node)};
      for (const auto& arg : flags["namenode"]) argv.push_back(arg.get<std::string>());
    } else {
      argv = {bin_dir + "/granary-datanode",
              "--namenode",
              NamenodeAddress(),
              "--listen",
              Address(node),
              "--data-dir",
              DataPath(node)};
      for (const auto& arg : flags["datanode"]) argv.push_back(arg.get<std::string>());
    }
    argv.push_back("--name");
    argv.push_back(node);
    if (config_.value("curve", false)) {
      argv.push_back("--curve-keys");
      argv.push_back(KeysDir());
    }
    return argv;
  }

  std::optional<pid_t> RunningPid(const std::string& node) const {
    const std::optional<pid_t> pid = ReadPidFile(PidFile(node));
    if (pid && IsOurProcess(*pid, Marker(node))) return pid;
    return std::nullopt;
  }

 private:
  std::string dir_;
  json config_;
};

std::string BinDir() {
  std::error_code error;
  const stdfs::path self = stdfs::read_symlink("/proc/self/exe", error);
  return error ? std::string(".") : self.parent_path().string();
}

bool PortFree(uint32_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return ok;
}

// `count` consecutive free ports on 127.0.0.1 from a random base below the kernel's ephemeral
// range (so that no outgoing connection takes one before the node binds it).
std::optional<uint32_t> FindFreePorts(uint32_t count) {
  std::random_device device;
  for (int attempt = 0; attempt < 200; ++attempt) {
    const uint32_t base = 20000 + device() % (32000 - 20000 - count);
    bool free = true;
    for (uint32_t i = 0; i < count && free; ++i) free = PortFree(base + i);
    if (free) return base;
  }
  return std::nullopt;
}

int Fail(const std::string& message) {
  std::cerr << "granary-cluster: " << message << std::endl;
  return 1;
}

// Starts one node's process (it must not be running) and records its PID.
granary::Status StartNode(Cluster& cluster, const std::string& node) {
  std::error_code error;
  stdfs::create_directories(cluster.DataPath(node), error);
  stdfs::create_directories(cluster.dir() + "/run", error);
  stdfs::create_directories(cluster.dir() + "/logs", error);
  if (error) return granary::Status(granary::StatusCode::kIoError, error.message());
  auto pid = SpawnDetached(cluster.Argv(node, BinDir()), cluster.LogFile(node));
  if (!pid.ok()) return pid.status();
  GRANARY_RETURN_IF_ERROR(WritePidFile(cluster.PidFile(node), *pid));
  if (!WaitStarted(*pid, cluster.Marker(node), milliseconds(5000))) {
    return granary::Status(granary::StatusCode::kUnavailable,
                           "it exited at once; the end of " + cluster.LogFile(node) + ":\n" +
                               TailOfFile(cluster.LogFile(node), 15));
  }
  return granary::Status::Ok();
}

// Stops one node: SIGTERM, wait, then SIGKILL. True when it is gone.
bool StopNode(Cluster& cluster, const std::string& node, milliseconds wait) {
  const std::optional<pid_t> pid = cluster.RunningPid(node);
  if (!pid) return true;
  SignalOurProcess(*pid, cluster.Marker(node), SIGTERM);
  if (WaitGone(*pid, cluster.Marker(node), wait)) return true;
  std::cerr << "granary-cluster: " << node << " (pid " << *pid
            << ") did not stop after SIGTERM; sending SIGKILL" << std::endl;
  SignalOurProcess(*pid, cluster.Marker(node), SIGKILL);
  return WaitGone(*pid, cluster.Marker(node), milliseconds(5000));
}

ClientConfig ClientFor(Cluster& cluster) {
  ClientConfig config;
  config.namenode = cluster.NamenodeAddress();
  config.program = "granary-cluster";
  config.rpc_timeout = milliseconds(1000);
  config.attempts = 1;
  if (cluster.config().value("curve", false)) config.curve_keys = cluster.KeysDir();
  return config;
}

// Polls nn.ClusterReport until the namenode answers and every datanode address in
// `want_live` is live, up to `wait`; fails early when the namenode or one of those exits.
int WaitForCluster(Cluster& cluster, const std::set<std::string>& want_live, milliseconds wait) {
  std::string last_problem = "the namenode has not answered";
  const int code =
      RunClient(ClientFor(cluster), [&](granary::net::RealEnv& env, granary::FileSystem& fs) {
        const auto end = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < end) {
          for (const std::string& node : cluster.Nodes()) {
            if (node != "namenode" && want_live.count(cluster.Address(node)) == 0) continue;
            if (!cluster.RunningPid(node)) {
              last_problem = node + " exited; the end of " + cluster.LogFile(node) + ":\n" +
                             TailOfFile(cluster.LogFile(node), 15);
              return 1;
            }
          }
          auto report = fs.Report();
          if (report.ok()) {
            std::set<std::string> live;
            for (const auto& dn : report->datanodes()) {
              if (dn.live()) live.insert(dn.info().address());
            }
            size_t missing = 0;
            for (const std::string& address : want_live) missing += live.count(address) == 0;
            if (missing == 0) return 0;
            last_problem = std::to_string(missing) + " datanode(s) not registered yet";
          } else {
            last_problem = "the namenode does not answer: " + report.status().ToString();
          }
          if (!env.SleepFor(milliseconds(100)).ok()) return 1;
        }
        return 1;
      });
  if (code != 0) {
    return Fail("cluster in " + cluster.dir() + " not ready after " +
                std::to_string(wait.count() / 1000) + " s: " + last_problem);
  }
  return 0;
}

std::set<std::string> DatanodeAddresses(const Cluster& cluster) {
  std::set<std::string> out;
  for (const std::string& node : cluster.Nodes()) {
    if (node != "namenode") out.insert(cluster.Address(node));
  }
  return out;
}

}  // namespace

int ClusterStart(const std::string& dir, const ClusterStartFlags& flags, uint32_t wait_seconds) {
  Cluster cluster(dir);
  std::error_code error;
  stdfs::create_directories(cluster.dir(), error);
  if (error) return Fail(dir + ": " + error.message());
  if (cluster.Exists()) {
    if (!cluster.Load()) return Fail(cluster.ConfigPath() + " is not a cluster description");
    for (const std::string& node : cluster.Nodes()) {
      if (cluster.RunningPid(node)) return Fail(node + " of " + cluster.dir() + " is running");
    }
    std::cerr << "granary-cluster: starting the existing cluster of " << cluster.dir()
              << " with its recorded settings" << std::endl;
  } else {
    uint32_t base = flags.port_base;
    if (base == 0) {
      const std::optional<uint32_t> found = FindFreePorts(flags.datanodes + 1);
      if (!found) return Fail("no free range of ports found; pass --port-base");
      base = *found;
    }
    if (base + flags.datanodes > 65535) return Fail("--port-base too high");
    json& c = cluster.config();
    c["namenode_port"] = base;
    c["datanode_ports"] = json::array();
    for (uint32_t k = 1; k <= flags.datanodes; ++k) c["datanode_ports"].push_back(base + k);
    c["curve"] = flags.curve;
    std::vector<std::string> nn = {"--log-level", flags.log_level};
    std::vector<std::string> dn = {"--log-level", flags.log_level};
    const uint32_t replication =
        flags.replication != 0 ? flags.replication : std::min<uint32_t>(3, flags.datanodes);
    nn.insert(nn.end(), {"--replication", std::to_string(replication), "--inline-threshold",
                         std::to_string(flags.inline_threshold), "--superuser",
                         flags.superuser.empty() ? DefaultUser() : flags.superuser});
    if (flags.block_bytes != 0) {
      nn.insert(nn.end(), {"--block-size", std::to_string(flags.block_bytes)});
    }
    if (flags.heartbeat_ms != 0) {
      nn.insert(nn.end(), {"--heartbeat-ms", std::to_string(flags.heartbeat_ms)});
    }
    if (flags.dead_after_ms != 0) {
      nn.insert(nn.end(), {"--dead-after-ms", std::to_string(flags.dead_after_ms)});
    }
    if (flags.scan_period_ms != 0) {
      dn.insert(dn.end(), {"--scan-period-ms", std::to_string(flags.scan_period_ms)});
    }
    if (flags.scanner_rate_set) {
      dn.insert(dn.end(),
                {"--scanner-bytes-per-second", std::to_string(flags.scanner_bytes_per_second)});
    }
    nn.insert(nn.end(), flags.namenode_args.begin(), flags.namenode_args.end());
    dn.insert(dn.end(), flags.datanode_args.begin(), flags.datanode_args.end());
    c["flags"] = {{"namenode", nn}, {"datanode", dn}};
    if (flags.curve && !stdfs::exists(cluster.KeysDir() + "/server.key")) {
      const granary::Status keys = GenerateClusterKeys(cluster.KeysDir());
      if (!keys.ok()) return Fail("keys: " + keys.ToString());
    }
    if (!cluster.Save()) return Fail("cannot write " + cluster.ConfigPath());
  }
  for (const std::string& node : cluster.Nodes()) {
    if (const granary::Status s = StartNode(cluster, node); !s.ok()) {
      return Fail("cannot start " + node + ": " + s.ToString());
    }
  }
  if (const int code =
          WaitForCluster(cluster, DatanodeAddresses(cluster), milliseconds(wait_seconds * 1000));
      code != 0) {
    return code;
  }
  std::cout << cluster.NamenodeAddress() << std::endl;
  return 0;
}

int ClusterStop(const std::string& dir, uint32_t wait_seconds) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  bool ok = true;
  // Datanodes first, so that they do not spend their last seconds calling a dead namenode.
  std::vector<std::string> nodes = cluster.Nodes();
  std::rotate(nodes.begin(), nodes.begin() + 1, nodes.end());
  for (const std::string& node : nodes) {
    if (const std::optional<pid_t> pid = cluster.RunningPid(node)) {
      SignalOurProcess(*pid, cluster.Marker(node), SIGTERM);
    }
  }
  for (const std::string& node : nodes) {
    ok = StopNode(cluster, node, milliseconds(wait_seconds * 1000)) && ok;
    if (!cluster.RunningPid(node)) stdfs::remove(cluster.PidFile(node));
  }
  return ok ? 0 : Fail("some processes of " + cluster.dir() + " did not stop");
}

int ClusterKill(const std::string& dir, const std::string& node) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  if (!cluster.IsNode(node)) return Fail("no node '" + node + "' (namenode, datanode-1..)");
  const std::optional<pid_t> pid = cluster.RunningPid(node);
  if (!pid) return Fail(node + " is not running");
  SignalOurProcess(*pid, cluster.Marker(node), SIGKILL);
  if (!WaitGone(*pid, cluster.Marker(node), milliseconds(5000))) {
    return Fail(node + " (pid " + std::to_string(*pid) + ") survived SIGKILL");
  }
  stdfs::remove(cluster.PidFile(node));
  return 0;
}

int ClusterRestart(const std::string& dir, const std::string& node, uint32_t wait_seconds) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  if (!cluster.IsNode(node)) return Fail("no node '" + node + "' (namenode, datanode-1..)");
  if (!StopNode(cluster, node, milliseconds(wait_seconds * 1000))) {
    return Fail(node + " did not stop");
  }
  if (const granary::Status s = StartNode(cluster, node); !s.ok()) {
    return Fail("cannot start " + node + ": " + s.ToString());
  }
  // A restarted namenode is ready when it answers; a datanode when it is live again. The
  // other nodes must still be running for either (WaitForCluster checks them all).
  std::set<std::string> want;
  for (const std::string& other : cluster.Nodes()) {
    if (other != "namenode" && (other == node || cluster.RunningPid(other))) {
      want.insert(cluster.Address(other));
    }
  }
  return WaitForCluster(cluster, want, milliseconds(wait_seconds * 1000));
}

int ClusterStatus(const std::string& dir, bool as_json) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  std::map<std::string, bool> live;
  std::string report_error;
  json report_json;
  ClientConfig client = ClientFor(cluster);
  if (cluster.RunningPid("namenode")) {
    RunClient(client, [&](granary::net::RealEnv&, granary::FileSystem& fs) {
      auto report = fs.Report();
      if (!report.ok()) {
        report_error = report.status().ToString();
        return 1;
      }
      for (const auto& dn : report->datanodes()) live[dn.info().address()] = dn.live();
      report_json = {{"files", report->files()},
                     {"directories", report->directories()},
                     {"blocks", report->blocks()},
                     {"under_replicated_blocks", report->under_replicated_blocks()},
                     {"corrupt_blocks", report->corrupt_blocks()},
                     {"missing_blocks", report->missing_blocks()}};
      return 0;
    });
  } else {
    report_error = "namenode not running";
  }
  bool all_running = true;
  json nodes = json::array();
  for (const std::string& node : cluster.Nodes()) {
    const std::optional<pid_t> pid = cluster.RunningPid(node);
    all_running = all_running && pid.has_value();
    json entry = {{"node", node},
                  {"address", cluster.Address(node)},
                  {"running", pid.has_value()},
                  {"pid", pid ? *pid : 0},
                  {"log", cluster.LogFile(node)}};
    if (node != "namenode" && report_error.empty()) {
      entry["registered_live"] =
          live.count(cluster.Address(node)) ? live[cluster.Address(node)] : false;
    }
    nodes.push_back(entry);
  }
  if (as_json) {
    json out = {{"dir", cluster.dir()},
                {"namenode", cluster.NamenodeAddress()},
                {"curve", cluster.config().value("curve", false)},
                {"nodes", nodes}};
    if (report_error.empty()) {
      out["report"] = report_json;
    } else {
      out["report_error"] = report_error;
    }
    std::cout << out.dump() << std::endl;
  } else {
    std::cout << "cluster " << cluster.dir() << ", namenode " << cluster.NamenodeAddress()
              << (cluster.config().value("curve", false)
                      ? " (CURVE keys in " + cluster.KeysDir() + ")"
                      : "")
              << "\n";
    for (const json& n : nodes) {
      std::string state = n["running"].get<bool>()
                              ? "running (pid " + std::to_string(n["pid"].get<int>()) + ")"
                              : "stopped";
      if (n.contains("registered_live")) {
        state += n["registered_live"].get<bool>() ? ", live" : ", not live at the namenode";
      }
      std::cout << "  " << n["node"].get<std::string>() << "  " << n["address"].get<std::string>()
                << "  " << state << "\n";
    }
    if (report_error.empty()) {
      std::cout << "  files " << report_json["files"] << ", blocks " << report_json["blocks"]
                << ", under-replicated " << report_json["under_replicated_blocks"] << ", corrupt "
                << report_json["corrupt_blocks"] << ", missing " << report_json["missing_blocks"]
                << "\n";
    } else {
      std::cout << "  report: " << report_error << "\n";
    }
  }
  return all_running ? 0 : 1;
}

}  // namespace granary::tools
