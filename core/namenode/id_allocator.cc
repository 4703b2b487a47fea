#include "core/namenode/id_allocator.h"

#include <cassert>
#include <mutex>

namespace granary {

IdAllocator::IdAllocator(MetaStore& store, std::string counter_name, uint64_t first)
    : records_(store), counter_name_(std::move(counter_name)), next_(first) {}

Status IdAllocator::Load() {
  Result<uint64_t> stored = records_.GetCounter(counter_name_);
  if (stored.code() == StatusCode::kNotFound) return Status::Ok();
  if (!stored.ok()) return stored.status();
  if (*stored > next_) next_ = *stored;
  reserved_end_ = next_;
  return Status::Ok();
}

Result<uint64_t> IdAllocator::Next() {
  std::lock_guard<boost::fibers::mutex> guard(reserve_mutex_);
  if (next_ >= reserved_end_) {
    const uint64_t end = next_ + kIdReservationSize;
    WriteBatch batch;
    InodeStore::PutCounter(batch, counter_name_, end);
    GRANARY_RETURN_IF_ERROR(records_.Write(batch));
    reserved_end_ = end;
  }
  // Every id handed out lies inside a durable reservation.
  assert(next_ < reserved_end_);
  return next_++;
}

}  // namespace granary
