// The namenode's key layout in the MetaStore (DESIGN.md §5).
//
//   "e" parent(8, big endian) name  -> proto::Inode   directory entry = the inode itself
//   "n" id(8)                        -> parent(8) name  where an inode lives (by-id lookups)
//   "x" id(8)                        -> bytes           an inline file's data
//   "g" id(8)                        -> proto::Inode    an unlinked subtree awaiting collection
//   "b" block id(8)                  -> proto::StoredBlock
//   "m" name                         -> counter (8)     id reservations
//   "d" storage id                   -> datanode id (8) a datanode's stable id
//
// Big-endian ids make a directory's entries one contiguous, name-ordered range: listing is a
// prefix scan, and the (parent id, name) key is HopsFS's partitioning key.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace granary::meta_keys {

inline constexpr uint64_t kRootInodeId = 1;
inline constexpr uint64_t kNoParent = 0;

inline void AppendBigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

inline uint64_t ReadBigEndian(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8 && i < bytes.size(); ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

inline std::string Keyed(char tag, uint64_t id) {
  std::string key(1, tag);
  AppendBigEndian(key, id);
  return key;
}

inline std::string ChildrenPrefix(uint64_t parent) { return Keyed('e', parent); }
inline std::string EntryKey(uint64_t parent, std::string_view name) {
  std::string key = ChildrenPrefix(parent);
  key.append(name);
  return key;
}
inline std::string LocationKey(uint64_t id) { return Keyed('n', id); }
inline constexpr char kInlineKeyTag = 'x';
inline std::string InlineKey(uint64_t id) { return Keyed(kInlineKeyTag, id); }
inline std::string OrphanKey(uint64_t id) { return Keyed('g', id); }
inline std::string BlockKey(uint64_t id) { return Keyed('b', id); }
inline std::string DatanodeKey(std::string_view storage_id) {
  std::string key(1, 'd');
  key.append(storage_id);
  return key;
}
inline std::string CounterKey(std::string_view name) {
  std::string key(1, 'm');
  key.append(name);
  return key;
}

inline std::string EncodeLocation(uint64_t parent, std::string_view name) {
  std::string value;
  AppendBigEndian(value, parent);
  value.append(name);
  return value;
}

// Lock keys (lock_manager.h): an inode, or an entry of a directory.
inline std::string InodeLock(uint64_t id) { return Keyed('i', id); }
inline std::string EntryLock(uint64_t parent, std::string_view name) {
  return EntryKey(parent, name);
}

}  // namespace granary::meta_keys
