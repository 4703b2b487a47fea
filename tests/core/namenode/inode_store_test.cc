#include "core/namenode/inode_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/common/limits.h"
#include "sim/models/mem_store.h"

namespace granary {
namespace {

using namespace std::string_literals;

// An 8-byte big-endian id, as the format writes it.
std::string Id8(uint64_t id) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(id >> shift));
  return out;
}

proto::Inode Inode(uint64_t id, uint64_t parent, const std::string& name,
                   proto::InodeType type = proto::INODE_TYPE_FILE) {
  proto::Inode inode;
  inode.set_id(id);
  inode.set_parent_id(parent);
  inode.set_name(name);
  inode.set_type(type);
  inode.set_owner("alice");
  inode.set_mode(0644);
  return inode;
}

proto::StoredBlock Block(uint64_t block_id, uint64_t inode_id) {
  proto::StoredBlock stored;
  stored.set_inode_id(inode_id);
  stored.mutable_block()->set_block_id(block_id);
  stored.mutable_block()->set_generation_stamp(7);
  stored.mutable_block()->set_length_bytes(4096);
  stored.set_replication(3);
  return stored;
}

std::vector<KeyValue> Dump(sim::MemStore& store) {
  Result<std::vector<KeyValue>> all = store.Scan("", "", 1000);
  EXPECT_TRUE(all.ok());
  return all.ok() ? *all : std::vector<KeyValue>{};
}

class InodeStoreTest : public ::testing::Test {
 protected:
  void Write(const WriteBatch& batch) { ASSERT_TRUE(records_.Write(batch).ok()); }

  sim::MemStore store_;
  InodeStore records_{store_};
};

// The bytes are the format of every existing store: they must never change.
TEST_F(InodeStoreTest, WritesTheDocumentedBytes) {
  WriteBatch batch;
  const proto::Inode file = Inode(5, 2, "f");
  InodeStore::PutInode(batch, file);
  InodeStore::PutInline(batch, InodeId(5), "data");
  InodeStore::PutBlock(batch, Block(9, 5));
  InodeStore::PutOrphan(batch, Inode(6, 2, "d", proto::INODE_TYPE_DIRECTORY));
  InodeStore::PutCounter(batch, InodeStore::kInodeIdCounter, 0x0102);
  InodeStore::PutDatanodeId(batch, "storage-1", 3);
  Write(batch);
  const std::vector<KeyValue> expected = {
      {"b"s + Id8(9), Block(9, 5).SerializeAsString()},
      {"dstorage-1"s, Id8(3)},
      {"e"s + Id8(2) + "f", file.SerializeAsString()},
      {"g"s + Id8(6), Inode(6, 2, "d", proto::INODE_TYPE_DIRECTORY).SerializeAsString()},
      {"minode"s, Id8(0x0102)},
      {"n"s + Id8(5), Id8(2) + "f"},
      {"x"s + Id8(5), "data"},
  };
  EXPECT_EQ(Dump(store_), expected);
  EXPECT_EQ(InodeStore::InlinePrefix(), "x");
  EXPECT_EQ(InodeStore::InodeLockName(InodeId(5)), "i"s + Id8(5));
  EXPECT_EQ(InodeStore::EntryLockName({InodeId(2), "f"}), "e"s + Id8(2) + "f");
}

TEST_F(InodeStoreTest, TheRootHasAnEntryAndNoLocation) {
  WriteBatch batch;
  InodeStore::PutInode(
      batch, Inode(kRootInodeId.value(), kNoParentId.value(), "", proto::INODE_TYPE_DIRECTORY));
  Write(batch);
  const std::vector<KeyValue> dump = Dump(store_);
  ASSERT_EQ(dump.size(), 1u);
  EXPECT_EQ(dump[0].key, "e"s + Id8(0));
  Result<proto::Inode> root = records_.GetEntry({kNoParentId, ""});
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->id(), kRootInodeId.value());
  EXPECT_EQ(records_.GetLocation(kRootInodeId).code(), StatusCode::kNotFound);
}

