// InodeTable: the mount's inode numbers and the Granary paths they stand for.
//
// The client API names files by path; the kernel names them by inode number. The table gives
// each path the kernel has looked up a number of its own (1 is the root), counts the kernel's
// references (lookups minus forgets, as FUSE defines them) and forgets a number when they
// reach zero. Renames move the numbers of the renamed subtree to their new paths; a removed
// or replaced path's number stays known to the kernel (open files) but resolves to no path.
//
// It also remembers, per number, the (mtime, size) of the file when it was last opened, so
// that a file unchanged since then keeps its pages in the kernel's cache.
//
// Not thread-safe: the mount uses it from its loop's fibers only, between their waits.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace granary::mount {

class InodeTable {
 public:
  static constexpr uint64_t kRoot = 1;

  InodeTable();

  // The number of `path`, made when it has none; adds `references` kernel references.
  uint64_t Ref(const std::string& path, uint64_t references = 1);
  // Drops `references` of `ino`'s; forgets it at zero (never the root).
  void Forget(uint64_t ino, uint64_t references);
  // Forgets `ino` if the kernel holds no reference to it (a number handed out in an entry
  // that did not fit a directory page).
  void DropIfUnreferenced(uint64_t ino);
  // The path of `ino`; nullopt when the number is unknown or its path was removed.
  std::optional<std::string> PathOf(uint64_t ino) const;
  // The number of `path` if it has one.
  std::optional<uint64_t> Find(const std::string& path) const;

  // `from` (and everything below it) now lives at `to`; whatever had `to`'s paths is gone.
  void Renamed(const std::string& from, const std::string& to);
  // `path` (and everything below it) is gone.
  void Removed(const std::string& path);

  // True when `ino` was last opened with the same (mtime, size); records them either way.
  bool UnchangedSinceLastOpen(uint64_t ino, int64_t mtime_ns, uint64_t size);

  size_t size() const { return nodes_.size(); }
  uint64_t references(uint64_t ino) const;

 private:
  struct Node {
    std::string path;  // empty once removed
    uint64_t references = 0;
    bool opened = false;
    int64_t opened_mtime_ns = 0;
    uint64_t opened_size = 0;
  };
  // Applies `fn(path, ino)` to the entries of by_path_ at `path` and below it.
  template <typename Fn>
  void ForSubtree(const std::string& path, Fn fn);

  std::unordered_map<uint64_t, Node> nodes_;
  std::map<std::string, uint64_t> by_path_;  // ordered: a subtree is one range
  uint64_t next_ino_ = kRoot + 1;
};

}  // namespace granary::mount
