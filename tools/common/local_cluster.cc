// The commands of granary-cluster (tools/granary_cluster.cc parses their flags; the directory's
// layout is cluster_dir.h).
#include "tools/common/local_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tools/common/client_session.h"
#include "tools/common/cluster_dir.h"
#include "tools/common/curve_keys.h"
#include "tools/common/etcd_member.h"
#include "tools/common/ha_status.h"
#include "tools/common/process_control.h"
#include "tools/common/tool_util.h"

namespace granary::tools {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using std::chrono::milliseconds;
using Cluster = ClusterDir;

constexpr milliseconds kProbeTimeout(1000);

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

// Stops one node: SIGTERM, wait, then SIGKILL. True when it is gone. A stopped (SIGSTOP)
// process gets SIGCONT too, or it could not act on the SIGTERM.
bool StopNode(Cluster& cluster, const std::string& node, milliseconds wait) {
  const std::optional<pid_t> pid = cluster.RunningPid(node);
  if (!pid) return true;
  SignalOurProcess(*pid, cluster.Marker(node), SIGTERM);
  SignalOurProcess(*pid, cluster.Marker(node), SIGCONT);
  if (WaitGone(*pid, cluster.Marker(node), wait)) return true;
  std::cerr << "granary-cluster: " << node << " (pid " << *pid
            << ") did not stop after SIGTERM; sending SIGKILL" << std::endl;
  SignalOurProcess(*pid, cluster.Marker(node), SIGKILL);
  return WaitGone(*pid, cluster.Marker(node), milliseconds(5000));
}

ClientConfig ClientFor(Cluster& cluster) {
  ClientConfig config;
  config.namenode = cluster.Address(cluster.Namenodes().front());
  config.program = "granary-cluster";
  config.rpc_timeout = kProbeTimeout;
  config.attempts = 1;
  if (cluster.config().value("curve", false)) config.curve_keys = cluster.KeysDir();
  return config;
}

std::vector<std::string> NamenodeAddresses(const Cluster& cluster) {
  std::vector<std::string> out;
  for (const std::string& nn : cluster.Namenodes()) out.push_back(cluster.Address(nn));
  return out;
}

// The nodes a wait requires: these namenodes answer nn.HaStatus (and one of the cluster's
// namenodes serves), these datanode addresses are live at the serving namenode.
struct Readiness {
  std::set<std::string> namenodes;
  std::set<std::string> live_datanodes;
};

// One look at the cluster: "" when `want` holds, else what is missing. Fatal problems (a
// required node exited) set `fatal`.
std::string CheckReady(Cluster& cluster, net::RealEnv& env, FileSystem& fs, const Readiness& want,
                       bool* fatal) {
  for (const std::string& node : cluster.Nodes()) {
    const bool required =
        want.namenodes.count(node) > 0 ||
        (Cluster::IsDatanode(node) && want.live_datanodes.count(cluster.Address(node)) > 0);
    if (required && !cluster.RunningPid(node)) {
      *fatal = true;
      return node + " exited; the end of " + cluster.LogFile(node) + ":\n" +
             TailOfFile(cluster.LogFile(node), 15);
    }
  }
  Transport& transport = fs.context().transport();
  const std::vector<NamenodeHa> ha =
      QueryHaStatus(env, transport, NamenodeAddresses(cluster), kProbeTimeout);
  for (const NamenodeHa& nn : ha) {
    for (const std::string& node : want.namenodes) {
      if (cluster.Address(node) == nn.address && nn.role == "unreachable") {
        return node + " does not answer: " + nn.error;
      }
    }
  }
  const NamenodeHa* serving = ServingNamenode(ha);
  if (serving == nullptr) return "no namenode is active yet";
  auto report = ClusterReportOf(env, transport, serving->address, kProbeTimeout);
  if (!report.ok()) {
    return "the active namenode " + serving->address +
           " does not report: " + report.status().ToString();
  }
  std::set<std::string> live;
  for (const auto& dn : report->datanodes()) {
    if (dn.live()) live.insert(dn.info().address());
  }
  size_t missing = 0;
  for (const std::string& address : want.live_datanodes) missing += live.count(address) == 0;
  if (missing == 0) return "";
  return std::to_string(missing) + " datanode(s) not registered with " + serving->address + " yet";
}

// Polls until CheckReady holds, up to `wait`.
int WaitForCluster(Cluster& cluster, const Readiness& want, milliseconds wait) {
  std::string last_problem = "the namenode has not answered";
  const int code =
      RunClient(ClientFor(cluster), [&](granary::net::RealEnv& env, granary::FileSystem& fs) {
        const auto end = std::chrono::steady_clock::now() + wait;
        while (std::chrono::steady_clock::now() < end) {
          bool fatal = false;
          last_problem = CheckReady(cluster, env, fs, want, &fatal);
          if (last_problem.empty()) return 0;
          if (fatal) return 1;
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

// Waits until every journal member in `members` answers /health with true.
int WaitForJournal(Cluster& cluster, const std::vector<std::string>& members, milliseconds wait) {
  const auto end = std::chrono::steady_clock::now() + wait;
  std::string problem;
  for (;;) {
    problem.clear();
    for (const std::string& j : members) {
      if (!cluster.RunningPid(j)) {
        return Fail(j + " exited; the end of " + cluster.LogFile(j) + ":\n" +
                    TailOfFile(cluster.LogFile(j), 15));
      }
      std::string detail;
      if (!EtcdHealthy(cluster.JournalClientPort(j), 1000, &detail)) {
        problem = j + " not healthy: " + detail;
        break;
      }
    }
    if (problem.empty()) return 0;
    if (std::chrono::steady_clock::now() >= end) {
      return Fail("journal of " + cluster.dir() + " not ready after " +
                  std::to_string(wait.count() / 1000) + " s: " + problem);
    }
    usleep(200 * 1000);
  }
}

Readiness EveryNode(const Cluster& cluster) {
  Readiness want;
  for (const std::string& node : cluster.Nodes()) {
    if (Cluster::IsNamenode(node)) want.namenodes.insert(node);
    if (Cluster::IsDatanode(node)) want.live_datanodes.insert(cluster.Address(node));
  }
  return want;
}

// Records a new cluster's settings in cluster.json.
int CreateCluster(Cluster& cluster, const ClusterStartFlags& flags) {
  uint32_t base = flags.port_base;
  const uint32_t ports = Cluster::PortsNeeded(flags.namenodes, flags.datanodes);
  if (base == 0) {
    const std::optional<uint32_t> found = FindFreePorts(ports);
    if (!found) return Fail("no free range of ports found; pass --port-base");
    base = *found;
  }
  if (base + ports > 65536) return Fail("--port-base too high");
  cluster.Layout(flags.namenodes, flags.datanodes, base);
  json& c = cluster.config();
  c["curve"] = flags.curve;
  std::vector<std::string> nn = {"--log-level", flags.log_level};
  std::vector<std::string> dn = {"--log-level", flags.log_level};
  const uint32_t replication =
      flags.replication != 0 ? flags.replication : std::min<uint32_t>(3, flags.datanodes);
  nn.insert(nn.end(), {"--replication", std::to_string(replication), "--inline-threshold",
                       std::to_string(flags.inline_threshold), "--superuser",
                       flags.superuser.empty() ? DefaultUser() : flags.superuser});
  if (flags.block_bytes != 0)
    nn.insert(nn.end(), {"--block-size", std::to_string(flags.block_bytes)});
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
    const granary::Status keys = GenerateClusterKeys(
        cluster.KeysDir(), flags.superuser.empty() ? DefaultUser() : flags.superuser);
    if (!keys.ok()) return Fail("keys: " + keys.ToString());
  }
  for (const std::string& user : flags.users) {
    if (!flags.curve) return Fail("--users needs --curve (users are told apart by their keys)");
    if (stdfs::exists(cluster.KeysDir() + "/clients/" + user + ".pub")) continue;
    const granary::Status keys = GenerateUserKeys(cluster.KeysDir(), user);
    if (!keys.ok()) return Fail("keys of user " + user + ": " + keys.ToString());
  }
  if (!cluster.Save()) return Fail("cannot write " + cluster.ConfigPath());
  return 0;
}

int StartNodes(Cluster& cluster, const std::vector<std::string>& nodes) {
  for (const std::string& node : nodes) {
    if (const granary::Status s = StartNode(cluster, node); !s.ok()) {
      return Fail("cannot start " + node + ": " + s.ToString());
    }
  }
  return 0;
}

}  // namespace

int ClusterStart(const std::string& dir, const ClusterStartFlags& flags, uint32_t wait_seconds) {
  Cluster cluster(dir);
  std::error_code error;
  stdfs::create_directories(cluster.dir(), error);
  if (error) return Fail(dir + ": " + error.message());
  if (flags.namenodes > 1 && access(kEtcdBinary, X_OK) != 0) {
    return Fail(std::string("--namenodes ") + std::to_string(flags.namenodes) + " needs " +
                kEtcdBinary + " (Debian package etcd-server) for the journal");
  }
  if (cluster.Exists()) {
    if (!cluster.Load()) return Fail(cluster.ConfigPath() + " is not a cluster description");
    for (const std::string& node : cluster.Nodes()) {
      if (cluster.RunningPid(node)) return Fail(node + " of " + cluster.dir() + " is running");
    }
    std::cerr << "granary-cluster: starting the existing cluster of " << cluster.dir()
              << " with its recorded settings" << std::endl;
  } else if (const int code = CreateCluster(cluster, flags); code != 0) {
    return code;
  }
  const milliseconds wait(wait_seconds * 1000);
  const std::vector<std::string> journals = cluster.Journals();
  if (const int code = StartNodes(cluster, journals); code != 0) return code;
  if (!journals.empty()) {
    if (const int code = WaitForJournal(cluster, journals, wait); code != 0) return code;
  }
  std::vector<std::string> rest;
  for (const std::string& node : cluster.Nodes()) {
    if (!Cluster::IsJournal(node)) rest.push_back(node);
  }
  if (const int code = StartNodes(cluster, rest); code != 0) return code;
  if (const int code = WaitForCluster(cluster, EveryNode(cluster), wait); code != 0) return code;
  std::cout << cluster.NamenodeList() << std::endl;
  return 0;
}

int ClusterStop(const std::string& dir, uint32_t wait_seconds) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  bool ok = true;
  // Datanodes first, so that they do not spend their last seconds calling a dead namenode;
  // the journal last, so that the namenodes can still reach it while they stop.
  std::vector<std::vector<std::string>> phases(2);
  for (const std::string& node : cluster.Nodes()) {
    (Cluster::IsJournal(node) ? phases[1] : phases[0]).push_back(node);
  }
  std::reverse(phases[0].begin(), phases[0].end());
  for (const std::vector<std::string>& phase : phases) {
    for (const std::string& node : phase) {
      if (const std::optional<pid_t> pid = cluster.RunningPid(node)) {
        SignalOurProcess(*pid, cluster.Marker(node), SIGTERM);
        SignalOurProcess(*pid, cluster.Marker(node), SIGCONT);
      }
    }
    for (const std::string& node : phase) {
      ok = StopNode(cluster, node, milliseconds(wait_seconds * 1000)) && ok;
      if (!cluster.RunningPid(node)) stdfs::remove(cluster.PidFile(node));
    }
  }
  return ok ? 0 : Fail("some processes of " + cluster.dir() + " did not stop");
}

namespace {

std::string NodeNames(const Cluster& cluster) {
  return cluster.HighlyAvailable() ? "journal-K, namenode-K, datanode-K" : "namenode, datanode-1..";
}

}  // namespace

int ClusterKill(const std::string& dir, const std::string& node) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  if (!cluster.IsNode(node)) return Fail("no node '" + node + "' (" + NodeNames(cluster) + ")");
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
  if (!cluster.IsNode(node)) return Fail("no node '" + node + "' (" + NodeNames(cluster) + ")");
  const milliseconds wait(wait_seconds * 1000);
  if (!StopNode(cluster, node, wait)) return Fail(node + " did not stop");
  if (const granary::Status s = StartNode(cluster, node); !s.ok()) {
    return Fail("cannot start " + node + ": " + s.ToString());
  }
  // A journal member is ready when it is healthy (which needs a majority of members up).
  if (Cluster::IsJournal(node)) return WaitForJournal(cluster, {node}, wait);
  // A restarted namenode is ready when it answers and one namenode serves; a datanode when
  // it is live at the serving namenode. The running datanodes must stay live meanwhile.
  Readiness want;
  if (Cluster::IsNamenode(node)) want.namenodes.insert(node);
  for (const std::string& other : cluster.Nodes()) {
    if (Cluster::IsDatanode(other) && (other == node || cluster.RunningPid(other))) {
      want.live_datanodes.insert(cluster.Address(other));
    }
  }
  return WaitForCluster(cluster, want, wait);
}

namespace {

// What the status command learns from the namenodes: their roles, the serving one's report.
struct ClusterView {
  std::map<std::string, NamenodeHa> namenodes;  // by address
  std::string serving;
  std::map<std::string, bool> live;  // datanode address -> live at the serving namenode
  json report;
  std::string report_error;
};

ClusterView LookAtCluster(Cluster& cluster) {
  ClusterView view;
  RunClient(ClientFor(cluster), [&](granary::net::RealEnv& env, granary::FileSystem& fs) {
    Transport& transport = fs.context().transport();
    const std::vector<NamenodeHa> ha =
        QueryHaStatus(env, transport, NamenodeAddresses(cluster), kProbeTimeout);
    for (const NamenodeHa& nn : ha) view.namenodes[nn.address] = nn;
    const NamenodeHa* serving = ServingNamenode(ha);
    if (serving == nullptr) {
      view.report_error = "no namenode is active";
      return 1;
    }
    view.serving = serving->address;
    auto report = ClusterReportOf(env, transport, serving->address, kProbeTimeout);
    if (!report.ok()) {
      view.report_error = report.status().ToString();
      return 1;
    }
    for (const auto& dn : report->datanodes()) view.live[dn.info().address()] = dn.live();
    view.report = {{"files", report->files()},
                   {"directories", report->directories()},
                   {"blocks", report->blocks()},
                   {"under_replicated_blocks", report->under_replicated_blocks()},
                   {"corrupt_blocks", report->corrupt_blocks()},
                   {"missing_blocks", report->missing_blocks()}};
    return 0;
  });
  return view;
}

json NodeEntry(Cluster& cluster, const ClusterView& view, const std::string& node) {
  const std::optional<pid_t> pid = cluster.RunningPid(node);
  const std::string address = cluster.Address(node);
  json entry = {{"node", node},
                {"address", address},
                {"running", pid.has_value()},
                {"pid", pid ? *pid : 0},
                {"log", cluster.LogFile(node)}};
  if (Cluster::IsNamenode(node) && view.namenodes.count(address)) {
    const NamenodeHa& nn = view.namenodes.at(address);
    entry["role"] = nn.role;
    if (nn.role != "unreachable") entry["applied_seq"] = nn.reply.applied_seq();
  }
  if (Cluster::IsDatanode(node) && view.report_error.empty()) {
    entry["registered_live"] = view.live.count(address) ? view.live.at(address) : false;
  }
  if (Cluster::IsJournal(node) && pid) {
    std::string detail;
    entry["healthy"] = EtcdHealthy(cluster.JournalClientPort(node), 1000, &detail);
    if (!entry["healthy"].get<bool>()) entry["health"] = detail;
  }
  return entry;
}

void PrintStatusText(Cluster& cluster, const ClusterView& view, const json& nodes) {
  std::cout << "cluster " << cluster.dir() << ", namenode"
            << (cluster.HighlyAvailable() ? "s " : " ") << cluster.NamenodeList()
            << (cluster.config().value("curve", false)
                    ? " (CURVE keys in " + cluster.KeysDir() + ")"
                    : "")
            << "\n";
  for (const json& n : nodes) {
    std::string state = n["running"].get<bool>()
                            ? "running (pid " + std::to_string(n["pid"].get<int>()) + ")"
                            : "stopped";
    if (n.contains("role")) state += ", " + n["role"].get<std::string>();
    if (n.contains("applied_seq")) {
      state += ", applied " + std::to_string(n["applied_seq"].get<uint64_t>());
    }
    if (n.contains("healthy")) {
      state += n["healthy"].get<bool>() ? ", healthy" : ", unhealthy";
    }
    if (n.contains("registered_live")) {
      state += n["registered_live"].get<bool>() ? ", live" : ", not live at the namenode";
    }
    std::cout << "  " << n["node"].get<std::string>() << "  " << n["address"].get<std::string>()
              << "  " << state << "\n";
  }
  if (view.report_error.empty()) {
    const json& r = view.report;
    std::cout << "  files " << r["files"] << ", blocks " << r["blocks"] << ", under-replicated "
              << r["under_replicated_blocks"] << ", corrupt " << r["corrupt_blocks"] << ", missing "
              << r["missing_blocks"] << "\n";
  } else {
    std::cout << "  report: " << view.report_error << "\n";
  }
}

}  // namespace

int ClusterStatus(const std::string& dir, bool as_json) {
  Cluster cluster(dir);
  if (!cluster.Load()) return Fail(dir + ": no cluster here (cluster.json missing)");
  bool any_namenode = false;
  for (const std::string& nn : cluster.Namenodes())
    any_namenode |= cluster.RunningPid(nn).has_value();
  ClusterView view;
  if (any_namenode) {
    view = LookAtCluster(cluster);
  } else {
    view.report_error = "no namenode running";
  }
  bool all_running = true;
  json nodes = json::array();
  for (const std::string& node : cluster.Nodes()) {
    nodes.push_back(NodeEntry(cluster, view, node));
    all_running = all_running && nodes.back()["running"].get<bool>();
  }
  if (as_json) {
    json out = {{"dir", cluster.dir()},
                {"namenode", cluster.NamenodeList()},
                {"curve", cluster.config().value("curve", false)},
                {"nodes", nodes}};
    if (!view.serving.empty()) out["active"] = view.serving;
    if (view.report_error.empty()) {
      out["report"] = view.report;
    } else {
      out["report_error"] = view.report_error;
    }
    std::cout << out.dump() << std::endl;
  } else {
    PrintStatusText(cluster, view, nodes);
  }
  return all_running ? 0 : 1;
}

}  // namespace granary::tools
