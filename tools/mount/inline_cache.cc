#include "tools/mount/inline_cache.h"

#include <algorithm>

namespace granary::mount {

void InlineCache::Put(uint64_t ino, int64_t mtime_ns, std::string bytes, const struct stat* attr,
                      bool pages_current, uint64_t caller) {
  if (ttl_ <= Clock::duration::zero() || bytes.size() > budget_bytes_ / 16) return;
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entries_[ino];
  const bool same = entry.bytes != nullptr && entry.mtime_ns == mtime_ns && *entry.bytes == bytes;
  entry.caller = caller;
  if (entry.bytes != nullptr) bytes_ -= entry.bytes->size();
  bytes_ += bytes.size();
  if (!same) {
    entry.bytes = std::make_shared<const std::string>(std::move(bytes));
    entry.opened = false;
  }
  if (pages_current) entry.opened = true;
  entry.mtime_ns = mtime_ns;
  entry.has_attr = attr != nullptr;
  if (attr != nullptr) entry.attr = *attr;
  entry.expires = Clock::now() + ttl_;
  EvictLocked();
}

void InlineCache::EvictLocked() {
  while (bytes_ > budget_bytes_ && !entries_.empty()) {
    bytes_ -= entries_.begin()->second.bytes->size();
    entries_.erase(entries_.begin());
  }
}

void InlineCache::Drop(uint64_t ino) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(ino);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes->size();
  entries_.erase(it);
}

void InlineCache::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  handles_.clear();
  bytes_ = 0;
}

InlineCache::Opened InlineCache::Open(uint64_t ino, uint64_t caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(ino);
  if (it == entries_.end() || it->second.caller != caller || Clock::now() > it->second.expires) {
    return {};
  }
  Opened opened;
  opened.fh = kHandleBit | next_handle_++;
  opened.keep_cache = it->second.opened;
  it->second.opened = true;
  handles_[opened.fh] = it->second.bytes;
  return opened;
}

bool InlineCache::Attr(uint64_t ino, struct stat* out, double* fresh_s, uint64_t caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(ino);
  if (it == entries_.end() || !it->second.has_attr || it->second.caller != caller) return false;
  const Clock::duration left = it->second.expires - Clock::now();
  if (left <= Clock::duration::zero()) return false;
  *out = it->second.attr;
  *fresh_s = std::chrono::duration<double>(left).count();
  return true;
}

bool InlineCache::Read(uint64_t fh, uint64_t offset, size_t size, std::string* out) {
  Bytes bytes;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = handles_.find(fh);
    if (it == handles_.end()) return false;
    bytes = it->second;
  }
  out->clear();
  if (offset < bytes->size()) {
    out->assign(*bytes, offset, std::min<uint64_t>(size, bytes->size() - offset));
  }
  return true;
}

void InlineCache::Release(uint64_t fh) {
  std::lock_guard<std::mutex> lock(mutex_);
  handles_.erase(fh);
}

}  // namespace granary::mount
