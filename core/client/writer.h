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
// of the pipeline is left. Flush in block mode syncs the whole chunks written so far; a
// trailing partial chunk becomes durable at Close.
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

class Writer {
 public:
  // `context` must outlive the writer.
  Writer(ClientContext& context, std::string path, const CreateOptions& options,
         uint64_t inline_threshold_bytes, uint64_t default_block_bytes);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  Status Write(std::string_view data);
  Status Flush();
  // Closes the file; the writer is unusable afterwards, whatever the result.
  Status Close();
  uint64_t bytes_written() const { return bytes_written_; }
  const std::string& path() const { return path_; }

 private:
  enum class Mode { kInline, kBlocks, kClosed, kFailed };

  proto::CreateRequest CreateRequest(bool complete) const;
  // Registers the file with the namenode (not complete) when that has not happened yet.
  Status EnsureCreated(std::string inline_data);
  Status SwitchToBlocks();
  // A packet sent and not yet acknowledged; its bytes are still in `buffer_`.
  struct InFlight {
    uint64_t length = 0;
    std::unique_ptr<Handoff<Result<proto::WriteBlockReply>>> reply;
  };

  // Sends a packet from the front of `buffer_` (whole chunks unless `last`) to the current
  // block's pipeline and waits for its acknowledgement; `recovering` when the pipeline was
  // just rebuilt.
  Status SendPacket(bool last, bool sync, bool recovering = false);
  // The request of a packet of `data` at the block's offset `offset`.
  proto::WriteBlockRequest PacketRequest(std::string_view data, uint64_t offset, bool last,
                                         bool sync, bool recovering) const;
  // Starts sending a full packet (not the block's last) of the bytes after those in flight.
  Status StartPacket(uint64_t length);
  // Waits for the oldest packets until at most `keep` are in flight; on a failure drains
  // them all, recovers the pipeline and resends what they held.
  Status AwaitPackets(size_t keep);
  Status AllocateBlock();
  // Drops the failed datanode and takes a new generation stamp for the survivors.
  Status RecoverPipeline(int failed_index, const std::string& why);
  // Tells the namenode the block's new stamp, length and pipeline after a recovery.
  Status UpdatePipeline();
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
  Instant last_namenode_contact_{};
};

}  // namespace granary
