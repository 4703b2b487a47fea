// The namenode's settings: its timers, the replication it waits for, the CPU it charges per
// request in the simulator, and the HDFS-baseline knobs. Shared by the Namenode and the
// services it wires (namenode.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/common/time.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/namespace.h"
#include "core/security/block_keys.h"

namespace granary {

struct NamenodeOptions {
  NamespaceOptions ns;
  BlockManagerOptions blocks;
  Duration heartbeat_interval = std::chrono::seconds(3);
  Duration datanode_dead_after = std::chrono::seconds(30);
  Duration replication_check_interval = std::chrono::seconds(1);
  Duration lease_soft_limit = std::chrono::seconds(30);
  Duration lease_hard_limit = std::chrono::seconds(60);
  Duration lease_check_interval = std::chrono::seconds(2);
  Duration recovery_timeout = std::chrono::seconds(20);
  Duration orphan_collect_interval = std::chrono::milliseconds(500);
  uint32_t min_replication = 1;
  // The journal's fencing token this namenode serves under as the active (HaNamenode sets
  // it); 0 without a journal. Sent with every heartbeat reply: datanodes obey block commands
  // only under the newest token they have seen, so a deposed active cannot order deletions.
  uint64_t fencing_token = 0;
  // CPU time charged per request (the simulator's CPU model; 0 in the real world).
  Duration cpu_per_request{0};
  // Further CPU time charged per request of a method (rpc::nn::kCreate), on top of
  // cpu_per_request (the simulator's per-operation costs; empty in the real world).
  std::map<std::string, Duration, std::less<>> cpu_per_method;
  // CPU time charged per replica listed in a block report.
  Duration cpu_per_reported_block{0};
  // Baseline knobs for the HDFS-like configuration of the simulator (all off by default):
  //   global_namespace_lock: every client request runs under one namenode-wide read-write
  //     lock (shared for reads, exclusive for mutations; block reports exclusive too), as
  //     HDFS's FSNamesystem lock;
  //   edit_log_sync: a mutation's reply waits, after the lock is released, for a batched
  //     sync of this latency (one sync in flight; requests arriving meanwhile share the next),
  //     as HDFS's FSEditLog.logSync. The MetaStore is then expected to be memory-fast.
  bool global_namespace_lock = false;
  Duration edit_log_sync{0};
  //   sync_logged_edits: with a shared journal, the edit-log sync itself (set by HaNamenode
  //     for the HDFS baseline: JournaledStore::SyncLogged); called like edit_log_sync, after
  //     the lock is released. Empty: nothing to call.
  std::function<Status()> sync_logged_edits;
  // Identities bound to keys (core/security/identity.h): the users a proxy user's key may act
  // for ("*": anyone but the superuser), and where refused claims are logged (may be empty).
  std::map<std::string, std::set<std::string>> proxy_users;
  std::function<void(const std::string&)> security_log;
  // Block access tokens (core/security/block_keys.h): off by default (the tools turn them on
  // with CURVE).
  BlockTokenOptions block_tokens;
};

}  // namespace granary
