// granary-datanode: one datanode process. Flags and wiring only (net/README.md).
//
//   granary-datanode --namenode HOST:PORT[,HOST:PORT...] --listen HOST:PORT --data-dir DIR
//                    [--advertise HOST:PORT] [--rack R] [--scanner-bytes-per-second B]
//                    [--scan-period-ms MS] [--rpc-timeout-ms MS] [--sync-every-packet]
//                    [--curve-keys DIR] [--insecure-bind-any] [--log-level LEVEL]
//                    [--log-file FILE] [--name NAME] [--seed N]
//
// Block replicas are files blk_<id>_<stamp>.data (and their checksums) directly in --data-dir.
// Logs one line per event on stderr (or --log-file). SIGTERM / SIGINT stop it cleanly.
// Exit: 0 after a clean stop, 1 when it could not start or failed, 2 on a usage error.
#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "core/datanode/datanode.h"
#include "net/posix_disk.h"
#include "net/real_env.h"
#include "tools/common/ha_status.h"
#include "tools/common/log.h"
#include "tools/common/server_main.h"

namespace {

using granary::Status;
using granary::tools::LogError;
using granary::tools::LogInfo;
using granary::tools::LogWarn;
using std::chrono::milliseconds;

// Logs what changes in the running datanode: registration, corruption the scanner finds.
class Observer {
 public:
  explicit Observer(granary::Datanode& datanode) : datanode_(datanode) {}

  void Check() {
    if (datanode_.registered() != registered_) {
      registered_ = datanode_.registered();
      if (registered_) {
        // With several namenodes the datanode registers with each (namenode_actor.h).
        const std::string with =
            datanode_.actors() > 1
                ? "the first of its " + std::to_string(datanode_.actors()) + " namenodes"
                : "the namenode " + datanode_.namenode().current().value;
        LogInfo("registered with " + with + " as datanode " +
                std::to_string(datanode_.datanode_id()) + " (storage " + datanode_.storage_id() +
                ", " + std::to_string(datanode_.store().size()) + " replicas)");
      } else {
        LogWarn("lost the namenode's registration; registering again");
      }
    }
    const uint64_t corrupt = datanode_.scanner().corrupt_found();
    if (corrupt != corrupt_) {
      LogWarn("block scanner found " + std::to_string(corrupt - corrupt_) +
              " corrupt replica(s); reported to the namenode");
      corrupt_ = corrupt;
    }
    const uint64_t passes = datanode_.scanner().passes();
    if (passes != passes_) {
      granary::tools::LogDebug("block scanner finished pass " + std::to_string(passes) + ", " +
                               std::to_string(datanode_.scanner().bytes_scanned()) +
                               " bytes scanned in all");
      passes_ = passes;
    }
    const uint64_t refused = datanode_.stale_commands_refused();
    if (refused != refused_) {
      LogWarn("refused " + std::to_string(refused - refused_) +
              " command(s) of a deposed or standby namenode (fencing token 0 or older than " +
              std::to_string(datanode_.fencing_token()) + ")");
      refused_ = refused;
    }
    const size_t replicas = datanode_.store().size();
    if (replicas != replicas_) {
      granary::tools::LogDebug("replicas: " + std::to_string(replicas));
      replicas_ = replicas;
    }
  }

 private:
  granary::Datanode& datanode_;
  bool registered_ = false;
  uint64_t corrupt_ = 0;
  uint64_t passes_ = 0;
  uint64_t refused_ = 0;
  size_t replicas_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-datanode: a storage server of a Granary cluster"};
  granary::tools::ServerMain server(app, "granary-datanode");
  server.flags().net.datanode_key = true;
  std::string namenode;
  std::string data_dir;
  std::string rack;
  uint64_t scanner_bytes_per_second = 1024 * 1024;
  uint64_t scan_period_ms = 24ull * 3600 * 1000;
  uint64_t rpc_timeout_ms = 10000;
  bool sync_every_packet = false;

  auto host_port = [](const std::string& v) {
    std::string problem;
    return granary::tools::IsNamenodeList(v, &problem) ? std::string() : problem;
  };
  app.add_option("--namenode", namenode,
                 "HOST:PORT of the namenode, or HOST:PORT,HOST:PORT,... of an HA cluster's "
                 "namenodes (the datanode follows the active one)")
      ->required()
      ->check(host_port);
  server.AddListenFlags(
      "HOST:PORT clients and datanodes reach this one at (needed with a wildcard --listen)");
  app.add_option("--data-dir", data_dir, "directory of the block replicas")->required();
  app.add_option("--rack", rack, "this datanode's rack, e.g. /rack-1");
  app.add_option("--scanner-bytes-per-second", scanner_bytes_per_second,
                 "read rate of the block scanner (0: off)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--scan-period-ms", scan_period_ms,
                 "the scanner starts a pass at most this often (ms)")
      ->check(CLI::Range(uint64_t{10}, uint64_t{30} * 24 * 3600 * 1000));
  app.add_option("--rpc-timeout-ms", rpc_timeout_ms,
                 "deadline of calls to the namenode and other datanodes (ms)")
      ->check(CLI::Range(uint64_t{50}, uint64_t{600000}));
  app.add_flag("--sync-every-packet", sync_every_packet, "fdatasync every packet of a write");
  std::string block_tokens = "auto";
  app.add_option("--block-tokens", block_tokens,
                 "require block access tokens from clients: on, off, or auto (on with CURVE)")
      ->check(CLI::IsMember({"on", "off", "auto"}));
  server.AddCommonFlags("this node's name in the log (default datanode@<address>)",
                        "seed of the datanode's generator (default: from the OS)");
  if (const int code = server.Parse(argc, argv); code >= 0) return code;

  granary::DatanodeOptions options;
  options.namenode = granary::Address{namenode};
  options.rack = rack;
  options.scanner_bytes_per_second = scanner_bytes_per_second;
  options.scan_period = milliseconds(scan_period_ms);
  options.rpc_timeout = milliseconds(rpc_timeout_ms);
  options.sync_every_packet = sync_every_packet;
  options.require_block_tokens =
      block_tokens == "on" || (block_tokens == "auto" && !server.flags().net.curve_keys.empty());
  if (const Status valid = granary::ValidateDatanodeOptions(options); !valid.ok()) {
    std::cerr << "granary-datanode: " << valid.ToString() << std::endl;
    return 2;
  }
  granary::tools::ServerFlags& flags = server.flags();
  if (flags.node_name.empty()) {
    flags.node_name =
        "datanode@" + (flags.net.advertise.empty() ? flags.net.listen : flags.net.advertise);
  }
  if (const int code = server.StartLog(); code >= 0) return code;
  LogInfo("starting: namenode " + namenode + ", data-dir " + data_dir +
          (options.require_block_tokens ? ", block access tokens required" : "") +
          (rack.empty() ? "" : ", rack " + rack) + ", scanner " +
          std::to_string(scanner_bytes_per_second) + " B/s every " +
          std::to_string(scan_period_ms) + " ms, seed " + std::to_string(flags.seed));

  if (!server.CreateDirectory("--data-dir", data_dir)) return 1;

  return server.Run(
      "--data-dir " + data_dir,
      [&](granary::net::RealEnv& env) { return granary::net::PosixDisk::Open(env, data_dir); },
      [&](granary::net::RealEnv& env, granary::Transport& transport, granary::Disk& disk) {
        return std::make_unique<granary::Datanode>(env, transport, disk, options);
      },
      [](granary::Env&, granary::Datanode& datanode) {
        auto observer = std::make_shared<Observer>(datanode);
        return [observer] { observer->Check(); };
      });
}