TEST_F(InodeStoreTest, RecordsReadBackAsWritten) {
  WriteBatch batch;
  const proto::Inode file = Inode(5, 2, "report.csv");
  InodeStore::PutInode(batch, file);
  InodeStore::PutInline(batch, InodeId(5), "a,b\n1,2\n");
  InodeStore::PutCounter(batch, InodeStore::kBlockIdCounter, 123456789012345ull);
  InodeStore::PutDatanodeId(batch, "s", 42);
  Write(batch);

  Result<proto::Inode> entry = records_.GetEntry({InodeId(2), "report.csv"});
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->SerializeAsString(), file.SerializeAsString());
  Result<EntryName> location = records_.GetLocation(InodeId(5));
  ASSERT_TRUE(location.ok());
  EXPECT_EQ(*location, (EntryName{InodeId(2), "report.csv"}));
  std::string out = "prefix:";
  ASSERT_TRUE(records_.AppendInline(InodeId(5), out).ok());
  EXPECT_EQ(out, "prefix:a,b\n1,2\n");
  EXPECT_EQ(*records_.GetCounter(InodeStore::kBlockIdCounter), 123456789012345ull);
  EXPECT_EQ(records_.GetCounter(InodeStore::kInodeIdCounter).code(), StatusCode::kNotFound);
  EXPECT_EQ(*records_.GetDatanodeId("s"), 42u);
  EXPECT_EQ(records_.GetDatanodeId("t").code(), StatusCode::kNotFound);

  // And the deletes remove exactly what they name.
  WriteBatch gone;
  InodeStore::DeleteEntry(gone, {InodeId(2), "report.csv"});
  InodeStore::DeleteLocation(gone, InodeId(5));
  InodeStore::DeleteInline(gone, InodeId(5));
  Write(gone);
  EXPECT_EQ(records_.GetEntry({InodeId(2), "report.csv"}).code(), StatusCode::kNotFound);
  EXPECT_EQ(records_.GetLocation(InodeId(5)).code(), StatusCode::kNotFound);
  std::string none;
  EXPECT_EQ(records_.AppendInline(InodeId(5), none).code(), StatusCode::kNotFound);
  EXPECT_EQ(none, "");
  EXPECT_EQ(Dump(store_).size(), 2u);  // the counter and the datanode id
}

TEST_F(InodeStoreTest, ARecordReadOnASnapshotIsThePointInTime) {
  WriteBatch first;
  InodeStore::PutInode(first, Inode(5, 2, "f"));
  Write(first);
  const std::shared_ptr<const Snapshot> before = store_.GetSnapshot();
  proto::Inode changed = Inode(5, 2, "f");
  changed.set_length_bytes(99);
  WriteBatch second;
  InodeStore::PutInode(second, changed);
  Write(second);
  EXPECT_EQ(records_.GetEntry({InodeId(2), "f"}, before.get())->length_bytes(), 0u);
  EXPECT_EQ(records_.GetEntry({InodeId(2), "f"})->length_bytes(), 99u);
}

