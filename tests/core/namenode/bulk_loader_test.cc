#include "core/namenode/bulk_loader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/namenode/namespace.h"
#include "sim/models/hardware.h"
#include "sim/models/mem_store.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::CheckStore;
using namenode_testing::StoreCensus;
using namenode_testing::Super;

// A MetaStore that counts the batches written to it.
class CountingStore final : public MetaStore {
 public:
  Result<std::string> Get(std::string_view key, const Snapshot* snapshot) override {
    return inner.Get(key, snapshot);
  }
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot) override {
    return inner.Scan(start, end, limit, snapshot);
  }
  Status Write(const WriteBatch& batch) override {
    batch_sizes.push_back(batch.size());
    return inner.Write(batch);
  }
  std::shared_ptr<const Snapshot> GetSnapshot() override { return inner.GetSnapshot(); }

  std::vector<KeyValue> Dump() {
    std::vector<KeyValue> all;
    std::string start;
    for (;;) {
      Result<std::vector<KeyValue>> page = inner.Scan(start, "", kMetaScanEntriesMax);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) return all;
      for (KeyValue& kv : *page) all.push_back(std::move(kv));
      if (page->size() < kMetaScanEntriesMax) return all;
      start = all.back().key + '\0';
    }
  }

  sim::MemStore inner;
  std::vector<size_t> batch_sizes;
};

BulkLoadOptions Options() {
  BulkLoadOptions options;
  options.owner = "granary";
  options.group = "supergroup";
  options.time_ns = 0;
  options.file_replication = 3;
  options.file_block_bytes = kBlockBytesDefault;
  return options;
}

proto::Inode Expected(uint64_t id, uint64_t parent, const std::string& name, proto::InodeType type,
                      uint32_t mode) {
  proto::Inode inode;
  inode.set_id(id);
  inode.set_parent_id(parent);
  inode.set_name(name);
  inode.set_type(type);
  inode.set_owner("granary");
  inode.set_group("supergroup");
  inode.set_mode(mode);
  if (type == proto::INODE_TYPE_FILE) {
    inode.set_replication(3);
    inode.set_block_bytes(kBlockBytesDefault);
  }
  return inode;
}

// The records are exactly those the simulator's pre-population wrote by hand before the bulk
// load existed: simulated results over a pre-populated namespace depend on every byte.
TEST(BulkLoaderTest, WritesTheRootTheTreeAndTheCounter) {
  CountingStore store;
  BulkLoader loader(store, Options());
  Result<InodeId> dir = loader.AddDirectory(loader.root(), "pre", 0755);
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(*dir, InodeId(2));
  Result<InodeId> file = loader.AddFile(*dir, "f0", 0644);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, InodeId(3));
  EXPECT_TRUE(store.batch_sizes.empty()) << "a small load is one batch";
  ASSERT_TRUE(loader.Finish().ok());
  EXPECT_EQ(store.batch_sizes, std::vector<size_t>{6});
  EXPECT_EQ(loader.inodes(), 3u);

  WriteBatch expected;
  InodeStore::PutInode(expected, Expected(1, 0, "", proto::INODE_TYPE_DIRECTORY, 0755));
  InodeStore::PutInode(expected, Expected(2, 1, "pre", proto::INODE_TYPE_DIRECTORY, 0755));
  InodeStore::PutInode(expected, Expected(3, 2, "f0", proto::INODE_TYPE_FILE, 0644));
  InodeStore::PutCounter(expected, InodeStore::kInodeIdCounter, 4);
  sim::MemStore reference;
  ASSERT_TRUE(reference.Write(expected).ok());
  EXPECT_EQ(store.Dump(), *reference.Scan("", "", kMetaScanEntriesMax));
}

