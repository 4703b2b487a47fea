// InlineCache: small files' bytes, kept from the lookup that brought them, so that the FUSE
// thread itself answers their open, reads, flush and release, without a hand-off to the
// client loop (each hand-off wakes two threads, which costs more than a small file's round
// trip on a loaded machine).
//
// An entry lives `ttl` (the mount's attr_timeout: the staleness the kernel's own attribute
// cache already allows for changes made by other clients); changes made through this mount
// drop it at once (Drop). Bounded by kInlineCacheBytesMax, the lowest inode numbers (the
// oldest lookups) evicted first. Thread-safe: the loop's fibers fill it, the FUSE thread
// reads it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace granary::mount {

class InlineCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Bytes = std::shared_ptr<const std::string>;
  static constexpr uint64_t kInlineCacheBytesMax = 64 << 20;
  // File handles of cached files carry this bit (the loop's handles never do).
  static constexpr uint64_t kHandleBit = uint64_t{1} << 63;

  explicit InlineCache(Clock::duration ttl) : ttl_(ttl) {}

  // Keeps `bytes` as the content of `ino` (mtime_ns and size identify the version).
  void Put(uint64_t ino, int64_t mtime_ns, std::string bytes);
  void Drop(uint64_t ino);
  void Clear();

  // Opens `ino` from the cache: a handle (with kHandleBit) and whether the kernel may keep
  // its pages (the same version was opened from here before); nullopt-like {0,false} when
  // there is no fresh entry.
  struct Opened {
    uint64_t fh = 0;
    bool keep_cache = false;
  };
  Opened Open(uint64_t ino);
  // Up to `size` bytes at `offset` of an open handle; false for an unknown handle.
  bool Read(uint64_t fh, uint64_t offset, size_t size, std::string* out);
  void Release(uint64_t fh);

  static bool Owns(uint64_t fh) { return (fh & kHandleBit) != 0; }

 private:
  struct Entry {
    Bytes bytes;
    int64_t mtime_ns = 0;
    Clock::time_point expires;
    bool opened = false;
  };
  void EvictLocked();

  const Clock::duration ttl_;
  std::mutex mutex_;
  std::map<uint64_t, Entry> entries_;  // guarded by mutex_
  std::map<uint64_t, Bytes> handles_;  // guarded by mutex_
  uint64_t bytes_ = 0;                 // guarded by mutex_: of entries_
  uint64_t next_handle_ = 1;           // guarded by mutex_
};

}  // namespace granary::mount
