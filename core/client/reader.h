// Reader: one file open for reading (see file_system.h).
//
// Inline files arrive whole with the open. For block files the reader fetches chunk-aligned
// ranges from the nearest replica first, verifies every chunk's CRC32C, and on an error, a
// timeout or a checksum mismatch tries the next replica; a mismatch is also reported to the
// namenode so that the bad replica is replaced. When every replica failed it asks the
// namenode for fresh locations once before giving up.
//
// A file being written (status().under_construction()) reads up to what its writer flushed:
// the last block's visible length, which its datanodes report; Refresh asks again.
//
// Checksums are verified here, once, end to end: the datanode sends the CRCs it stored at
// write time without checking its bytes against them (its block scanner covers data at rest),
// so a replica that rotted on disk is caught by the reader, which fails over and reports it.
//
// Read keeps a read-ahead window: up to `read_parallelism` pieces of `read_piece_bytes` in
// flight, each fetched by a fiber of its own, that runs ahead of the position as long as the
// reads are sequential and is dropped by a read elsewhere. It starts at read_ahead_bytes and
// doubles with every sequential Read up to the whole window. Pieces go to the replicas that are
// equally near (same host as the nearest) in turn, to spread the load. Every fiber the reader
// started has finished before Read returns an error and before the reader is destroyed.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/client_context.h"
#include "core/common/handoff.h"
#include "core/common/status.h"
#include "proto/namenode.pb.h"

namespace granary {

// A datanode's kNotFound means that datanode holds no replica of the block, not that the file
// is absent: a read by path returning it would tell the caller the path was missing (the
// fault swarm, seed 575: right after a namenode restart a reader found its one reachable
// listed datanode without the replica, and the client took the file for deleted). Such an
// error is returned as kUnavailable, as HDFS's BlockMissingException.
Status AsBlockReadError(Status status);

class Reader {
 public:
  // `context` must outlive the reader.
  Reader(ClientContext& context, std::string path, proto::OpenReply opened,
         std::string inline_data);
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads up to `length` bytes at the current position and advances it; an empty string at
  // the end of the file.
  Result<std::string> Read(uint64_t length);
  // As Read, but ends at the end of the first piece of the read-ahead window it takes from:
  // a caller that streams a file this way gets each piece as it arrived (moved, no copy),
  // at most `length` bytes, at least one byte before the end of the file.
  Result<std::string> ReadPiece(uint64_t length);
  // Reads up to `length` bytes at `offset`, not moving the position.
  Result<std::string> ReadAt(uint64_t offset, uint64_t length);
  // An inline file's bytes (status().inline_data()), moved out of the reader, which reads
  // as empty afterwards. Spares a copy to callers that want a small file whole.
  std::string TakeInlineData();
  Status Seek(uint64_t offset);
  uint64_t Tell() const { return position_; }
  // Asks the namenode (and, for a file being written, the last block's datanodes) for the
  // file's length again, keeping the position: a reader of a growing file calls it at the
  // end of what it has to see more. kStale when the path now names another file (open it
  // again); kNotFound when it names nothing.
  Status Refresh();
  // For a file being written: the last block's visible length, asked of every replica (the
  // newest stamp's longest: a replica left behind by a pipeline recovery holds less), becomes
  // its length here (never less than the namenode's), and that replica is read first.
  // kUnavailable when the namenode lists no replica of it (it just restarted: the datanodes
  // have not reported yet). FileSystem::Open calls it; a no-op for a closed file.
  Status MeasureLastBlock();
  uint64_t Size() const { return size_; }
  const proto::FileStatus& status() const { return opened_.status(); }

 private:
  // A range of one block, at most one piece long.
  struct Piece {
    size_t block = 0;
    uint64_t in_block = 0;
    uint64_t length = 0;
  };
  // A piece of the read-ahead window, at `offset` in the file.
  struct Pending {
    uint64_t offset = 0;
    uint64_t length = 0;
    std::unique_ptr<Handoff<Result<std::string>>> fetch;
    std::optional<Result<std::string>> bytes;  // set once waited for
  };

  enum class ReadStop : uint8_t { kLength, kPieceEnd };
  Result<std::string> ReadUntil(uint64_t length, ReadStop stop);
  uint64_t PieceBytesMax() const;
  // The piece starting at `offset` (< size_): at most `limit` bytes, never across a block.
  Result<Piece> PieceAt(uint64_t offset, uint64_t limit) const;
  // Starts fetching pieces after the window's end until it reaches `target` or holds
  // read_parallelism pieces.
  Status FillWindow(uint64_t target);
  // Waits for every piece in flight and empties the window, which then starts at `offset`.
  void ResetWindow(uint64_t offset);
  // Reads [offset, offset+length) of one block from its replicas, the equally near ones
  // tried first in an order rotated by `spread`.
  Result<std::string> ReadFromBlock(size_t index, uint64_t offset_in_block, uint64_t length,
                                    uint64_t spread);
  Result<std::string> ReadFromReplica(const proto::LocatedBlock& block,
                                      const proto::DatanodeInfo& replica, uint64_t offset_in_block,
                                      uint64_t length);
  Status RefreshLocations();
  // The answer when the path names another file than the one opened (Refresh).
  Status Replaced() const;

  ClientContext& context_;
  NamenodeClient& namenode_;  // context_'s
  const std::string path_;
  proto::OpenReply opened_;
  std::string inline_data_;
  uint64_t size_ = 0;
  uint64_t position_ = 0;
  // Where the last Read ended: a Read starting there is sequential.
  uint64_t sequential_at_ = 0;
  // The read-ahead window: contiguous pieces from window_.front().offset to window_end_.
  std::deque<Pending> window_;
  uint64_t window_end_ = 0;
  // How far the last Read fetched ahead of its position (0 before the first).
  uint64_t ahead_ = 0;
  // Pieces started so far, to rotate them over the replicas.
  uint64_t pieces_started_ = 0;
};

}  // namespace granary
