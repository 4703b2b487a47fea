// Every limit of Granary, named, in one place (STYLE.md 5). Input past a limit gets an error;
// internal state past one is a bug.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace granary {

// Namespace.
inline constexpr size_t kNameBytesMax = 255;
inline constexpr size_t kPathBytesMax = 4096;
inline constexpr size_t kPathDepthMax = 512;
inline constexpr uint32_t kListPageEntriesMax = 1000;
// nn.OpenMany: paths per request, and their bytes in all; inline bytes per reply payload
// (at most the wire's kPayloadBytesMax) and reply body bytes (blocks and statuses, under the
// wire's kMessageBodyBytesMax). A reply that would pass either answers fewer paths.
inline constexpr uint32_t kOpenManyPathsMax = 256;
inline constexpr size_t kOpenManyPathBytesMax = 256 * 1024;
inline constexpr size_t kOpenManyPayloadBytesMax = 8 * 1024 * 1024;
inline constexpr size_t kOpenManyReplyBodyBytesMax = 2 * 1024 * 1024;
// Directory inodes the namenode keeps in memory (NamespaceOptions::directory_cache_entries).
inline constexpr uint32_t kDirectoryCacheEntriesMax = 1 << 20;

// Data.
inline constexpr uint64_t kInlineThresholdBytesDefault = 64 * 1024;
inline constexpr uint64_t kInlineThresholdBytesMax = 1024 * 1024;
inline constexpr uint32_t kChecksumChunkBytes = 64 * 1024;
inline constexpr uint64_t kBlockBytesDefault = 128ull * 1024 * 1024;
inline constexpr uint64_t kBlockBytesMax = 1024ull * 1024 * 1024;
inline constexpr uint32_t kReplicationMax = 16;
// A file's blocks (1 TiB at the default block size): every change of a file, including its
// deletion, is one MetaStore batch, which must stay under kMetaBatchOpsMax.
inline constexpr uint32_t kBlocksPerFileMax = 8192;

// Wire.
inline constexpr size_t kMethodBytesMax = 64;
inline constexpr size_t kMessageBodyBytesMax = 4 * 1024 * 1024;
inline constexpr size_t kPayloadBytesMax = 8 * 1024 * 1024;
inline constexpr uint32_t kRpcInFlightPerCallerMax = 1024;

// Disk seam.
inline constexpr size_t kDiskFileNameBytesMax = 255;
inline constexpr size_t kDiskReadBytesMax = 16 * 1024 * 1024;
inline constexpr uint32_t kDiskListEntriesMax = 1 << 20;

// MetaStore seam.
inline constexpr size_t kMetaKeyBytesMax = 8 * 1024;
inline constexpr size_t kMetaValueBytesMax = 2 * 1024 * 1024;
inline constexpr uint32_t kMetaBatchOpsMax = 100000;
inline constexpr uint32_t kMetaScanEntriesMax = 100000;

// Runtime.
inline constexpr size_t kFiberStackBytes = 64 * 1024;
inline constexpr uint32_t kRetryAttemptsMax = 16;

// Datanode (core/datanode/).
// One dn.WriteBlock packet's payload; the whole packet with its body stays under the wire's
// kPayloadBytesMax.
inline constexpr size_t kDatanodePacketBytesMax = 4 * 1024 * 1024;
// One dn.ReadBlock request's range (the chunk-aligned reply adds at most two chunks).
inline constexpr uint64_t kDatanodeReadBytesMax = 4 * 1024 * 1024;
// A datanode address or client name carried in a datanode request or command.
inline constexpr size_t kDatanodeAddressBytesMax = 256;
inline constexpr size_t kDatanodeClientNameBytesMax = 1024;
// Commands a datanode carries out from one heartbeat reply; more are ignored (the namenode
// sends them again).
inline constexpr uint32_t kDatanodeCommandsPerHeartbeatMax = 1000;
// Replicate and recover commands a datanode runs at once (DatanodeOptions::transfers_max is at
// most this), and holds queued; commands past the queue are ignored (the namenode resends).
inline constexpr uint32_t kDatanodeTransfersMax = 64;
inline constexpr uint32_t kDatanodeQueuedTransfersMax = 10000;
// Replicas a datanode re-reads at once on KIND_VERIFY (a client reported them bad); more are
// dropped, since a hostile client could otherwise make it read every block it holds at once.
inline constexpr uint32_t kDatanodeVerifiesMax = 4;
// Replicas per block report message; a longer full report continues in incremental ones.
inline constexpr uint32_t kDatanodeReportReplicasMax = 100000;
// Replica events (finalized, deleted, corrupt) queued for the namenode; past it the queue is
// dropped and a full report sent instead.
inline constexpr uint32_t kDatanodePendingEventsMax = 100000;
// Replicas a standby namenode keeps aside because it has not applied their block's journal
// entry yet (block_manager.h, standby); past it they wait for the datanode's next full report.
inline constexpr size_t kStandbyUnmatchedReplicasMax = 1000000;

