// granary-datanode: one datanode process. Flags and wiring only (net/README.md).
//
//   granary-datanode --namenode HOST:PORT --listen HOST:PORT --data-dir DIR
//                    [--advertise HOST:PORT] [--rack R] [--scanner-bytes-per-second B]
//                    [--scan-period-ms MS] [--rpc-timeout-ms MS] [--sync-every-packet]
//                    [--curve-keys DIR] [--insecure-bind-any] [--log-level LEVEL]
//                    [--log-file FILE] [--name NAME] [--seed N]
//
// Block replicas are files blk_<id>_<stamp>.data (and their checksums) directly in --data-dir.
// Logs one line per event on stderr (or --log-file). SIGTERM / SIGINT stop it cleanly.
// Exit: 0 after a clean stop, 1 when it could not start or failed, 2 on a usage error.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "core/datanode/datanode.h"
#include "net/posix_disk.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"
#include "tools/common/log.h"
#include "tools/common/tool_util.h"

namespace {

using granary::Status;
using granary::StatusCode;
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
        LogInfo("registered with the namenode as datanode " +
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
  size_t replicas_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-datanode: a storage server of a Granary cluster"};
  granary::tools::ServerNetFlags net_flags;
  std::string namenode;
  std::string data_dir;
  std::string rack;
  uint64_t scanner_bytes_per_second = 1024 * 1024;
  uint64_t scan_period_ms = 24ull * 3600 * 1000;
  uint64_t rpc_timeout_ms = 10000;
  bool sync_every_packet = false;
  std::string node_name;
  std::string log_level = "info";
  std::string log_file;
  uint64_t seed = 0;

  auto host_port = [](const std::string& v) {
    return granary::tools::IsHostPort(v) ? std::string() : std::string("expected HOST:PORT");
  };
  app.add_option("--namenode", namenode, "HOST:PORT of the namenode")->required()->check(host_port);
  app.add_option("--listen", net_flags.listen, "HOST:PORT to serve on")
      ->required()
      ->check([](const std::string& v) {
        return granary::tools::IsHostPort(v) || v.ends_with(":0") ? "" : "expected HOST:PORT";
      });
  app.add_option("--advertise", net_flags.advertise,
                 "HOST:PORT clients and datanodes reach this one at (needed with a wildcard "
                 "--listen)");
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
  app.add_option("--curve-keys", net_flags.curve_keys,
                 "CURVE key directory (server.key/.pub, client.key/.pub, clients/*.pub)")
      ->check(CLI::ExistingDirectory);
  app.add_flag("--insecure-bind-any", net_flags.insecure_bind_any,
               "allow a non-loopback --listen without CURVE keys (plaintext, unauthenticated)");
  app.add_option("--name", node_name, "this node's name in the log (default datanode@<address>)");
  granary::tools::AddLogLevelFlag(app, log_level);
  app.add_option("--log-file", log_file, "append the log here instead of stderr");
  app.add_option("--seed", seed, "seed of the datanode's generator (default: from the OS)");
  if (const int code = granary::tools::ParseFlags(app, argc, argv, "granary-datanode"); code >= 0) {
    return code;
  }

  granary::DatanodeOptions options;
  options.namenode = granary::Address{namenode};
  options.rack = rack;
  options.scanner_bytes_per_second = scanner_bytes_per_second;
  options.scan_period = milliseconds(scan_period_ms);
  options.rpc_timeout = milliseconds(rpc_timeout_ms);
  options.sync_every_packet = sync_every_packet;
  if (const Status valid = granary::ValidateDatanodeOptions(options); !valid.ok()) {
    std::cerr << "granary-datanode: " << valid.ToString() << std::endl;
    return 2;
  }
  if (node_name.empty()) {
    node_name =
        "datanode@" + (net_flags.advertise.empty() ? net_flags.listen : net_flags.advertise);
  }
  if (!granary::tools::InitLog(node_name, *granary::tools::ParseLogLevel(log_level), log_file)) {
    std::cerr << "granary-datanode: --log-file " << log_file << ": cannot open" << std::endl;
    return 2;
  }
  if (seed == 0) seed = granary::tools::SeedFromDevice();
  LogInfo("starting: namenode " + namenode + ", data-dir " + data_dir +
          (rack.empty() ? "" : ", rack " + rack) + ", scanner " +
          std::to_string(scanner_bytes_per_second) + " B/s every " +
          std::to_string(scan_period_ms) + " ms, seed " + std::to_string(seed));

  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    LogError("cannot create --data-dir " + data_dir + ": " + error.message());
    return 1;
  }

  granary::net::RealEnvOptions env_options;
  env_options.node_name = node_name;
  env_options.seed = seed;
  granary::net::RealEnv env(env_options);
  auto transport = granary::tools::CreateServerTransport(env, net_flags);
  if (!transport.ok()) {
    LogError("cannot listen: " + transport.status().ToString());
    return 1;
  }
  auto disk = granary::net::PosixDisk::Open(env, data_dir);
  if (!disk.ok()) {
    LogError("cannot open --data-dir " + data_dir + ": " + disk.status().ToString());
    transport->reset();
    return 1;
  }

  granary::net::StopOnSignals(env);
  const Status status = granary::tools::ServeUntilStopped(
      env, [&] { return std::make_unique<granary::Datanode>(env, **transport, **disk, options); },
      [](granary::Datanode& server) {
        auto observer = std::make_shared<Observer>(server);
        return [observer] { observer->Check(); };
      });
  transport->reset();
  disk->reset();
  if (!status.ok()) {
    LogError("failed: " + status.ToString());
    return 1;
  }
  LogInfo("stopped");
  return 0;
}
