#include "core/namenode/inode_store.h"

#include <cassert>

#include "core/common/limits.h"

namespace granary {
namespace {

constexpr char kEntryTag = 'e';
constexpr char kLocationTag = 'n';
constexpr char kInlineTag = 'x';
constexpr char kOrphanTag = 'g';
constexpr char kBlockTag = 'b';
constexpr char kCounterTag = 'm';
constexpr char kDatanodeTag = 'd';
constexpr char kInodeLockTag = 'i';
constexpr char kJournalTag = 'j';
constexpr std::string_view kAppliedSeqName = "applied";
constexpr std::string_view kBootstrapName = "bootstrap";
constexpr size_t kIdBytes = 8;

void AppendBigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

// The first eight bytes of `bytes`, big endian; the caller checks there are eight.
uint64_t ReadBigEndian(std::string_view bytes) {
  assert(bytes.size() >= kIdBytes);
  uint64_t value = 0;
  for (size_t i = 0; i < kIdBytes; ++i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  }
  return value;
}

std::string Keyed(char tag, uint64_t id) {
  std::string key(1, tag);
  AppendBigEndian(key, id);
  return key;
}

std::string Named(char tag, std::string_view name) {
  std::string key(1, tag);
  key.append(name);
  return key;
}

std::string ChildrenPrefix(InodeId parent) { return Keyed(kEntryTag, parent.value()); }

std::string EntryKey(const EntryName& entry) {
  std::string key = ChildrenPrefix(entry.parent);
  key.append(entry.name);
  return key;
}

std::string EncodeLocation(const EntryName& entry) {
  std::string value;
  AppendBigEndian(value, entry.parent.value());
  value.append(entry.name);
  return value;
}

std::string EncodeCounter(uint64_t value) {
  std::string out;
  AppendBigEndian(out, value);
  return out;
}

Result<uint64_t> DecodeCounter(std::string_view value) {
  if (value.size() != kIdBytes) {
    return Status(StatusCode::kCorruption, "counter record of the wrong length");
  }
  return ReadBigEndian(value);
}

Status Unparsable(const char* what) {
  return Status(StatusCode::kCorruption, std::string("unparsable ") + what + " record");
}

Result<StoredEntry> DecodeEntry(const KeyValue& kv) {
  const RecordKey key = InodeStore::Classify(kv.key);
  assert(key.kind == RecordKind::kEntry);
  StoredEntry out{EntryName{InodeId(key.id), key.name}, {}};
  if (!out.inode.ParseFromString(kv.value)) return Unparsable("inode");
  return out;
}

}  // namespace

// ---- directory entries and locations ----

void InodeStore::PutInode(WriteBatch& batch, const proto::Inode& inode) {
  const EntryName entry{InodeId(inode.parent_id()), inode.name()};
  batch.Put(EntryKey(entry), inode.SerializeAsString());
  if (InodeId(inode.id()) != kRootInodeId) {
    batch.Put(Keyed(kLocationTag, inode.id()), EncodeLocation(entry));
  }
}

void InodeStore::DeleteEntry(WriteBatch& batch, const EntryName& entry) {
  batch.Delete(EntryKey(entry));
}

void InodeStore::DeleteLocation(WriteBatch& batch, InodeId id) {
  assert(id != kRootInodeId);
  batch.Delete(Keyed(kLocationTag, id.value()));
}

Result<proto::Inode> InodeStore::GetEntry(const EntryName& entry, const Snapshot* snapshot) {
  GRANARY_ASSIGN_OR_RETURN(std::string value, store_.Get(EntryKey(entry), snapshot));
  proto::Inode inode;
  if (!inode.ParseFromString(value)) return Unparsable("inode");
  return inode;
}

Result<EntryName> InodeStore::GetLocation(InodeId id) {
  GRANARY_ASSIGN_OR_RETURN(std::string value, store_.Get(Keyed(kLocationTag, id.value())));
  return DecodeLocation(value);
}

Result<std::vector<StoredEntry>> InodeStore::ScanEntries(InodeId parent,
                                                         std::string_view start_after,
                                                         uint32_t limit, const Snapshot* snapshot) {
  const std::string prefix = ChildrenPrefix(parent);
  std::string start = prefix;
  if (!start_after.empty()) {
    start = EntryKey(EntryName{parent, std::string(start_after)});
    start.push_back('\0');
  }
  GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> rows,
                           store_.Scan(start, PrefixEnd(prefix), limit, snapshot));
  std::vector<StoredEntry> entries;
  entries.reserve(rows.size());
  for (const KeyValue& kv : rows) {
    GRANARY_ASSIGN_OR_RETURN(StoredEntry entry, DecodeEntry(kv));
    assert(entry.entry.parent == parent);
    entries.push_back(std::move(entry));
  }
  return entries;
}

