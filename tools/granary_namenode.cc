// granary-namenode: one namenode process. Flags and wiring only (net/README.md).
//
//   granary-namenode --listen HOST:PORT --meta-dir DIR [--advertise HOST:PORT]
//                    [--inline-threshold BYTES] [--replication N] [--block-size BYTES]
//                    [--superuser NAME] [--supergroup NAME] [--heartbeat-ms MS]
//                    [--dead-after-ms MS] [--lease-hard-limit-ms MS] [--curve-keys DIR]
//                    [--insecure-bind-any] [--log-level LEVEL] [--log-file FILE]
//                    [--name NAME] [--seed N]
//                    [--journal etcd://HOST:PORT,... [--journal-prefix P] [--journal-lease-ms MS]
//                     [--journal-appends-in-flight N]]
//
// With --journal this namenode is one of several sharing that journal (high availability,
// core/namenode/ha_namenode.h): it is active or a standby, and its name in the election is
// its address (--advertise, else --listen). Without it, it is the only namenode.
//
// Logs one line per event on stderr (or --log-file). SIGTERM / SIGINT stop it cleanly.
// Exit: 0 after a clean stop, 1 when it could not start or failed, 2 on a usage error.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/ha_namenode.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namenode.h"
#include "net/etcd_journal.h"
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
    CheckServing(env);
  }

 private:
  void CheckServing(granary::Env& env) {
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

// One namenode process: the only namenode, or one of several over a journal.
struct NamenodeProcess {
  granary::Status open_error;
  std::unique_ptr<granary::net::EtcdJournal> journal;
  std::unique_ptr<granary::HaNamenode> ha;
  std::unique_ptr<granary::Namenode> single;

  granary::Status Run() {
    if (!open_error.ok()) return open_error;
    return ha ? ha->Run() : single->Run();
  }
  // The namenode serving now (null while a standby).
  granary::Namenode* serving() { return ha ? ha->namenode() : single.get(); }
};

// Logs role changes of an HA namenode, and what Observer logs while it serves.
class ProcessObserver {
 public:
  explicit ProcessObserver(NamenodeProcess& process) : process_(process) {}

  void Check(granary::Env& env) {
    granary::Namenode* serving = process_.serving();
    if (serving != current_) {
      current_ = serving;
      observer_ = serving ? std::make_unique<Observer>(*serving) : nullptr;
      if (process_.ha && serving) {
        LogInfo("active: won the election; serving from journal entry " +
                std::to_string(process_.ha->applied_seq()));
      } else if (process_.ha && was_active_) {
        LogWarn("standby: lost the leadership; following the journal");
      }
      was_active_ = serving != nullptr;
    }
    if (observer_) observer_->Check(env);
  }

 private:
  NamenodeProcess& process_;
  granary::Namenode* current_ = nullptr;
  std::unique_ptr<Observer> observer_;
  bool was_active_ = false;
};

// "etcd://H:P,H:P" -> {"H:P", "H:P"}; kInvalidArgument with the reason for anything else.
granary::Result<std::vector<std::string>> ParseJournal(const std::string& url) {
  const std::string scheme = "etcd://";
  if (url.rfind(scheme, 0) != 0) {
    return granary::Status(granary::StatusCode::kInvalidArgument,
                           "--journal must be etcd://HOST:PORT,HOST:PORT,...");
  }
  std::vector<std::string> endpoints;
  size_t start = scheme.size();
  while (start <= url.size()) {
    const size_t comma = std::min(url.find(',', start), url.size());
    const std::string endpoint = url.substr(start, comma - start);
    if (!granary::tools::IsHostPort(endpoint)) {
      return granary::Status(granary::StatusCode::kInvalidArgument,
                             "--journal: '" + endpoint + "' is not HOST:PORT");
    }
    endpoints.push_back(endpoint);
    start = comma + 1;
  }
  return endpoints;
}

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
  std::string journal_url;
  std::string journal_prefix = "/granary/journal/";
  uint64_t journal_lease_ms = 5000;
  uint32_t journal_appends_in_flight = granary::kJournalAppendsInFlightDefault;

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
  std::string block_tokens = "auto";
  app.add_option("--block-tokens", block_tokens,
                 "issue block access tokens: on, off, or auto (on with CURVE)")
      ->check(CLI::IsMember({"on", "off", "auto"}));
  uint64_t token_lifetime_ms = 3600 * 1000;
  uint64_t key_roll_ms = 3600 * 1000;
  app.add_option("--block-token-lifetime-ms", token_lifetime_ms,
                 "how long a block access token is valid (default 1 h)")
      ->check(CLI::Range(uint64_t{1000}, uint64_t{7} * 24 * 3600 * 1000));
  app.add_option("--block-key-roll-ms", key_roll_ms,
                 "a new block token key this often (default 1 h)")
      ->check(CLI::Range(uint64_t{1000}, uint64_t{7} * 24 * 3600 * 1000));
  std::vector<std::string> proxy_users;
  app.add_option("--proxy-user", proxy_users,
                 "PROXY=USER1,USER2 (or PROXY=*): with CURVE, the key of user PROXY may act for "
                 "these users (repeatable)")
      ->check([](const std::string& v) {
        const size_t eq = v.find('=');
        return eq == 0 || eq == std::string::npos || eq + 1 == v.size()
                   ? "--proxy-user takes PROXY=USER1,USER2 or PROXY=*"
                   : std::string();
      });
  app.add_option("--heartbeat-ms", heartbeat_ms, "datanode heartbeat interval (ms)")
      ->check(CLI::Range(uint64_t{10}, uint64_t{600000}));
  app.add_option("--dead-after-ms", dead_after_ms,
                 "a datanode silent this long is declared dead (ms)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{3600000}));
  app.add_option("--lease-hard-limit-ms", lease_hard_limit_ms,
                 "a writer silent this long loses its files' leases (ms)")
      ->check(CLI::Range(uint64_t{100}, uint64_t{86400000}));
  app.add_option("--journal", journal_url,
                 "etcd://HOST:PORT,...: share this journal with other namenodes (high "
                 "availability); without it this namenode is the only one");
  app.add_option("--journal-prefix", journal_prefix,
                 "key prefix of this cluster's journal in etcd (ends with /)");
  app.add_option("--journal-lease-ms", journal_lease_ms,
                 "the active's leadership lease: a standby takes over this long after the "
                 "active stops renewing it (ms; etcd counts whole seconds)")
      ->check(CLI::Range(uint64_t{1000}, uint64_t{600000}));
  app.add_option("--journal-appends-in-flight", journal_appends_in_flight,
                 "journal appends the active keeps in flight (group commits overlapping; "
                 "default " +
                     std::to_string(granary::kJournalAppendsInFlightDefault) + ")")
      ->check(CLI::Range(uint32_t{1}, granary::kJournalAppendsInFlightMax));
  server.AddCommonFlags("this node's name in the log (default namenode)",
                        "seed of the namenode's generator (default: from the OS)");
  if (const int code = server.Parse(argc, argv); code >= 0) return code;
  if (dead_after_ms <= heartbeat_ms) {
    std::cerr << "granary-namenode: --dead-after-ms must be longer than --heartbeat-ms"
              << std::endl;
    return 2;
  }
  std::vector<std::string> journal_endpoints;
  if (!journal_url.empty()) {
    granary::Result<std::vector<std::string>> parsed = ParseJournal(journal_url);
    if (!parsed.ok()) {
      std::cerr << "granary-namenode: " << parsed.status().message() << std::endl;
      return 2;
    }
    journal_endpoints = *parsed;
    if (journal_prefix.empty() || journal_prefix.back() != '/') {
      std::cerr << "granary-namenode: --journal-prefix must end with /" << std::endl;
      return 2;
    }
    if (inline_threshold > granary::kJournalEntryBytesMax / 2) {
      std::cerr << "granary-namenode: with --journal, --inline-threshold is at most "
                << granary::kJournalEntryBytesMax / 2 << " bytes (half a journal entry)"
                << std::endl;
      return 2;
    }
    // The journal's calls (appends, the follower's reads, the lease) wait on gRPC from the
    // blocking pool beside the store's.
    server.flags().blocking_threads = 8;
  }
  if (const int code = server.StartLog(); code >= 0) return code;
  granary::NamenodeOptions options;
  options.ns.inline_threshold_bytes = inline_threshold;
  options.ns.directory_cache_entries = directory_cache;
  options.ns.default_replication = replication;
  options.ns.default_block_bytes = block_bytes;
  options.ns.permissions.superuser = superuser;
  options.ns.permissions.supergroup = supergroup;
  for (const std::string& rule : proxy_users) {
    const size_t eq = rule.find('=');
    std::stringstream users(rule.substr(eq + 1));
    for (std::string user; std::getline(users, user, ',');) {
      if (!user.empty()) options.proxy_users[rule.substr(0, eq)].insert(user);
    }
  }
  options.security_log = [](const std::string& line) { granary::tools::LogWarn(line); };
  options.block_tokens.enabled =
      block_tokens == "on" || (block_tokens == "auto" && !server.flags().net.curve_keys.empty());
  options.block_tokens.token_lifetime = milliseconds(token_lifetime_ms);
  options.block_tokens.key_roll_interval = milliseconds(key_roll_ms);
  options.block_tokens.key_grace = options.block_tokens.token_lifetime;
  options.block_tokens.random_bytes = [](uint8_t* out, size_t bytes) {
    randombytes_buf(out, bytes);  // libsodium's CSPRNG, not the seeded generator
  };
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
  LogInfo(
      "starting: meta-dir " + meta_dir + ", inline threshold " + std::to_string(inline_threshold) +
      " B, replication " + std::to_string(replication) + ", block size " +
      std::to_string(block_bytes) + " B, superuser " + superuser + ", heartbeat " +
      std::to_string(heartbeat_ms) + " ms, dead after " + std::to_string(dead_after_ms) +
      " ms, seed " + std::to_string(server.flags().seed) +
      (options.block_tokens.enabled ? ", block access tokens on" : ", block access tokens off"));
  if (options.block_tokens.enabled && sodium_init() < 0) {
    LogError("cannot initialise libsodium for block token keys");
    return 1;
  }

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
        auto process = std::make_unique<NamenodeProcess>();
        if (journal_endpoints.empty()) {
          process->single = std::make_unique<granary::Namenode>(env, transport, store, options);
          return process;
        }
        granary::net::EtcdJournalOptions journal_options;
        journal_options.endpoints = journal_endpoints;
        journal_options.prefix = journal_prefix;
        journal_options.lease_ttl = milliseconds(journal_lease_ms);
        auto journal = granary::net::EtcdJournal::Open(env, journal_options);
        if (!journal.ok()) {
          process->open_error = journal.status().WithContext("cannot open the journal");
          return process;
        }
        process->journal = std::move(*journal);
        granary::HaOptions ha_options;
        ha_options.candidate = transport.self().value;
        ha_options.journal_appends_in_flight = journal_appends_in_flight;
        ha_options.on_event = [](const std::string& line) { LogInfo(line); };
        LogInfo("journal: etcd " + journal_url.substr(7) + ", prefix " + journal_prefix +
                ", lease " + std::to_string(journal_lease_ms) + " ms; standby until elected as " +
                ha_options.candidate);
        process->ha = std::make_unique<granary::HaNamenode>(env, transport, store,
                                                            *process->journal, ha_options, options);
        return process;
      },
      [](granary::Env& env, NamenodeProcess& process) {
        auto observer = std::make_shared<ProcessObserver>(process);
        return [observer, &env] { observer->Check(env); };
      });
}
