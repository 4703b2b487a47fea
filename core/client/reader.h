// Reader: one file open for reading (see file_system.h).
//
// Inline files arrive whole with the open. For block files the reader fetches chunk-aligned
// ranges from the nearest replica first, verifies every chunk's CRC32C, and on an error, a
// timeout or a checksum mismatch tries the next replica; a mismatch is also reported to the
// namenode so that the bad replica is replaced. When every replica failed it asks the
// namenode for fresh locations once before giving up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/client/namenode_client.h"
#include "core/common/status.h"
#include "proto/namenode.pb.h"

namespace granary {

class Reader {
 public:
  Reader(NamenodeClient& namenode, std::string path, proto::OpenReply opened,
         std::string inline_data);

  // Reads up to `length` bytes at the current position and advances it; an empty string at
  // the end of the file.
  Result<std::string> Read(uint64_t length);
  // Reads up to `length` bytes at `offset`, not moving the position.
  Result<std::string> ReadAt(uint64_t offset, uint64_t length);
  // An inline file's bytes (status().inline_data()), moved out of the reader, which reads
  // as empty afterwards. Spares a copy to callers that want a small file whole.
  std::string TakeInlineData();
  Status Seek(uint64_t offset);
  uint64_t Tell() const { return position_; }
  uint64_t Size() const { return size_; }
  const proto::FileStatus& status() const { return opened_.status(); }

 private:
  // Reads [offset, offset+length) of one block from its replicas.
  Result<std::string> ReadFromBlock(size_t index, uint64_t offset_in_block, uint64_t length);
  Result<std::string> ReadFromReplica(const proto::LocatedBlock& block,
                                      const proto::DatanodeInfo& replica,
                                      uint64_t offset_in_block, uint64_t length);
  Status RefreshLocations();

  NamenodeClient& namenode_;
  const std::string path_;
  proto::OpenReply opened_;
  std::string inline_data_;
  uint64_t size_ = 0;
  uint64_t position_ = 0;
  // Read-ahead cache of sequential reads.
  uint64_t cache_offset_ = 0;
  std::string cache_;
};

}  // namespace granary
