// InlineCache: small files' bytes and attributes, kept from the lookup that brought them or
// from the finish of a file this mount wrote, so that the FUSE threads themselves answer
// their getattr, open, reads and release, without a hand-off to the client loop (each
// hand-off wakes two threads, which costs more than a small file's round trip on a loaded
// machine).
//
// An entry lives `ttl` (the mount's attr_timeout) from the moment the namenode last told us
// about the file: the staleness the kernel's own attribute cache already allows for changes
// made by other clients, never more (a getattr answered from here carries only what is left
// of it). Changes made through this mount drop the entry at once (Drop). Bounded by a byte
// budget (-o cache_bytes=N, kInlineCacheBytesDefault by default), the lowest inode numbers
// (the oldest lookups) evicted first; a file over a sixteenth of the budget is not kept.
// Thread-safe: the loop's fibers fill it, the FUSE threads read it.
#pragma once

#include <sys/stat.h>

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
  static constexpr uint64_t kInlineCacheBytesDefault = 64 << 20;
  // -o cache_bytes bounds: at least one 64 KiB inline file fits; at most 64 GiB.
  static constexpr uint64_t kInlineCacheBytesMin = 1 << 20;
  static constexpr uint64_t kInlineCacheBytesMax = uint64_t{64} << 30;
  // File handles of cached files carry this bit (the loop's handles never do).
  static constexpr uint64_t kHandleBit = uint64_t{1} << 63;

  explicit InlineCache(Clock::duration ttl, uint64_t budget_bytes = kInlineCacheBytesDefault)
      : ttl_(ttl), budget_bytes_(budget_bytes) {}

  // Keeps `bytes` as the content of `ino` (mtime_ns and size identify the version), with its
  // attributes when `attr` is given. `pages_current`: the kernel's page cache already holds
  // exactly these bytes (this mount has just written them), so even the first open may keep
  // its pages.
  // `caller` names who may use the entry (the mount's key of the user the request that
  // brought it acted as): the namenode checked that user's permission, nobody else's.
  void Put(uint64_t ino, int64_t mtime_ns, std::string bytes, const struct stat* attr = nullptr,
           bool pages_current = false, uint64_t caller = 0);
  void Drop(uint64_t ino);
  void Clear();

  // Opens `ino` from the cache: a handle (with kHandleBit) and whether the kernel may keep
  // its pages (the same version was opened from here before); nullopt-like {0,false} when
  // there is no fresh entry.
  struct Opened {
    uint64_t fh = 0;
    bool keep_cache = false;
  };
  Opened Open(uint64_t ino, uint64_t caller = 0);
  // Up to `size` bytes at `offset` of an open handle; false for an unknown handle.
  bool Read(uint64_t fh, uint64_t offset, size_t size, std::string* out);
  void Release(uint64_t fh);

  // The attributes of a fresh entry of `ino` and how many seconds they stay fresh; false when
  // there is none (or it was kept without attributes).
  bool Attr(uint64_t ino, struct stat* out, double* fresh_s, uint64_t caller = 0);

  static bool Owns(uint64_t fh) { return (fh & kHandleBit) != 0; }

 private:
  struct Entry {
    Bytes bytes;
    int64_t mtime_ns = 0;
    uint64_t caller = 0;
    bool has_attr = false;
    struct stat attr {};
    Clock::time_point expires;
    bool opened = false;
  };
  void EvictLocked();

  const Clock::duration ttl_;
  const uint64_t budget_bytes_;
  std::mutex mutex_;
  std::map<uint64_t, Entry> entries_;  // guarded by mutex_
  std::map<uint64_t, Bytes> handles_;  // guarded by mutex_
  uint64_t bytes_ = 0;                 // guarded by mutex_: of entries_
  uint64_t next_handle_ = 1;           // guarded by mutex_
};

}  // namespace granary::mount
