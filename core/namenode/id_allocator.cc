#include "core/namenode/id_allocator.h"

#include <mutex>

#include "core/namenode/meta_keys.h"

namespace granary {

IdAllocator::IdAllocator(MetaStore& store, std::string counter_name, uint64_t first)
    : store_(store), key_(meta_keys::CounterKey(counter_name)), next_(first) {}

Status IdAllocator::Load() {
  Result<std::string> stored = store_.Get(key_);
  if (stored.code() == StatusCode::kNotFound) return Status::Ok();
  if (!stored.ok()) return stored.status();
  const uint64_t end = meta_keys::ReadBigEndian(*stored);
  if (end > next_) next_ = end;
  reserved_end_ = next_;
  return Status::Ok();
}

Result<uint64_t> IdAllocator::Next() {
  std::lock_guard<boost::fibers::mutex> guard(reserve_mutex_);
  if (next_ >= reserved_end_) {
    const uint64_t end = next_ + kIdReservationSize;
    std::string value;
    meta_keys::AppendBigEndian(value, end);
    WriteBatch batch;
    batch.Put(key_, value);
    GRANARY_RETURN_IF_ERROR(store_.Write(batch));
    reserved_end_ = end;
  }
  return next_++;
}

}  // namespace granary