// Listing is a prefix scan: a directory's entries must be one name-ordered range, whatever
// the ids of its neighbours (big-endian ids order as numbers, 0xff before 0x100).
TEST_F(InodeStoreTest, EntriesOfADirectoryScanAsOneNameOrderedRange) {
  WriteBatch batch;
  for (const char* name : {"b", "a", "c", "ab"}) {
    InodeStore::PutInode(batch, Inode(1000 + name[0] + std::string(name).size(), 0xff, name));
  }
  InodeStore::PutInode(batch, Inode(2000, 0xfe, "z"));
  InodeStore::PutInode(batch, Inode(2001, 0x100, "0"));
  InodeStore::PutInode(batch, Inode(2002, 0xff00, "0"));
  Write(batch);
  Result<std::vector<StoredEntry>> all = records_.ScanEntries(InodeId(0xff), "", 100);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> names;
  for (const StoredEntry& entry : *all) {
    EXPECT_EQ(entry.entry.parent, InodeId(0xff));
    EXPECT_EQ(entry.entry.name, entry.inode.name());
    names.push_back(entry.entry.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"a", "ab", "b", "c"}));
  // Pages continue after a name, bounded by the limit.
  Result<std::vector<StoredEntry>> page = records_.ScanEntries(InodeId(0xff), "a", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].entry.name, "ab");
  EXPECT_EQ((*page)[1].entry.name, "b");
  EXPECT_TRUE(records_.ScanEntries(InodeId(0xff), "c", 10)->empty());
  EXPECT_TRUE(*records_.HasEntries(InodeId(0x100)));
  EXPECT_FALSE(*records_.HasEntries(InodeId(0x101)));
  // The whole-store walk sees every entry once, in (parent, name) order.
  std::vector<uint64_t> parents;
  ASSERT_TRUE(records_
                  .ForEachEntry([&](const StoredEntry& entry) {
                    parents.push_back(entry.entry.parent.value());
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(parents, (std::vector<uint64_t>{0xfe, 0xff, 0xff, 0xff, 0xff, 0x100, 0xff00}));
  // The cache's key orders as the store's.
  EXPECT_LT((EntryName{InodeId(0xff), "zz"}), (EntryName{InodeId(0x100), "a"}));
  EXPECT_LT((EntryName{InodeId(1), "a"}), (EntryName{InodeId(1), "\xff"}));
}

TEST_F(InodeStoreTest, OrphansComeOutSmallestIdFirst) {
  EXPECT_FALSE(records_.FirstOrphan()->has_value());
  WriteBatch batch;
  for (uint64_t id : {0x300, 0x20, 0x1000}) {
    InodeStore::PutOrphan(batch, Inode(id, 1, "d", proto::INODE_TYPE_DIRECTORY));
  }
  Write(batch);
  EXPECT_EQ(records_.FirstOrphan()->value(), InodeId(0x20));
  WriteBatch collected;
  InodeStore::DeleteOrphan(collected, InodeId(0x20));
  Write(collected);
  EXPECT_EQ(records_.FirstOrphan()->value(), InodeId(0x300));
}

TEST_F(InodeStoreTest, BlocksAreVisitedInIdOrderAcrossPages) {
  // More records than one scan page, so that the walk continues where a page ended.
  const uint64_t count = kStoreScanPageEntries + 10;
  WriteBatch batch;
  for (uint64_t id = count; id >= 1; --id) InodeStore::PutBlock(batch, Block(id, 100 + id));
  Write(batch);
  uint64_t expected = 1;
  ASSERT_TRUE(records_
                  .ForEachBlock([&](const proto::StoredBlock& block) {
                    EXPECT_EQ(block.block().block_id(), expected);
                    EXPECT_EQ(block.inode_id(), 100 + expected);
                    ++expected;
                  })
                  .ok());
  EXPECT_EQ(expected, count + 1);
  WriteBatch gone;
  InodeStore::DeleteBlock(gone, BlockId(1));
  Write(gone);
  uint64_t first = 0;
  ASSERT_TRUE(records_
                  .ForEachBlock([&](const proto::StoredBlock& block) {
                    if (first == 0) first = block.block().block_id();
                  })
                  .ok());
  EXPECT_EQ(first, 2u);
}

TEST_F(InodeStoreTest, UnparsableRecordsAreCorruption) {
  WriteBatch batch;
  batch.Put("e"s + Id8(2) + "f", "\xff\xff\xff");
  batch.Put("b"s + Id8(1), "\xff\xff\xff");
  batch.Put("n"s + Id8(3), "short");
  Write(batch);
  EXPECT_EQ(records_.GetEntry({InodeId(2), "f"}).code(), StatusCode::kCorruption);
  EXPECT_EQ(records_.ScanEntries(InodeId(2), "", 10).code(), StatusCode::kCorruption);
  EXPECT_EQ(records_.ForEachBlock([](const proto::StoredBlock&) {}).code(),
            StatusCode::kCorruption);
  EXPECT_EQ(records_.GetLocation(InodeId(3)).code(), StatusCode::kCorruption);
}

TEST_F(InodeStoreTest, AppliedSeqIsZeroUntilWrittenThenWhatWasWritten) {
  EXPECT_EQ(*records_.GetAppliedSeq(), 0u);
  WriteBatch batch;
  InodeStore::PutAppliedSeq(batch, 0x0102030405060708ull);
  Write(batch);
  EXPECT_EQ(*records_.GetAppliedSeq(), 0x0102030405060708ull);
  EXPECT_EQ(*store_.Get("japplied"), "\x01\x02\x03\x04\x05\x06\x07\x08"s);  // the format
}

TEST_F(InodeStoreTest, ClassifyNamesEveryRecordKind) {
  RecordKey entry = InodeStore::Classify("e"s + Id8(7) + "name");
  EXPECT_EQ(entry.kind, RecordKind::kEntry);
  EXPECT_EQ(entry.id, 7u);
  EXPECT_EQ(entry.name, "name");
  EXPECT_EQ(InodeStore::Classify("n"s + Id8(7)).kind, RecordKind::kLocation);
  EXPECT_EQ(InodeStore::Classify("x"s + Id8(7)).kind, RecordKind::kInline);
  EXPECT_EQ(InodeStore::Classify("g"s + Id8(7)).kind, RecordKind::kOrphan);
  RecordKey block = InodeStore::Classify("b"s + Id8(0x1234));
  EXPECT_EQ(block.kind, RecordKind::kBlock);
  EXPECT_EQ(block.id, 0x1234u);
  RecordKey counter = InodeStore::Classify("minode");
  EXPECT_EQ(counter.kind, RecordKind::kCounter);
  EXPECT_EQ(counter.name, "inode");
  EXPECT_EQ(InodeStore::Classify("dstorage").kind, RecordKind::kDatanode);
  EXPECT_EQ(InodeStore::Classify("japplied").kind, RecordKind::kJournal);
  // Not records of this format.
  EXPECT_EQ(InodeStore::Classify("").kind, RecordKind::kUnknown);
  EXPECT_EQ(InodeStore::Classify("n"s + Id8(7) + "x").kind, RecordKind::kUnknown);
  EXPECT_EQ(InodeStore::Classify("b123").kind, RecordKind::kUnknown);
  EXPECT_EQ(InodeStore::Classify("q"s + Id8(7)).kind, RecordKind::kUnknown);
  Result<EntryName> location = InodeStore::DecodeLocation(Id8(9) + "file");
  ASSERT_TRUE(location.ok());
  EXPECT_EQ(*location, (EntryName{InodeId(9), "file"}));
  EXPECT_EQ(InodeStore::DecodeLocation("1234567").code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace granary
