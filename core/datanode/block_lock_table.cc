#include "core/datanode/block_lock_table.h"

#include <cassert>

namespace granary {

BlockLockTable::~BlockLockTable() { assert(entries_.empty()); }

BlockLockTable::Guard::Guard(BlockLockTable& table, BlockId block_id)
    : table_(table), block_id_(block_id) {
  std::unique_ptr<Entry>& slot = table_.entries_[block_id];
  if (slot == nullptr) slot = std::make_unique<Entry>();
  entry_ = slot.get();
  ++entry_->users;
  // The entry stays put while it has users, however the map changes meanwhile.
  entry_->mutex.lock();
}

BlockLockTable::Guard::~Guard() {
  entry_->mutex.unlock();
  assert(entry_->users > 0);
  if (--entry_->users == 0) table_.entries_.erase(block_id_);
}

}  // namespace granary