Result<bool> InodeStore::HasEntries(InodeId parent) {
  const std::string prefix = ChildrenPrefix(parent);
  GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> one, store_.Scan(prefix, PrefixEnd(prefix), 1));
  return !one.empty();
}

Status InodeStore::ForEachEntry(const std::function<Status(const StoredEntry&)>& visit) {
  const std::string end(1, kEntryTag + 1);
  std::string start(1, kEntryTag);
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> page,
                             store_.Scan(start, end, kStoreScanPageEntries));
    for (const KeyValue& kv : page) {
      GRANARY_ASSIGN_OR_RETURN(StoredEntry entry, DecodeEntry(kv));
      GRANARY_RETURN_IF_ERROR(visit(entry));
    }
    if (page.size() < kStoreScanPageEntries) return Status::Ok();
    start = page.back().key + '\0';
  }
}

// ---- inline file data ----

void InodeStore::PutInline(WriteBatch& batch, InodeId id, std::string_view data) {
  batch.Put(Keyed(kInlineTag, id.value()), data);
}

void InodeStore::DeleteInline(WriteBatch& batch, InodeId id) {
  batch.Delete(Keyed(kInlineTag, id.value()));
}

Status InodeStore::AppendInline(InodeId id, std::string& out, const Snapshot* snapshot) {
  return store_.GetAppend(Keyed(kInlineTag, id.value()), out, snapshot);
}

std::string InodeStore::InlinePrefix() { return std::string(1, kInlineTag); }

// ---- orphans ----

void InodeStore::PutOrphan(WriteBatch& batch, const proto::Inode& directory) {
  assert(directory.type() == proto::INODE_TYPE_DIRECTORY);
  batch.Put(Keyed(kOrphanTag, directory.id()), directory.SerializeAsString());
}

void InodeStore::DeleteOrphan(WriteBatch& batch, InodeId id) {
  batch.Delete(Keyed(kOrphanTag, id.value()));
}

Result<std::optional<InodeId>> InodeStore::FirstOrphan() {
  const std::string prefix(1, kOrphanTag);
  GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> first, store_.Scan(prefix, PrefixEnd(prefix), 1));
  if (first.empty()) return std::optional<InodeId>();
  const RecordKey key = Classify(first[0].key);
  if (key.kind != RecordKind::kOrphan) return Unparsable("orphan key");
  return std::optional<InodeId>(InodeId(key.id));
}

// ---- block records ----

void InodeStore::PutBlock(WriteBatch& batch, const proto::StoredBlock& block) {
  assert(block.block().block_id() != 0);
  batch.Put(Keyed(kBlockTag, block.block().block_id()), block.SerializeAsString());
}

void InodeStore::DeleteBlock(WriteBatch& batch, BlockId id) {
  batch.Delete(Keyed(kBlockTag, id.value()));
}

Status InodeStore::ForEachBlock(const std::function<void(const proto::StoredBlock&)>& visit) {
  const std::string prefix(1, kBlockTag);
  std::string start = prefix;
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> page,
                             store_.Scan(start, PrefixEnd(prefix), kStoreScanPageEntries));
    for (const KeyValue& kv : page) {
      proto::StoredBlock block;
      if (!block.ParseFromString(kv.value)) return Unparsable("block");
      visit(block);
    }
    if (page.size() < kStoreScanPageEntries) return Status::Ok();
    start = page.back().key + '\0';
  }
}

