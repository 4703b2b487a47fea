// BlockLockTable: one fiber mutex per block id, created on demand and dropped when unused,
// to serialize the changes to one replica (writes, finalization, recovery, removal).
//
// The mutexes hand over in FIFO order, so packets of one block that arrive in order are
// written in order. A holder that suspends on a seam wait unwinds on a crash (kNodeDown) and
// releases its lock, so waiters are never stranded.
#pragma once

#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <map>
#include <memory>

#include "core/common/ids.h"

namespace granary {

class BlockLockTable {
 private:
  struct Entry {
    boost::fibers::mutex mutex;
    uint32_t users = 0;  // holders and waiters
  };

 public:
  // Holds a block's lock until destroyed.
  class Guard {
   public:
    Guard(BlockLockTable& table, BlockId block_id);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    BlockLockTable& table_;
    BlockId block_id_;
    Entry* entry_;
  };

  BlockLockTable() = default;
  // Requires that no lock is held or awaited.
  ~BlockLockTable();
  BlockLockTable(const BlockLockTable&) = delete;
  BlockLockTable& operator=(const BlockLockTable&) = delete;

  // Ids with a holder or waiter.
  size_t size() const { return entries_.size(); }

 private:
  std::map<BlockId, std::unique_ptr<Entry>> entries_;
};

}  // namespace granary
