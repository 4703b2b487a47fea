// Writer: one file being written (see file_system.h).
//
// Inline mode: bytes collect in memory while they fit the inline threshold; Close sends
// them with the create (one round trip), Flush stores what there is so far with the
// namenode (readers see it). Past the threshold the writer switches to blocks: the file
// leaves inline mode and its bytes so far are written again as the first block.
//
// Block mode: bytes go to datanodes in packets of whole 64 KiB checksum chunks through the
// block's pipeline (DN1 -> DN2 -> DN3, acks flowing back). A packet is acknowledged only when
// every datanode of the pipeline has it. When a datanode of the pipeline fails, the writer
// asks the namenode for a new generation stamp, rebuilds the pipeline from the survivors,
// resends the unacknowledged packet there and carries on; it fails only when no datanode
// of the pipeline is left. Flush in block mode sends every byte written so far, a trailing
// partial chunk included (the next packet starts at that chunk again and the datanodes
// rewrite it), and Sync has every datanode of the pipeline sync it too.
//
// Append: the writer starts from where nn.Append left the file: an inline file's bytes in
// its buffer, or the last block reopened at a new stamp (its first packet is a recovery
// packet, then nn.UpdatePipeline, as after a pipeline failure), or a new block after a full
// last one.
//
// Up to `packets_in_flight` full packets of a block travel at once (each on a fiber of its
// own, which touches nothing of the writer's), and are acknowledged in order: the
// datanodes take a block's packets in the order they arrive, which is the order they were
// sent once the pipeline's connections are made (a block's first packet goes alone, and
// makes them). Should a packet overtake another anyway, the datanode refuses it and the
// writer treats that as a pipeline failure: never wrong, but when it happens on every
// datanode the write fails, which is why the default is one packet in flight. A failure drains them
// all, puts every unacknowledged byte back in front of the buffer and recovers as above. A block's
// last packet, Flush and Close wait for every packet in flight first.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/client_context.h"
#include "core/common/handoff.h"
#include "core/common/status.h"
#include "proto/datanode.pb.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

// How FileSystem::Create makes a file.
struct CreateOptions {
  bool overwrite = false;
  bool create_parents = true;
  uint32_t replication = 0;  // 0: the cluster's default
  uint64_t block_bytes = 0;  // 0: the cluster's default
  uint32_t mode = 0;         // 0: 0644
};

// Where an append starts (FileSystem::Append builds it from nn.Append's reply).
struct AppendStart {
  uint64_t inode_id = 0;
  uint32_t replication = 0;
  uint64_t block_bytes = 0;
  // An inline file: its bytes so far, which the writer keeps and stores again with its own.
  bool inline_data = false;
  std::string inline_bytes;
  // A last block with room, to continue under `new_generation_stamp` on its replicas, and
  // the bytes of its trailing partial chunk (sent again with the first packet).
  std::optional<proto::LocatedBlock> last_block;
  uint64_t new_generation_stamp = 0;
  std::string last_block_tail;
  // A full last block: the next block follows it.
  std::optional<proto::BlockRef> full_last_block;
};

// How far Flush carries the bytes written so far.
enum class Durability : uint8_t {
  kVisible = 1,  // readers that open the file afterwards see them
  kDurable = 2,  // and every datanode of the pipeline has synced them
};

class Writer {
 public:
  // `context` must outlive the writer.
  Writer(ClientContext& context, std::string path, const CreateOptions& options,
         uint64_t inline_threshold_bytes, uint64_t default_block_bytes);
  // A writer appending to an existing file, opened for it by nn.Append.
  Writer(ClientContext& context, std::string path, AppendStart start,
         uint64_t inline_threshold_bytes);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Status Write(std::string_view data);
  // Every byte written so far, a trailing partial chunk included, becomes visible to readers
  // that open the file afterwards (kVisible) and, with kDurable, synced on every datanode of
  // the pipeline (an inline file's bytes are stored in the namenode's store either way).
  Status Flush(Durability durability = Durability::kVisible);
  Status Sync() { return Flush(Durability::kDurable); }
  // Renews the writer's lease now when it is due. Not needed to keep an idle writer's file:
  // the client renews its writers' leases in the background (lease_renewer.h); a caller
  // waiting for input may still call it to learn early that the lease was lost.
  Status KeepAlive() { return RenewLeaseIfDue(); }
  // Closes the file; the writer is unusable afterwards, whatever the result.
  Status Close();
  // The file as the namenode stored it, when Close made it in one round trip (a small file
  // created, written and closed together); nullopt otherwise.
  const std::optional<proto::FileStatus>& closed_status() const { return closed_status_; }
  uint64_t bytes_written() const { return bytes_written_; }
  const std::string& path() const { return path_; }