TEST(BulkLoaderTest, WritesInBatchesOfKBulkLoadBatchOps) {
  CountingStore store;
  BulkLoader loader(store, Options());
  Result<InodeId> dir = loader.AddDirectory(loader.root(), "d", 0755);
  ASSERT_TRUE(dir.ok());
  // Two records per inode but the root: the first batch fills after (kBulkLoadBatchOps - 1)
  // / 2 more inodes, rounded up.
  const uint64_t files = kBulkLoadBatchOps;
  for (uint64_t i = 0; i < files; ++i) {
    ASSERT_TRUE(loader.AddFile(*dir, "f" + std::to_string(i), 0644).ok());
  }
  ASSERT_TRUE(loader.Finish().ok());
  size_t total = 0;
  for (size_t i = 0; i < store.batch_sizes.size(); ++i) {
    total += store.batch_sizes[i];
    EXPECT_LE(store.batch_sizes[i], kBulkLoadBatchOps + 1) << "batch " << i;
    if (i + 1 < store.batch_sizes.size()) {
      EXPECT_GE(store.batch_sizes[i], kBulkLoadBatchOps);
    }
  }
  EXPECT_EQ(store.batch_sizes.size(), 3u);
  EXPECT_EQ(total, 1 + 2 * (files + 1) + 1);  // root, two per inode, the counter
  const StoreCensus census = CheckStore(store.Dump(), true);
  EXPECT_EQ(census.files, files);
  EXPECT_EQ(census.directories, 1u);
}

TEST(BulkLoaderTest, RefusesBadNames) {
  CountingStore store;
  BulkLoader loader(store, Options());
  EXPECT_EQ(loader.AddFile(loader.root(), "", 0644).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(loader.AddFile(loader.root(), "a/b", 0644).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(loader.AddDirectory(loader.root(), std::string(kNameBytesMax + 1, 'n'), 0755).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(loader.AddFile(loader.root(), std::string(kNameBytesMax, 'n'), 0644).ok());
  EXPECT_EQ(loader.inodes(), 2u) << "a refused name takes no id";
}

// A namenode opening a bulk-loaded store sees the tree, counts it and allocates past it.
TEST(BulkLoaderTest, ANamespaceLoadsWhatWasBulkLoaded) {
  sim::Simulator sim(1);
  sim::Hardware hardware(sim);
  sim::NodeOptions node;
  node.name = "namenode";
  const NodeId id = hardware.AddNode(node, [](sim::SimProcess&) {});
  {
    BulkLoader loader(hardware.machine(id).meta_store(), Options());
    Result<InodeId> pre = loader.AddDirectory(loader.root(), "pre", 0755);
    ASSERT_TRUE(pre.ok());
    for (int d = 0; d < 3; ++d) {
      Result<InodeId> dir = loader.AddDirectory(*pre, "d" + std::to_string(d), 0755);
      ASSERT_TRUE(dir.ok());
      for (int f = 0; f < 4; ++f)
        ASSERT_TRUE(loader.AddFile(*dir, "f" + std::to_string(f), 0644).ok());
    }
    ASSERT_TRUE(loader.Finish().ok());
  }
  sim.StartNode(id);
  sim.RunUntilIdle();
  sim::SimProcess& process = *sim.node(id).process();
  NamespaceOptions options;
  options.directory_cache_entries = 16;
  auto ns = std::make_unique<Namespace>(process.env(), process.meta_store(), options);
  bool finished = false;
  process.Spawn("test", [&] {
    ASSERT_TRUE(ns->Load(nullptr).ok());
    EXPECT_EQ(ns->counts().files, 12u);
    EXPECT_EQ(ns->counts().directories, 4u);
    Result<proto::FileStatus> file = ns->Stat(Super(), "/pre/d2/f3");
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(file->inode_id(), 17u);  // root, pre, then each directory before its files
    EXPECT_EQ(file->replication(), 3u);
    Result<Namespace::ListPage> listed = ns->List(Super(), "/pre", "", 0);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->entries.size(), 3u);
    // New inodes take ids past the bulk load's.
    ASSERT_TRUE(ns->Mkdirs(Super(), "/pre/d0/new", 0, false).ok());
    EXPECT_GT(ns->Stat(Super(), "/pre/d0/new")->inode_id(), 17u);
    finished = true;
  });
  sim.RunUntilIdle();
  EXPECT_TRUE(finished);
  EXPECT_TRUE(sim.Shutdown().ok());
}

}  // namespace
}  // namespace granary
