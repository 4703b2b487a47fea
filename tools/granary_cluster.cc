// granary-cluster: a whole cluster on this machine (127.0.0.1) for tests, demos and
// experiments, with everything under one directory. Flags and wiring only.
//
//   granary-cluster start DIR [--namenodes 1|3] [--datanodes N] [--port-base P]
//                   [--inline-threshold B]
//                   [--block-size B] [--replication R] [--heartbeat-ms MS] [--dead-after-ms MS]
//                   [--scan-period-ms MS] [--scanner-bytes-per-second B] [--superuser NAME]
//                   [--curve] [--namenode-arg ARG]... [--datanode-arg ARG]...
//                   [--wait-seconds S] [--log-level LEVEL]
//   granary-cluster stop DIR [--wait-seconds S]
//   granary-cluster kill DIR NODE            (SIGKILL; NODE = namenode | datanode-K, K from 1;
//                                             with --namenodes 3: namenode-K | journal-K)
//   granary-cluster restart DIR NODE [--wait-seconds S]
//   granary-cluster status DIR [--json]
//   granary-cluster keys DIR                 (a new CURVE key directory, docs/deploy.md)
//
// DIR holds cluster.json (ports and flags), namenode/meta, datanode-K/data, logs/<node>.log,
// run/<node>.pid and, with --curve, keys/. With --namenodes 3: three etcd members journal-1..3
// (DIR/journal-K) and namenode-1..3 (DIR/namenode-K/meta) on that journal
// (tools/common/cluster_dir.h). `start` prints the namenodes' addresses, comma-separated (what
// --namenode and GRANARY_NAMENODE take), once one namenode serves and every datanode has
// registered with it. Processes are signalled only through their PID files (and only
// while the PID still runs our binary on this DIR), never by name.
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "tools/common/curve_keys.h"
#include "tools/common/local_cluster.h"
#include "tools/common/tool_util.h"

namespace tools = granary::tools;