// ---- counters and datanode ids ----

void InodeStore::PutCounter(WriteBatch& batch, std::string_view name, uint64_t value) {
  batch.Put(Named(kCounterTag, name), EncodeCounter(value));
}

Result<uint64_t> InodeStore::GetCounter(std::string_view name) {
  GRANARY_ASSIGN_OR_RETURN(std::string value, store_.Get(Named(kCounterTag, name)));
  return DecodeCounter(value);
}

void InodeStore::PutDatanodeId(WriteBatch& batch, std::string_view storage_id, uint64_t id) {
  batch.Put(Named(kDatanodeTag, storage_id), EncodeCounter(id));
}

Result<uint64_t> InodeStore::GetDatanodeId(std::string_view storage_id) {
  GRANARY_ASSIGN_OR_RETURN(std::string value, store_.Get(Named(kDatanodeTag, storage_id)));
  return DecodeCounter(value);
}

// ---- the journal's position ----

void InodeStore::PutAppliedSeq(WriteBatch& batch, uint64_t seq) {
  batch.Put(Named(kJournalTag, kAppliedSeqName), EncodeCounter(seq));
}

Result<uint64_t> InodeStore::GetAppliedSeq() {
  Result<std::string> value = store_.Get(Named(kJournalTag, kAppliedSeqName));
  if (value.code() == StatusCode::kNotFound) return uint64_t{0};
  GRANARY_RETURN_IF_ERROR(value.status());
  return DecodeCounter(*value);
}

void InodeStore::PutBootstrapMark(WriteBatch& batch) { batch.Put(BootstrapMarkKey(), "copying"); }

void InodeStore::DeleteBootstrapMark(WriteBatch& batch) { batch.Delete(BootstrapMarkKey()); }

std::string InodeStore::BootstrapMarkKey() { return Named(kJournalTag, kBootstrapName); }

Result<bool> InodeStore::HasBootstrapMark() {
  Result<std::string> value = store_.Get(BootstrapMarkKey());
  if (value.code() == StatusCode::kNotFound) return false;
  GRANARY_RETURN_IF_ERROR(value.status());
  return true;
}

// ---- lock names ----

std::string InodeStore::InodeLockName(InodeId id) { return Keyed(kInodeLockTag, id.value()); }

std::string InodeStore::EntryLockName(const EntryName& entry) { return EntryKey(entry); }

// ---- whole-store walks ----

RecordKey InodeStore::Classify(std::string_view key) {
  RecordKey out;
  if (key.empty()) return out;
  const char tag = key[0];
  const std::string_view rest = key.substr(1);
  if (tag == kJournalTag) {
    out.kind = RecordKind::kJournal;
    out.name = std::string(rest);
    return out;
  }
  if (tag == kCounterTag || tag == kDatanodeTag) {
    out.kind = tag == kCounterTag ? RecordKind::kCounter : RecordKind::kDatanode;
    out.name = std::string(rest);
    return out;
  }
  if (rest.size() < kIdBytes) return out;
  out.id = ReadBigEndian(rest);
  switch (tag) {
    case kEntryTag:
      out.kind = RecordKind::kEntry;
      out.name = std::string(rest.substr(kIdBytes));
      return out;
    case kLocationTag:
      out.kind = RecordKind::kLocation;
      break;
    case kInlineTag:
      out.kind = RecordKind::kInline;
      break;
    case kOrphanTag:
      out.kind = RecordKind::kOrphan;
      break;
    case kBlockTag:
      out.kind = RecordKind::kBlock;
      break;
    default:
      return RecordKey{};
  }
  // The id-keyed records have nothing after their id.
  if (rest.size() != kIdBytes) return RecordKey{};
  return out;
}

Result<EntryName> InodeStore::DecodeLocation(std::string_view value) {
  if (value.size() < kIdBytes) {
    return Status(StatusCode::kCorruption, "location record shorter than a parent id");
  }
  return EntryName{InodeId(ReadBigEndian(value)), std::string(value.substr(kIdBytes))};
}

}  // namespace granary
