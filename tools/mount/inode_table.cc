#include "tools/mount/inode_table.h"

#include <cassert>
#include <utility>
#include <vector>

namespace granary::mount {

InodeTable::InodeTable() {
  nodes_[kRoot] = Node{"/", 1};
  by_path_["/"] = kRoot;
}

uint64_t InodeTable::Ref(const std::string& path, uint64_t references) {
  assert(!path.empty());
  auto [it, added] = by_path_.try_emplace(path, next_ino_);
  if (added) nodes_[next_ino_++] = Node{path, 0};
  nodes_[it->second].references += references;
  return it->second;
}

void InodeTable::Forget(uint64_t ino, uint64_t references) {
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || ino == kRoot) return;
  Node& node = it->second;
  node.references -= std::min(node.references, references);
  if (node.references > 0) return;
  if (!node.path.empty()) {
    auto at = by_path_.find(node.path);
    if (at != by_path_.end() && at->second == ino) by_path_.erase(at);
  }
  nodes_.erase(it);
}

void InodeTable::DropIfUnreferenced(uint64_t ino) {
  auto it = nodes_.find(ino);
  if (it != nodes_.end() && it->second.references == 0) Forget(ino, 0);
}

std::optional<std::string> InodeTable::PathOf(uint64_t ino) const {
  auto it = nodes_.find(ino);
  if (it == nodes_.end() || it->second.path.empty()) return std::nullopt;
  return it->second.path;
}

std::optional<uint64_t> InodeTable::Find(const std::string& path) const {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

uint64_t InodeTable::references(uint64_t ino) const {
  auto it = nodes_.find(ino);
  return it == nodes_.end() ? 0 : it->second.references;
}

template <typename Fn>
void InodeTable::ForSubtree(const std::string& path, Fn fn) {
  std::vector<std::pair<std::string, uint64_t>> found;
  if (auto it = by_path_.find(path); it != by_path_.end()) found.emplace_back(*it);
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = by_path_.lower_bound(prefix); it != by_path_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    found.emplace_back(*it);
  }
  for (auto& [p, ino] : found) fn(p, ino);
}

void InodeTable::Removed(const std::string& path) {
  if (path == "/") return;
  ForSubtree(path, [&](const std::string& p, uint64_t ino) {
    by_path_.erase(p);
    nodes_[ino].path.clear();
  });
}

void InodeTable::Renamed(const std::string& from, const std::string& to) {
  if (from == to || from == "/") return;
  Removed(to);
  std::vector<std::pair<std::string, uint64_t>> moving;
  ForSubtree(from, [&](const std::string& p, uint64_t ino) { moving.emplace_back(p, ino); });
  for (auto& [p, ino] : moving) by_path_.erase(p);
  for (auto& [p, ino] : moving) {
    std::string moved = to + p.substr(from.size());
    nodes_[ino].path = moved;
    by_path_[moved] = ino;
  }
}

bool InodeTable::UnchangedSinceLastOpen(uint64_t ino, int64_t mtime_ns, uint64_t size) {
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return false;
  Node& node = it->second;
  const bool same = node.opened && node.opened_mtime_ns == mtime_ns && node.opened_size == size;
  node.opened = true;
  node.opened_mtime_ns = mtime_ns;
  node.opened_size = size;
  return same;
}

}  // namespace granary::mount
