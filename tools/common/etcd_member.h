// One member of the namenodes' journal (an etcd 3.4 cluster, Debian's /usr/bin/etcd) as
// granary-cluster runs it on this machine: its command line and a health probe.
//
// Settings, and why:
// - Loopback only: client and peer URLs on 127.0.0.1; no metrics listener.
// - --initial-cluster-token: unique to the cluster directory, so that members of two local
//   clusters can never join each other by a port mix-up.
// - --heartbeat-interval 100 / --election-timeout 1000 (etcd's defaults): a raft leader is
//   replaced within ~1-2 s of a crash, without spurious elections on a loaded machine. The
//   namenodes' leadership lease (5 s) must stay above 1.5x the election timeout.
// - --quota-backend-bytes 2 GiB (etcd's default, set explicitly so that it is a decision):
//   the journal holds only entries since the last checkpoint (EtcdJournal::Truncate deletes
//   older ones, compacts and defragments), so it stays far below; reaching it raises etcd's
//   NOSPACE alarm and appends fail with a clear error instead of filling the disk.
// - --auto-compaction-mode revision --auto-compaction-retention 100000: a safety net behind
//   the journal's own compaction. Each append rewrites the journal's "last" key, leaving one
//   old version in etcd's history; etcd drops versions older than the last 100,000 revisions
//   every 5 minutes. The journal never reads old revisions, so nothing it needs goes.
// - --snapshot-count 10000: a raft snapshot every 10,000 entries (the default 100,000 keeps
//   that many entries in memory), so a restarted member catches up from a snapshot quickly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::tools {

struct EtcdMemberSpec {
  std::string name;      // "journal-1"
  std::string data_dir;  // absolute
  uint32_t client_port = 0;
  uint32_t peer_port = 0;
};

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

// The command line of `members[index]` in a cluster of `members` with `token`. Restarting a
// member uses the same line: etcd ignores the --initial-* flags once its data dir has data.
std::vector<std::string> EtcdArgv(const std::vector<EtcdMemberSpec>& members, size_t index,
                                  const std::string& token);

// GET /health on 127.0.0.1:client_port within `timeout_ms`: true when the member answers
// that it is healthy (it is in a cluster with a leader and serves reads); `detail` gets the
// reply body or why there is none.
bool EtcdHealthy(uint32_t client_port, int timeout_ms, std::string* detail);

}  // namespace granary::tools
