// granary-namenode: one namenode process. Flags and wiring only (net/README.md).
//
//   granary-namenode --listen HOST:PORT --meta-dir DIR [--advertise HOST:PORT]
//                    [--inline-threshold BYTES] [--replication N] [--block-size BYTES]
//                    [--superuser NAME] [--supergroup NAME] [--heartbeat-ms MS]
//                    [--dead-after-ms MS] [--lease-hard-limit-ms MS] [--curve-keys DIR]
//                    [--insecure-bind-any] [--log-level LEVEL] [--log-file FILE]
//                    [--name NAME] [--seed N]
//
// Logs one line per event on stderr (or --log-file). SIGTERM / SIGINT stop it cleanly.
// Exit: 0 after a clean stop, 1 when it could not start or failed, 2 on a usage error.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namenode.h"
#include "net/real_env.h"
#include "net/rocksdb_store.h"
#include "tools/common/log.h"
#include "tools/common/server_main.h"

namespace {

using granary::tools::LogError;
using granary::tools::LogInfo;
using granary::tools::LogWarn;
using std::chrono::milliseconds;

// Watches the running namenode and logs what changes: datanodes coming and going, blocks
// needing repair. core/ does not log; this is what an operator tails.
class Observer {
 public:
  explicit Observer(granary::Namenode& namenode) : namenode_(namenode) {}

  // `now` is the env's clock; counting blocks walks the whole block map, so it runs at most
  // every kCountInterval and never takes more than about 5% of the namenode's thread.
  void Check(granary::Env& env) {
    if (!namenode_.ready()) return;
    if (!serving_) {
      serving_ = true;
      LogInfo("serving: " + std::to_string(namenode_.ns().counts().files) + " files, " +
              std::to_string(namenode_.ns().counts().directories) + " directories, " +
              std::to_string(namenode_.blocks().Counts().blocks) + " blocks loaded");
    }
    for (const auto& [id, record] : namenode_.datanodes().all()) {
      auto [it, added] = live_.emplace(id, record.live);
      if (added) {
        LogInfo("datanode " + std::to_string(id) + " registered: " + record.address +
                (record.rack.empty() ? "" : " rack " + record.rack) + ", capacity " +
                std::to_string(record.capacity_bytes) + " bytes");
      } else if (it->second != record.live) {
        it->second = record.live;
        if (record.live) {
          LogInfo("datanode " + std::to_string(id) + " (" + record.address + ") is live again");
        } else {
          LogWarn("datanode " + std::to_string(id) + " (" + record.address +
                  ") declared dead: no heartbeat; its replicas will be re-replicated");
        }
      }
    }
    if (env.Now() < next_count_) return;
    const granary::Instant started = env.Now();
    const granary::BlockCounts counts = namenode_.blocks().Counts();
    next_count_ =
        env.Now() + std::max<granary::Duration>(kCountInterval, 20 * (env.Now() - started));
    Report("under-replicated blocks", counts.under_replicated, under_replicated_);
    Report("corrupt blocks", counts.corrupt, corrupt_);
    Report("missing blocks", counts.missing, missing_);
  }

 private:
  static void Report(const std::string& what, uint64_t now, uint64_t& before) {
    if (now == before) return;
    const std::string line = what + ": " + std::to_string(before) + " -> " + std::to_string(now);
    if (now > before) {
      LogWarn(line);
    } else {
      LogInfo(line);
    }
    before = now;
  }

  static constexpr granary::Duration kCountInterval = std::chrono::seconds(1);

  granary::Namenode& namenode_;
  granary::Instant next_count_{};
  bool serving_ = false;
  std::map<uint32_t, bool> live_;
  uint64_t under_replicated_ = 0;
  uint64_t corrupt_ = 0;
  uint64_t missing_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-namenode: the namespace and block map of a Granary cluster"};
  granary::tools::ServerMain server(app, "granary-namenode");
  server.flags().node_name = "namenode";
  std::string meta_dir;
  uint64_t inline_threshold = granary::kInlineThresholdBytesDefault;
  uint32_t replication = 3;
  uint64_t block_bytes = granary::kBlockBytesDefault;
  std::string superuser = "granary";
  std::string supergroup = "supergroup";
  uint64_t heartbeat_ms = 3000;
  uint64_t dead_after_ms = 30000;
  uint64_t lease_hard_limit_ms = 60000;
  uint32_t directory_cache = 65536;
  uint64_t blob_cache_bytes = 0;

