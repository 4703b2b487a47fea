// Allocates ids (inodes, blocks, generation stamps) that are never reused, even across
// namenode restarts, without a store write per id: ranges of kIdReservationSize are
// reserved durably (a counter record of InodeStore) before any id in them is handed out. A
// restart skips what was reserved and not used.
#pragma once

#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "core/namenode/inode_store.h"
#include "core/seams/meta_store.h"

namespace granary {

inline constexpr uint64_t kIdReservationSize = 4096;

class IdAllocator {
 public:
  // Ids handed out start at `first` (or where a reservation in the store ends).
  IdAllocator(MetaStore& store, std::string counter_name, uint64_t first);
  // Reads the reservation; call once before Next.
  Status Load();
  Result<uint64_t> Next();

 private:
  InodeStore records_;
  const std::string counter_name_;
  uint64_t next_;
  uint64_t reserved_end_ = 0;
  boost::fibers::mutex reserve_mutex_;
};

}  // namespace granary
