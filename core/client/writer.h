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
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/namenode_client.h"
#include "core/common/status.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

struct CreateOptions;

class Writer {
 public:
  Writer(NamenodeClient& namenode, std::string path, const CreateOptions& options,
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
  // Sends `packet_` (whole chunks unless `last`) to the current block's pipeline.
  Status SendPacket(bool last, bool sync);
  Status AllocateBlock();
  // Drops the failed datanode and takes a new generation stamp for the survivors.
  Status RecoverPipeline(int failed_index, const std::string& why);
  // Tells the namenode the block's new stamp, length and pipeline after a recovery.
  Status UpdatePipeline();
  Status CompleteFile();
  Status RenewLeaseIfDue();
  Status Fail(Status status);

  NamenodeClient& namenode_;
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
  std::string buffer_;  // inline bytes, or the packet being filled
  // The block being written.
  std::optional<proto::LocatedBlock> block_;
  uint64_t block_bytes_acked_ = 0;
  std::vector<uint32_t> excluded_;
  std::optional<proto::BlockRef> last_complete_block_;
  Instant last_namenode_contact_{};
};

}  // namespace granary