namespace {

// `granary-cluster keys`: a new cluster key directory (unless DIR has one), then the users.
int MakeKeys(const std::string& dir, const std::string& superuser,
             const std::vector<std::string>& users) {
  granary::Status s;
  if (!std::filesystem::exists(dir + "/server.key")) {
    s = granary::tools::GenerateClusterKeys(dir, superuser);
  }
  for (size_t i = 0; s.ok() && i < users.size(); ++i) {
    s = granary::tools::GenerateUserKeys(dir, users[i]);
    if (s.ok()) std::cout << dir << "/users/" << users[i] << std::endl;
  }
  if (!s.ok()) {
    std::cerr << "granary-cluster: keys " << dir << ": " << s.ToString() << std::endl;
    return 1;
  }
  std::cout << dir << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-cluster: a Granary cluster on this machine, under one directory"};
  app.require_subcommand(1);
  uint32_t wait_seconds = 30;

  tools::ClusterStartFlags flags;
  std::string start_dir;
  CLI::App* start = app.add_subcommand(
      "start", "start the namenode(s) and datanodes; print the namenode addresses");
  start->add_option("dir", start_dir, "the cluster's directory")->required();
  start
      ->add_option("--namenodes", flags.namenodes,
                   "namenodes: 1 (default, no journal) or more (HA on a 3-member etcd journal)")
      ->check(CLI::Range(1u, 5u));
  start->add_option("--datanodes", flags.datanodes, "datanodes (1..64, default 3)")
      ->check(CLI::Range(1u, 64u));
  start
      ->add_option("--port-base", flags.port_base,
                   "first port; nodes take consecutive ports from it (default: a free range)")
      ->check(CLI::Range(0u, 65000u));
  start->add_option("--inline-threshold", flags.inline_threshold, "inline threshold (bytes)")
      ->transform(CLI::AsSizeValue(false));
  start->add_option("--block-size", flags.block_bytes, "block size (bytes)")
      ->transform(CLI::AsSizeValue(false));
  start->add_option("--replication", flags.replication, "default replication (default min(3, N))")
      ->check(CLI::Range(1u, 16u));
  start->add_option("--heartbeat-ms", flags.heartbeat_ms, "datanode heartbeat interval");
  start->add_option("--dead-after-ms", flags.dead_after_ms, "datanode liveness timeout");
  start->add_option("--scan-period-ms", flags.scan_period_ms, "block scanner period");
  start
      ->add_option("--scanner-bytes-per-second", flags.scanner_bytes_per_second,
                   "block scanner rate (0: off)")
      ->transform(CLI::AsSizeValue(false))
      ->each([&](const std::string&) { flags.scanner_rate_set = true; });
  start->add_option("--superuser", flags.superuser, "the namenode's superuser (default: you)");
  start->add_flag("--curve", flags.curve, "CURVE keys for every node (made in DIR/keys)");
  start
      ->add_option("--users", flags.users,
                   "with --curve: a key directory DIR/keys/users/NAME per user (comma-separated)")
      ->delimiter(',');
  start->add_option("--namenode-arg", flags.namenode_args, "extra namenode flag (repeatable)")
      ->allow_extra_args(false);
  start->add_option("--datanode-arg", flags.datanode_args, "extra datanode flag (repeatable)")
      ->allow_extra_args(false);
  tools::AddLogLevelFlag(*start, flags.log_level);
  start->add_option("--wait-seconds", wait_seconds, "how long to wait for registration")
      ->check(CLI::Range(1u, 3600u));

  std::string stop_dir;
  CLI::App* stop = app.add_subcommand("stop", "SIGTERM every node, SIGKILL what does not stop");
  stop->add_option("dir", stop_dir)->required();
  stop->add_option("--wait-seconds", wait_seconds, "how long to wait after SIGTERM")
      ->check(CLI::Range(1u, 3600u));

  std::string kill_dir, kill_node;
  CLI::App* kill = app.add_subcommand("kill", "SIGKILL one node");
  kill->add_option("dir", kill_dir)->required();
  kill->add_option("node", kill_node, "namenode[-K], datanode-K or journal-K")->required();

  std::string restart_dir, restart_node;
  CLI::App* restart = app.add_subcommand("restart", "stop (if running) and start one node");
  restart->add_option("dir", restart_dir)->required();
  restart->add_option("node", restart_node, "namenode[-K], datanode-K or journal-K")->required();
  restart->add_option("--wait-seconds", wait_seconds, "how long to wait")
      ->check(CLI::Range(1u, 3600u));

  std::string status_dir;
  bool status_json = false;
  CLI::App* status = app.add_subcommand("status", "which nodes run; the namenode's report");
  status->add_option("dir", status_dir)->required();
  status->add_flag("--json", status_json, "one JSON object");

  std::string keys_dir;
  std::string keys_superuser = "granary";
  std::vector<std::string> keys_users;
  CLI::App* keys = app.add_subcommand(
      "keys", "make a CURVE key directory for a cluster, or add users to one (docs/deploy.md)");
  keys->add_option("dir", keys_dir)->required();
  keys->add_option("--superuser", keys_superuser,
                   "the user the cluster's own client key acts as (default granary)");
  keys->add_option("--users", keys_users, "make DIR/users/NAME for each (comma-separated)")
      ->delimiter(',');

  if (const int code = tools::ParseFlags(app, argc, argv, "granary-cluster"); code >= 0) {
    return code;
  }
  if (*start) return tools::ClusterStart(start_dir, flags, wait_seconds);
  if (*stop) return tools::ClusterStop(stop_dir, wait_seconds);
  if (*kill) return tools::ClusterKill(kill_dir, kill_node);
  if (*restart) return tools::ClusterRestart(restart_dir, restart_node, wait_seconds);
  if (*status) return tools::ClusterStatus(status_dir, status_json);
  if (*keys) return MakeKeys(keys_dir, keys_superuser, keys_users);
  return 2;
}