  server.AddListenFlags(
      "HOST:PORT others reach this namenode at (needed with a wildcard --listen)");
  app.add_option("--meta-dir", meta_dir, "directory of the metadata store (RocksDB)")->required();
  app.add_option("--inline-threshold", inline_threshold,
                 "files up to this many bytes live with their metadata (0: never; max 1 MiB)")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(uint64_t{0}, uint64_t{granary::kInlineThresholdBytesMax}));
  app.add_option("--directory-cache", directory_cache,
                 "directory inodes kept in memory to resolve paths (0: none)")
      ->check(CLI::Range(0u, granary::kDirectoryCacheEntriesMax));
  app.add_option("--blob-cache", blob_cache_bytes,
                 "bytes of inline files' data kept in memory by the store (0: none; e.g. 1GiB)")
      ->transform(CLI::AsSizeValue(false));
  app.add_option("--replication", replication, "default replicas per block (1..16)")
      ->check(CLI::Range(1u, granary::kReplicationMax));
  app.add_option("--block-size", block_bytes,
                 "default block size in bytes: a multiple of 64 KiB, at most 1 GiB")
      ->transform(CLI::AsSizeValue(false))
      ->check([](const std::string& v) -> std::string {
        const uint64_t bytes = std::stoull(v);
        if (bytes == 0 || bytes % granary::kChecksumChunkBytes != 0 ||
            bytes > granary::kBlockBytesMax) {
          return "block size must be a positive multiple of 65536, at most 1 GiB";
        }
        return "";
      });
  app.add_option("--superuser", superuser, "the user who passes every permission check");
  app.add_option("--supergroup", supergroup, "members of this group are superusers too");
  app.add_option("--heartbeat-ms", heartbeat_ms, "datanode heartbeat interval (ms)")
      ->check(CLI::Range(uint64_t{10}, uint64_t{600000}));
  app.add_option("--dead-after-ms", dead_after_ms,
                 "a datanode silent this long is declared dead (ms)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{3600000}));
  app.add_option("--lease-hard-limit-ms", lease_hard_limit_ms,
                 "a writer silent this long loses its files' leases (ms)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{86400000}));
  server.AddCommonFlags("this node's name in the log (default namenode)",
                        "seed of the namenode's generator (default: from the OS)");
  if (const int code = server.Parse(argc, argv); code >= 0) return code;
  if (dead_after_ms <= heartbeat_ms) {
    std::cerr << "granary-namenode: --dead-after-ms must be longer than --heartbeat-ms"
              << std::endl;
    return 2;
  }
  if (const int code = server.StartLog(); code >= 0) return code;
  granary::NamenodeOptions options;
  options.ns.inline_threshold_bytes = inline_threshold;
  options.ns.directory_cache_entries = directory_cache;
  options.ns.default_replication = replication;
  options.ns.default_block_bytes = block_bytes;
  options.ns.permissions.superuser = superuser;
  options.ns.permissions.supergroup = supergroup;
  options.heartbeat_interval = milliseconds(heartbeat_ms);
  options.datanode_dead_after = milliseconds(dead_after_ms);
  options.lease_hard_limit = milliseconds(lease_hard_limit_ms);
  // A short liveness timeout (tests, small clusters) shortens the lease-recovery and
  // replication timeouts with it, so that repairs retry as quickly as faults are noticed;
  // the defaults stay as they are otherwise.
  const granary::Duration dead_after = milliseconds(dead_after_ms);
  options.recovery_timeout = std::min(
      options.recovery_timeout, std::max<granary::Duration>(dead_after, std::chrono::seconds(5)));
  options.blocks.replication_timeout =
      std::min(options.blocks.replication_timeout,
               std::max<granary::Duration>(2 * dead_after, std::chrono::seconds(10)));
  LogInfo("starting: meta-dir " + meta_dir + ", inline threshold " +
          std::to_string(inline_threshold) + " B, replication " + std::to_string(replication) +
          ", block size " + std::to_string(block_bytes) + " B, superuser " + superuser +
          ", heartbeat " + std::to_string(heartbeat_ms) + " ms, dead after " +
          std::to_string(dead_after_ms) + " ms, seed " + std::to_string(server.flags().seed));

  if (!server.CreateDirectory("--meta-dir", meta_dir)) return 1;

  granary::net::RocksDbStoreOptions store_options;
  store_options.blob_cache_bytes = blob_cache_bytes;
  // Inline file bytes are checked against the CRC32C in their inode (Namespace::Open).
  store_options.caller_checked_prefix = granary::InodeStore::InlinePrefix();
  return server.Run(
      "the metadata store in " + meta_dir,
      [&](granary::net::RealEnv& env) {
        return granary::net::RocksDbStore::Open(env, meta_dir, store_options);
      },
      [&](granary::net::RealEnv& env, granary::Transport& transport, granary::MetaStore& store) {
        return std::make_unique<granary::Namenode>(env, transport, store, options);
      },
      [](granary::Env& env, granary::Namenode& namenode) {
        auto observer = std::make_shared<Observer>(namenode);
        return [observer, &env] { observer->Check(env); };
      });
}
