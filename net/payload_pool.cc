#include "net/payload_pool.h"

#include <utility>

#include "core/common/limits.h"

namespace granary::net {

std::string PayloadPool::Take(size_t bytes) {
  if (bytes < kPayloadPoolBufferBytesMin) return std::string();
  std::string out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // The smallest kept buffer that fits: the pool holds a few dozen at most.
    size_t best = buffers_.size();
    for (size_t i = 0; i < buffers_.size(); ++i) {
      const size_t capacity = buffers_[i].capacity();
      if (capacity < bytes || capacity > 2 * bytes) continue;
      if (best == buffers_.size() || capacity < buffers_[best].capacity()) best = i;
    }
    if (best == buffers_.size()) {
      ++stats_.missed;
      return std::string();
    }
    out = std::move(buffers_[best]);
    buffers_[best] = std::move(buffers_.back());
    buffers_.pop_back();
    bytes_ -= out.capacity();
    ++stats_.reused;
  }
  out.clear();  // keeps the capacity
  return out;
}

void PayloadPool::Give(std::string&& buffer) {
  const size_t capacity = buffer.capacity();
  std::string dropped;  // freed outside the lock
  std::lock_guard<std::mutex> lock(mutex_);
  if (capacity < kPayloadPoolBufferBytesMin || bytes_ + capacity > kPayloadPoolBytesMax) {
    ++stats_.dropped;
    dropped = std::move(buffer);
    return;
  }
  bytes_ += capacity;
  buffers_.push_back(std::move(buffer));
  ++stats_.kept;
}

PayloadPool::Stats PayloadPool::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

size_t PayloadPool::bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return bytes_;
}

}  // namespace granary::net