// Namenode lists (core/rpc/namenode_locator.h): namenodes one list may name, the bytes of
// each address, and the redirects (kNotActive naming the active) one call follows at once.
inline constexpr size_t kNamenodeListMax = 16;
inline constexpr size_t kNamenodeAddressBytesMax = 256;
inline constexpr uint32_t kNamenodeRedirectsMax = 4;
// Reads on any namenode (issue 14; core/namenode/standby_reads.h, core/rpc/namenode_locator.h).
// How long a standby waits to have applied the sequence a read needs before it sends the
// client to the active; how far (journal entries) behind the journal's last entry it may be
// and still take reads; how long a client waits for a read at a namenode that is not the
// active before it asks the active instead, and then leaves that namenode out of its reads.
// The wait is short because followers learn of entries by a journal watch: a healthy standby
// applies a client's entry within a network delay and an apply, so one that has not in 50 ms
// is stuck or overloaded, and the active (one more round trip) answers sooner than waiting.
inline constexpr std::chrono::nanoseconds kStandbyReadWaitMax = std::chrono::milliseconds(50);
inline constexpr uint64_t kStandbyReadLagEntriesMax = 1024;
inline constexpr size_t kStandbyReadWaitersMax = 4096;
inline constexpr std::chrono::nanoseconds kSpreadReadTimeout = std::chrono::seconds(2);
inline constexpr std::chrono::nanoseconds kSpreadReadAvoid = std::chrono::seconds(5);
// kSpreadReadAvoid also follows a refusal for being behind: such a refusal costs the client up
// to kStandbyReadWaitMax, and leaving the standby out for 100 times that keeps refusals under
// 1 % of a client's time. Measured (2026-12-04, quiet, 3 namenodes, 6 x 300 writes each read
// back at once): with a 100 ms time out doubling per refusal in a row, the standbys took
// 420-450 of 2,000 such reads instead of ~25, but the reads' p99 was 51 ms (the wait) against
// 1.6 ms with 5 s (the active alone: 1.1-1.2 ms). Reads of data written earlier need no wait
// and spread either way.
// Under least-loaded, how long a namenode's reply latency stays this client's estimate of it.
// An older one counts as unknown: the namenode is drawn as if unmeasured, and its next reply
// replaces the estimate instead of moving an average (else the slowest of three namenodes,
// which loses every pair it is drawn into, would never be asked again after one slow reply).
inline constexpr std::chrono::nanoseconds kReadLatencyMemory = std::chrono::seconds(2);

// Namenode (core/namenode/namenode.h, moved here).
// Groups a request's user may name.
inline constexpr size_t kGroupsPerUserMax = 64;
// Datanodes a writer may exclude from a new pipeline (nn.AddBlock, nn.BumpGeneration).
inline constexpr size_t kExcludedDatanodesMax = 64;
// Entries of unlinked subtrees the orphan collector removes per round.
inline constexpr size_t kOrphanCollectBatch = 2048;
// Recoveries of a file's last block tried before the block is given up.
inline constexpr uint32_t kRecoveryAttemptsMax = 5;