 private:
  enum class Mode { kInline, kBlocks, kClosed, kFailed };

  proto::CreateRequest CreateRequest(bool complete) const;
  // Registers the file with the namenode (not complete) when that has not happened yet.
  Status EnsureCreated(std::string inline_data);
  // Leaves inline mode. Inline bytes the namenode holds are first flushed (synced: they were
  // durable there) to the file's conversion block, which nn.ConvertToBlocks then makes the
  // file's content in the batch that drops them: readers never see the file without them,
  // and a writer dying in between leaves the file inline, with them.
  Status SwitchToBlocks();
  Status MoveInlineToBlock();
  // A packet sent and not yet acknowledged; its bytes are still in `buffer_`.
  struct InFlight {
    uint64_t length = 0;
    std::unique_ptr<Handoff<Result<proto::WriteBlockReply>>> reply;
  };

  // Sends a packet from the front of `buffer_` (whole chunks unless `last`) to the current
  // block's pipeline and waits for its acknowledgement; `recovering` when the pipeline was
  // just rebuilt.
  // A `flush` packet holds every byte of the buffer (a trailing partial chunk included, kept
  // in the buffer to be sent again with what follows it).
  Status SendPacket(bool last, bool sync, bool recovering = false, bool flush = false);
  // The request of a packet of `data` at the block's offset `offset`.
  proto::WriteBlockRequest PacketRequest(std::string_view data, uint64_t offset, bool last,
                                         bool sync, bool recovering, bool flush = false) const;
  // Block mode's Flush: the buffer's full packets, then the rest as a flush packet.
  Status FlushBlocks(Durability durability);
  // Starts sending a full packet (not the block's last) of the bytes after those in flight.
  Status StartPacket(uint64_t length);
  // Waits for the oldest packets until at most `keep` are in flight; on a failure drains
  // them all, recovers the pipeline and resends what they held.
  Status AwaitPackets(size_t keep);
  Status AllocateBlock();
  // Drops the failed datanode (none when `failed_index` < 0: the write token expired) and
  // takes a new generation stamp, and a fresh write token, for the survivors.
  Status RecoverPipeline(int failed_index, const std::string& why);
  // Tells the namenode the block's new stamp, length (what the datanodes now hold) and
  // pipeline after a recovery.
  Status UpdatePipeline(uint64_t length_bytes);
  // After a flush: the first time the file's last block holds flushed bytes, tells the
  // namenode so (nn.Fsync, HDFS's fsync on a block's first hflush). Lease recovery gives up
  // a last block nobody holds only when its recorded length is zero, so a flushed block is
  // never dropped while its datanodes are down. One call per block, not per flush.
  Status RecordLastBlock();
  Status CompleteFile();
  Status RenewLeaseIfDue();
  Status Fail(Status status);

  ClientContext& context_;
  NamenodeClient& namenode_;  // context_'s
  const std::string path_;
  const bool overwrite_;
  const bool create_parents_;
  const uint32_t replication_;
  const uint32_t mode_;
  const uint64_t inline_threshold_bytes_;
  const uint64_t block_bytes_;
  Mode mode_state_ = Mode::kInline;
  bool created_ = false;
  // While this writer holds the file's lease (from its creation or append until it closes
  // or fails): the client renews it in the background.
  std::optional<LeaseRenewer::Hold> lease_;
  uint64_t inode_id_ = 0;
  uint64_t bytes_written_ = 0;
  // Inline bytes, or the bytes of the packets in flight (first) and those not yet sent.
  std::string buffer_;
  // The block being written.
  std::optional<proto::LocatedBlock> block_;
  uint64_t block_bytes_acked_ = 0;
  // Packets in flight, oldest first; they hold the block's bytes after block_bytes_acked_.
  std::deque<InFlight> in_flight_;
  uint64_t in_flight_bytes_ = 0;
  std::vector<uint32_t> excluded_;
  std::optional<proto::BlockRef> last_complete_block_;
  // The block whose non-zero length the namenode has recorded (RecordLastBlock, or a
  // pipeline update after bytes were written); 0: none.
  uint64_t recorded_block_ = 0;
  Instant last_namenode_contact_{};
  // The namenode holds the file inline (it was created or opened so): leaving inline mode
  // converts it.
  bool inline_on_namenode_ = false;
  // How many of buffer_'s first bytes the namenode holds inline (stored by a flush, a create
  // or before an append).
  uint64_t inline_stored_bytes_ = 0;
  // Appending to the last block: the first packet reopens it at the new stamp.
  bool reopen_pending_ = false;
  std::optional<proto::FileStatus> closed_status_;
  // bytes_written_ when the last Flush of each kind returned.
  uint64_t flushed_at_ = 0;
  uint64_t synced_at_ = 0;
};

}  // namespace granary
