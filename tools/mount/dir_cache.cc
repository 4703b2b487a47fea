#include "tools/mount/dir_cache.h"

namespace granary::mount {

DirCache::Entry& DirCache::EntryLocked(uint64_t dir) {
  Entry& entry = dirs_[dir];
  while (dirs_.size() > kDirsMax && dirs_.begin()->first != dir) dirs_.erase(dirs_.begin());
  return entry;
}

void DirCache::KeepLocked(Entry& entry, std::unordered_set<std::string> names, uint64_t caller) {
  entry.known = names.size() <= kNamesMax;
  entry.caller = caller;
  entry.names = entry.known ? std::move(names) : std::unordered_set<std::string>();
  entry.expires = Clock::now() + ttl_;
}

void DirCache::Listing(uint64_t dir) {
  if (ttl_ <= Clock::duration::zero()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  ++EntryLocked(dir).listings;
}

void DirCache::Known(uint64_t dir, const std::vector<std::string>& names, uint64_t caller) {
  if (ttl_ <= Clock::duration::zero()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || it->second.listings == 0) return;  // dropped meanwhile
  Entry& entry = it->second;
  std::unordered_set<std::string> all(names.begin(), names.end());
  all.insert(entry.added_since.begin(), entry.added_since.end());
  if (--entry.listings == 0) entry.added_since.clear();
  KeepLocked(entry, std::move(all), caller);
}

void DirCache::Failed(uint64_t dir) {
  if (ttl_ <= Clock::duration::zero()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || it->second.listings == 0) return;
  if (--it->second.listings == 0) it->second.added_since.clear();
}

void DirCache::Made(uint64_t dir, uint64_t caller) {
  if (ttl_ <= Clock::duration::zero()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  KeepLocked(EntryLocked(dir), {}, caller);
}

void DirCache::Added(uint64_t dir, const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end()) return;
  Entry& entry = it->second;
  if (entry.listings > 0) entry.added_since.insert(name);
  if (!entry.known) return;
  entry.names.insert(name);
  if (entry.names.size() > kNamesMax) {
    entry.known = false;
    entry.names.clear();
  }
}

void DirCache::Removed(uint64_t dir, const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = dirs_.find(dir); it != dirs_.end()) it->second.names.erase(name);
}

void DirCache::Drop(uint64_t dir) {
  std::lock_guard<std::mutex> lock(mutex_);
  dirs_.erase(dir);
}

bool DirCache::KnownAbsent(uint64_t dir, const std::string& name, uint64_t caller) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || !it->second.known || it->second.caller != caller) return false;
  if (Clock::now() > it->second.expires) return false;
  return !it->second.names.contains(name);
}

bool DirCache::ListAgain(uint64_t dir, size_t names_max) {
  if (ttl_ <= Clock::duration::zero()) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = dirs_.find(dir);
  if (it == dirs_.end() || !it->second.known || it->second.listings > 0) return false;
  if (it->second.names.size() > names_max || Clock::now() <= it->second.expires) return false;
  ++it->second.listings;
  return true;
}

}  // namespace granary::mount