// Namenode's datanodes (core/namenode/datanode_manager.h, moved here).
// Commands queued for one datanode; more are dropped (the monitors issue them again).
inline constexpr size_t kDatanodeCommandsQueuedMax = 4096;
// Commands the namenode hands out in one heartbeat reply.
inline constexpr size_t kCommandsPerHeartbeatMax = 64;
// Datanodes the namenode knows.
inline constexpr size_t kDatanodesMax = 100000;

// Replica store (core/datanode/replica_store.cc).
// The most chunks a replica can have: more CRCs in a meta file are garbage.
inline constexpr uint64_t kReplicaChunksPerBlockMax =
    (kBlockBytesMax + kChecksumChunkBytes - 1) / kChecksumChunkBytes;
// Load and reads move at most this much per disk call (a multiple of the chunk).
inline constexpr uint64_t kReplicaDiskPieceBytes = 4 * 1024 * 1024;

// Block scanner (core/datanode/block_scanner.cc): one read of the scanner, big enough to be
// efficient, small enough to pace smoothly.
inline constexpr uint64_t kScannerPieceBytes = 1024 * 1024;

// ZeroMQ transport (net/zmq_transport.h, net/zmq_transport.cc).
// Frames at least this large are handed to ZeroMQ without a copy.
inline constexpr size_t kZmqZeroCopyFrameBytes = 4096;
// The largest frame a peer may send: a bigger one makes ZeroMQ drop the connection.
inline constexpr int64_t kZmqFrameBytesMax =
    static_cast<int64_t>(kPayloadBytesMax > kMessageBodyBytesMax ? kPayloadBytesMax
                                                                 : kMessageBodyBytesMax) +
    1024;
// A routing id of the ROUTER (ZeroMQ's own are 5 bytes).
inline constexpr size_t kZmqRoutingIdBytesMax = 255;
// A message whose body and payload together are at most this, and whose payload is at most
// kZmqZeroCopyFrameBytes (a 4 KiB file's bytes included), travels packed in one frame
// (ZmqTransport's header).
inline constexpr size_t kZmqPackedBytesMax = 16 * 1024;
// A batch frame (ZmqTransport's header) holds at most this many bytes and messages.
inline constexpr size_t kZmqBatchBytesMax = 64 * 1024;
inline constexpr uint32_t kZmqBatchMessagesMax = 256;
// Serving fibers kept waiting for requests when there are none (ZmqTransport).
inline constexpr size_t kZmqIdleServersMax = 256;
// Calls of one transport waiting for their replies at once, and the bits of a request id
// that name a call's slot.
inline constexpr uint32_t kZmqCallSlotBits = 20;
inline constexpr size_t kZmqPendingCallsMax = size_t{1} << kZmqCallSlotBits;
// Caller names remembered by routing id; the cache starts over when full.
inline constexpr size_t kZmqCallerNamesMax = 4096;
// The longest identity a CURVE key acts as (the ZAP User-Id: RFC 27 sends it in one frame,
// ZMTP metadata values are at most 255 bytes); core/security/identity.h.
inline constexpr size_t kPrincipalBytesMax = 255;
// Block access token keys a datanode holds at once (core/security/block_token.h): the
// signing key and those still in their grace period; a heartbeat reply lists at most these.
inline constexpr size_t kBlockKeysMax = 16;

// ZAP handler (net/zap_handler.cc): frames of one ZAP request, and bytes of each.
inline constexpr size_t kZapFramesMax = 16;
inline constexpr size_t kZapFrameBytesMax = 1024;

// InodeStore (core/namenode/inode_store.h) and the namespace: entries or block records read by
// one scan of a whole-store walk (loading, the block map) or of one orphan collection round.
inline constexpr uint32_t kStoreScanPageEntries = 4096;
// Namespace bulk load (core/namenode/bulk_loader.h): a batch is written once it holds this many
// operations (under kMetaBatchOpsMax).
inline constexpr size_t kBulkLoadBatchOps = 60000;

