// Every limit of Granary, named, in one place (STYLE.md 5). Input past a limit gets an error;
// internal state past one is a bug.
#pragma once

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
// Replicas per block report message; a longer full report continues in incremental ones.
inline constexpr uint32_t kDatanodeReportReplicasMax = 100000;
// Replica events (finalized, deleted, corrupt) queued for the namenode; past it the queue is
// dropped and a full report sent instead.
inline constexpr uint32_t kDatanodePendingEventsMax = 100000;

// Journal (core/seams/journal.h; owner: the etcd-journal branch). An entry is one etcd
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

}  // namespace granary
