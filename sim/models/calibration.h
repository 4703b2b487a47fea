// How a measured calibration (`granary-bench --calibrate`, format "granary-calibration/2")
// becomes the simulator's costs.
//
// The bench measures CPU, not latency: for each operation of one client, the CPU time the
// client, the namenode and the datanodes spent (all threads of each process), and per MiB
// of a large file. The simulator charges it in three places, and the mapping splits the
// measurements between them:
//   - the client library: CPU per call by method, and per MiB written or read
//     (system.client_costs), taken straight from the client's figures;
//   - RPC messages: every message a namenode or datanode sends or receives costs its class a
//     fixed part (NodeClass.rpc_cpu_us), and every received one that finds its node idle a
//     wake-up (rpc_wakeup_us, the client too), in SimTransport;
//   - server handlers: the namenode's per-method costs, the datanodes' per-replica cost and
//     per-MiB write and read costs.
// To split the servers' figures the mapping needs how many messages each class handles per
// operation in the core's protocol; those counts are below, and
// tests/sim/models/calibration_test.cc checks them against the simulator (a protocol change that
// alters them fails there).
//
// The fit (C, N, D = CPU of client, namenode, datanodes per operation or per MiB):
//   RPC layer       a message costs m = rpc_cpu_us_per_call_loaded / 4 (an empty-handler
//                   RPC's CPU with 64 in flight, both ends, two messages each: busy ends),
//                   and a received one that finds its node idle a wake-up w more: for the
//                   client C_stat - C_stat,loaded, for servers N_stat - N_stat,loaded - 2 m
//                   (how much a stat's CPU falls from one client to the most measured,
//                   when each message finds its node busy; without those figures, both
//                   classes take (rpc_cpu_us_per_call - loaded) / 2). With one client every
//                   received message finds its node idle. Below, w is the class's.
//   client          per call: stat, create, open = C of that inline operation - w; other
//                   calls as a stat; WriteBlock = C_create_blocks - C_create_inline -
//                   2 C_stat - w (AddBlock and Complete cost a stat each); ReadBlock =
//                   C_open_blocks - C_open_inline - w; per MiB written = C_write/MiB -
//                   WriteBlock - w (one 1 MiB packet a MiB), read = C_read/MiB - ReadBlock - w
//   servers         a handler's CPU = the class's figure - messages x (m + w / 2):
//                   namenode stat, create, open = N_op - 2 (m + w/2); block ops =
//                   (N_create_blocks - 12 (m + w/2) - create) / 5: Create, AddBlock, Complete
//                   and three replica reports are six calls, and the five besides Create
//                   share the rest (block_op_us = block_report_us);
//                   datanodes: a replica's fixed work (files, finalizing) =
//                   (D_create_blocks - 16 (m + w/2)) / 3; per MiB written, per replica,
//                   (D_write/MiB - 10 (m + w/2) - 3 replica / file MiB) / 3; read
//                   D_read/MiB - 2 (m + w/2); in creates and writes, less the CPU of the
//                   syncs they wait for (SyncCounts below x sync_cpu_us / dir_sync_cpu_us)
// Every result is clamped at 0. The sync latency becomes the datanodes' disk sync (and the
// directory sync latency their directory syncs after creates and renames) and the
// metadata store's write latency (a RocksDB commit waits for one WAL sync; concurrent
// commits share it, as the store model's independent waits do). When the file has the
// distributions (sync_us_quantiles, dir_sync_us_quantiles: every probed sync), each sync
// draws from them instead (DiskProfile::sync_samples, MetaStoreProfile::write_samples); and
// on a shared host (cluster.shared_host_cores) sync_concurrency gives the syncs the host's
// one disk completes at once, cluster.host_sync_slots = the most of k x median(1 syncer) /
// median(k syncers) over the levels measured, clamped to 1..k (medians: a shared machine's
// few slow syncs do not move them). On a host of one core (shared_host_cores 1) every
// wake-up scales by (rpc_cpu_us_per_call_one_core - loaded) / (rpc_cpu_us_per_call -
// loaded): the RPC layer's one-in-flight CPU measured with both ends on one CPU.
#pragma once

#include <string>

#include "core/common/status.h"
#include "proto/scenario.pb.h"

namespace granary::sim {

// Messages (sent plus received) each class handles per operation of one client.
struct MessageCounts {
  double client = 0;
  double namenode = 0;
  double datanodes = 0;  // all datanodes together
};
// One call: a request and a reply at each end.
inline constexpr MessageCounts kStatMessages{2, 2, 0};
inline constexpr MessageCounts kCreateInlineMessages{2, 2, 0};
inline constexpr MessageCounts kOpenInlineMessages{2, 2, 0};
// Create, AddBlock, WriteBlock to the first datanode, Complete (client: 4 calls); the
// namenode also gets one replica report from each of the three datanodes (6 calls); the
// pipeline forwards the packet twice (dn-1 and dn-2 each serve one call and make one, dn-3
// serves one) and each datanode reports its replica: 2 + 2 + 2 + 2 + 2 + 3 x 2 = 16.
inline constexpr MessageCounts kCreateBlocksMessages{8, 12, 16};
// Open, then ReadBlock from one datanode.
inline constexpr MessageCounts kOpenBlocksMessages{4, 2, 2};
// Per packet of a replication-3 write (packet = 1 MiB): the client's call to dn-1, forwarded
// twice; bytes moved per MiB: the client sends one, the datanodes receive three and forward
// two.
inline constexpr MessageCounts kWritePacketMessages{2, 0, 10};
inline constexpr double kWriteDatanodeMiBMoved = 5;
// Per MiB of a read: a quarter of a ReadBlock call (the client reads in pieces of 4 MiB,
// ClientOptions::read_piece_bytes, one call each).
inline constexpr MessageCounts kReadPieceMessages{0.5, 0, 0.5};

// Syncs each operation waits for: the namenode's store commits, and the datanodes' file
// and directory syncs (all datanodes together). Their CPU (the system calls' share, which
// the bench measures as sync_cpu_us and dir_sync_cpu_us) is in the processes' figures but
// overlaps the sync's wait, which the simulator models as latency: the fit takes it out.
struct SyncCounts {
  double namenode_commits = 0;
  double datanode_file_syncs = 0;
  double datanode_directory_syncs = 0;
};
inline constexpr SyncCounts kCreateInlineSyncs{1, 0, 0};
// Create, AddBlock and Complete commit (replica reports do not); each replica syncs two
// files (data and checksums) and six times a directory (creating, renaming and removing
// them as it is written and finalized).
inline constexpr SyncCounts kCreateBlocksSyncs{3, 6, 18};

// Applies a "granary-calibration/2" document to the scenario's costs that are unset (the
// scenario's own values win). Errors name the missing or bad field.
Status ApplyMeasuredCalibration(proto::Scenario& scenario, const std::string& json_text);

}  // namespace granary::sim