// Simulator (sim/runs/: swarm.cc, selftest.cc).
// The swarm's report of a run's problems: one appended past this length is not kept.
inline constexpr size_t kSimSwarmProblemsBytesMax = 600;
// The self-test's reply size, each node's log file and one append to it.
inline constexpr uint64_t kSimSelftestReplyBytesMax = 1 << 20;
inline constexpr uint64_t kSimSelftestLogBytesMax = 4 << 20;
inline constexpr uint64_t kSimSelftestAppendBytesMax = 64 << 10;

// Journal (core/seams/journal.h, net/etcd_journal.cc). An entry is one etcd
// transaction: etcd 3.4 refuses a request above 1.5 MiB (--max-request-bytes) and a
// transaction of more than 128 operations or compares (--max-txn-ops). An append spends 2
// compares and 2 puts, and its keys and framing stay far below the 512 KiB left over.
inline constexpr size_t kJournalRequestBytesMax = 1536 * 1024;
inline constexpr uint32_t kJournalTxnOpsMax = 128;
inline constexpr size_t kJournalEntryBytesMax = 1024 * 1024;
// Entries one Read returns at most (a reply of at most 32 MiB); a follower reads again.
inline constexpr uint32_t kJournalReadEntriesMax = 32;
// A candidate's name (a namenode's address), stored as the leader key's value.
inline constexpr size_t kJournalCandidateBytesMax = 256;
// Entries the active keeps in the journal behind its own position (ha_namenode.h): a
// standby further behind copies a checkpoint instead. At ~1-5 KiB an entry (a small file
// inline) this keeps etcd far below its 2 GiB default quota.
inline constexpr uint64_t kJournalRetainEntriesDefault = 100000;
// Journal appends one active namenode may keep in flight at once (journaled_store.h), and
// its default: 1, because EtcdJournal spreads its transactions over the members, so
// concurrent appends reach etcd's leader reordered and mostly fail their sequence compare
// (measured on granary-bench --ha: 32 clients fell from ~1,500 to ~430 creates/s with 4).
inline constexpr uint32_t kJournalAppendsInFlightMax = 4;
inline constexpr uint32_t kJournalAppendsInFlightDefault = 1;

// The namenode's retry cache (core/namenode/retry_cache.h): how long a mutation's answer is
// kept for a retry (HDFS: 10 minutes), how many answers at most, the largest reply body kept,
// and the records one sweep deletes at most (one store batch).
inline constexpr std::chrono::nanoseconds kRetryCacheExpiry = std::chrono::minutes(10);
inline constexpr uint64_t kRetryCacheEntriesMax = 1000000;
inline constexpr size_t kRetryCacheBodyBytesMax = 4096;
inline constexpr uint32_t kRetryCacheSweepRecordsMax = 1000;
// How often the active namenode sweeps its retry cache, and how often a retry that arrives
// while its first attempt still runs on the same namenode looks whether that attempt ended.
inline constexpr std::chrono::nanoseconds kRetryCacheSweepInterval = std::chrono::seconds(10);
inline constexpr std::chrono::nanoseconds kRetryCacheWaitPoll = std::chrono::milliseconds(1);
// The longest a namenode's monitor sleeps before it looks whether the namenode was stopped
// (NamenodeContext::SleepUnlessStopped): a stopped namenode's Run ends within it.
inline constexpr std::chrono::nanoseconds kNamenodeStopCheck = std::chrono::milliseconds(100);

// Checkpoint copies between namenodes (core/namenode/store_checkpoint.cc): a page's records
// (the reply stays under kMessageBodyBytesMax with one 64 KiB inline file past the bound),
// the records one scan reads, copies open at once, and how long an idle one is kept.
inline constexpr size_t kCheckpointPageBytes = 2 * 1024 * 1024;
inline constexpr uint32_t kCheckpointScanEntries = 256;
inline constexpr size_t kCheckpointsOpenMax = 4;
inline constexpr std::chrono::seconds kCheckpointIdle{60};

// Receive buffers a client keeps for reuse (net/payload_pool.h): payloads of at least the
// minimum (a read piece's worth; smaller ones cost little to allocate), at most the total.
inline constexpr size_t kPayloadPoolBufferBytesMin = 256 * 1024;
inline constexpr size_t kPayloadPoolBytesMax = 64 * 1024 * 1024;

}  // namespace granary
