// DirCache: directories whose every name this mount knows, for a bounded time, so that a
// lookup of a name they do not hold is answered "no such entry" on the FUSE thread, without
// a round trip to the namenode. That lookup precedes every create (the kernel looks a name
// up before it creates it, holding the directory's lock), so it bounds how fast one
// directory fills.
//
// A directory is known from a listing (readdir) or from its making by this mount (empty),
// for `ttl` (the mount's negative_timeout; 0, the default, turns this off) from then; this
// mount's own creates, mkdirs, removes and renames keep the names current meanwhile. The
// trade-off is the one negative_timeout names: a name another client adds to a known
// directory is reported missing by this mount until the directory's knowledge expires, at
// most negative_timeout (the kernel's own negative entries allow as much for the names it
// looked up). A name too many only sends a lookup to the namenode; a name missing would
// hide a file, so the names this mount adds while a listing is in flight are added to what
// the listing returns. Bounded: at most kDirsMax directories (the oldest inode numbers go
// first), none with more than kNamesMax names. Thread-safe: the loop's fibers fill it, the
// FUSE threads read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace granary::mount {

class DirCache {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kDirsMax = 4096;
  static constexpr size_t kNamesMax = 16384;

  explicit DirCache(Clock::duration ttl) : ttl_(ttl) {}

  // A listing of `dir` starts; it ends with Known or Failed.
  void Listing(uint64_t dir);
  // `dir` holds `names` (and whatever this mount added since its Listing began). Not kept
  // with more than kNamesMax names. `caller` (InlineCache's key) is the user the namenode
  // listed it for: only that user's lookups are answered from it.
  void Known(uint64_t dir, const std::vector<std::string>& names, uint64_t caller = 0);
  void Failed(uint64_t dir);
  // `dir` was just made by this mount (for `caller`): it is empty.
  void Made(uint64_t dir, uint64_t caller = 0);
  // This mount added `name` to, or removed it from, `dir`.
  void Added(uint64_t dir, const std::string& name);
  void Removed(uint64_t dir, const std::string& name);
  // `dir` is gone or replaced: forget it.
  void Drop(uint64_t dir);

  // True when `dir` is known (fresh, for `caller`) and holds no `name`.
  bool KnownAbsent(uint64_t dir, const std::string& name, uint64_t caller = 0);
  // Starts a listing of `dir` (true) when it was known with at most `names_max` names, that
  // knowledge expired and no listing of it is in flight: a small directory in which lookups
  // keep missing is cheaper to list again than to ask about each name.
  bool ListAgain(uint64_t dir, size_t names_max);

 private:
  struct Entry {
    bool known = false;  // `names` is the whole directory (until `expires`)
    uint64_t caller = 0;
    std::unordered_set<std::string> names;
    Clock::time_point expires;
    int listings = 0;                             // in flight
    std::unordered_set<std::string> added_since;  // names added while listings > 0
  };
  Entry& EntryLocked(uint64_t dir);
  void KeepLocked(Entry& entry, std::unordered_set<std::string> names, uint64_t caller);

  const Clock::duration ttl_;
  std::mutex mutex_;
  std::map<uint64_t, Entry> dirs_;  // guarded by mutex_
};

}  // namespace granary::mount
