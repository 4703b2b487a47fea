// Quotas on names and bytes (core/namenode/quota_tracker.h) through the Namespace that
// charges them: what counts, what is refused, and that a refusal changes nothing.
#include "core/namenode/quota_tracker.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "core/common/crc32c.h"
#include "core/namenode/namespace.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::MakeUser;
using namenode_testing::NamenodeHarness;
using namenode_testing::Super;

constexpr uint64_t kBlock = 64 * 1024;  // the smallest block size a file may have
const User kAlice = MakeUser("alice", {"staff"});

Result<proto::Inode> Put(Namespace& ns, std::string_view path, std::string data = "",
                         uint32_t replication = 1, const User& user = Super()) {
  CreateArgs args;
  args.complete = true;
  args.overwrite = true;
  args.inline_data = std::move(data);
  args.replication = replication;
  args.block_bytes = kBlock;
  return ns.Create(user, path, args, nullptr);
}

Result<proto::Inode> OpenForWrite(Namespace& ns, std::string_view path, uint32_t replication) {
  CreateArgs args;
  args.client_name = "writer";
  args.replication = replication;
  args.block_bytes = kBlock;
  return ns.Create(Super(), path, args, nullptr);
}

QuotaUsage Used(Namespace& ns, std::string_view path) {
  Result<Namespace::QuotaReport> report = ns.GetQuota(Super(), path);
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  return report.ok() ? report->state.used : QuotaUsage{};
}

Status SetNames(Namespace& ns, std::string_view path, uint64_t names) {
  return ns.SetQuota(Super(), path, names, std::nullopt, false);
}
Status SetBytes(Namespace& ns, std::string_view path, uint64_t bytes) {
  return ns.SetQuota(Super(), path, std::nullopt, bytes, false);
}

// The file system's steps of a block writer, on the namespace alone.
Status ConvertToBlocks(Namespace& ns, InodeId id) {
  return ns
      .MutateFile(id,
                  [](proto::Inode& inode, WriteBatch& batch) {
                    InodeStore::DeleteInline(batch, InodeId(inode.id()));
                    inode.set_inline_data(false);
                    inode.clear_inline_crc32c();
                    inode.set_length_bytes(0);
                    return Status::Ok();
                  })
      .status();
}
// Commits the last block at `last_length` (if any) and opens a new one, as nn.AddBlock.
Status AddBlock(Namespace& ns, InodeId id, uint64_t last_length) {
  return ns
      .MutateFile(id,
                  [&](proto::Inode& inode, WriteBatch&) {
                    if (inode.blocks_size() > 0) {
                      inode.mutable_blocks(inode.blocks_size() - 1)->set_length_bytes(last_length);
                    }
                    Result<uint64_t> block = ns.block_ids().Next();
                    if (!block.ok()) return block.status();
                    inode.add_blocks()->set_block_id(*block);
                    return Status::Ok();
                  })
      .status();
}
Status Complete(Namespace& ns, InodeId id, uint64_t last_length) {
  return ns
      .MutateFile(id,
                  [&](proto::Inode& inode, WriteBatch&) {
                    uint64_t total = 0;
                    if (inode.blocks_size() > 0) {
                      inode.mutable_blocks(inode.blocks_size() - 1)->set_length_bytes(last_length);
                    }
                    for (const proto::BlockRef& b : inode.blocks()) total += b.length_bytes();
                    inode.set_length_bytes(total);
                    inode.set_under_construction(false);
                    inode.set_lease_holder("");
                    return Status::Ok();
                  })
      .status();
}

TEST(QuotaTrackerTest, ChargedBytesCountsReplicationAndReservesTheOpenBlock) {
  proto::Inode file;
  file.set_type(proto::INODE_TYPE_FILE);
  file.set_replication(3);
  file.set_block_bytes(kBlock);
  file.set_inline_data(true);
  file.set_length_bytes(100);
  EXPECT_EQ(QuotaTracker::ChargedBytes(file), 300u);
  file.set_under_construction(true);  // an open inline file: its bytes as they are
  EXPECT_EQ(QuotaTracker::ChargedBytes(file), 300u);
  file.set_inline_data(false);  // converted: the first block is reserved whole
  file.set_length_bytes(0);
  EXPECT_EQ(QuotaTracker::ChargedBytes(file), 3 * kBlock);
  file.add_blocks()->set_length_bytes(kBlock);
  file.add_blocks()->set_length_bytes(10);
  EXPECT_EQ(QuotaTracker::ChargedBytes(file), 3 * (kBlock + kBlock));
  file.set_under_construction(false);  // settled
  file.set_length_bytes(kBlock + 10);
  EXPECT_EQ(QuotaTracker::ChargedBytes(file), 3 * (kBlock + 10));
  proto::Inode directory;
  directory.set_type(proto::INODE_TYPE_DIRECTORY);
  EXPECT_EQ(QuotaTracker::ChargedBytes(directory), 0u);
}

TEST(QuotaTrackerTest, NameQuotaCountsTheDirectoryAndRefusesWithoutChange) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q", 0, false).ok());
    ASSERT_TRUE(Put(ns, "/q/a").ok());
    ASSERT_TRUE(SetNames(ns, "/q", 3).ok());
    EXPECT_EQ(Used(ns, "/q").names, 2u);  // /q itself and /q/a
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q/b", 0, false).ok());
    Result<proto::Inode> refused = Put(ns, "/q/c");
    ASSERT_EQ(refused.code(), StatusCode::kQuotaExceeded);
    EXPECT_EQ(refused.status().message(), "name quota of /q exceeded: 3 names (3 used)");
    EXPECT_EQ(ns.Stat(Super(), "/q/c").code(), StatusCode::kNotFound);
    // Mkdirs of several levels is refused whole.
    EXPECT_EQ(ns.Mkdirs(Super(), "/q/b/x/y", 0, true).code(), StatusCode::kQuotaExceeded);
    EXPECT_EQ(ns.Stat(Super(), "/q/b/x").code(), StatusCode::kNotFound);
    EXPECT_EQ(Used(ns, "/q").names, 3u);
    // Overwriting a file takes no new name.
    EXPECT_TRUE(Put(ns, "/q/a", "new").ok());
    // A delete gives its names back.
    ASSERT_TRUE(ns.Delete(Super(), "/q/b", false, nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 2u);
    EXPECT_TRUE(Put(ns, "/q/c").ok());
    // Outside the quota'd directory nothing is counted.
    EXPECT_TRUE(Put(ns, "/elsewhere").ok());
    EXPECT_EQ(Used(ns, "/q").names, 3u);
  });
}

TEST(QuotaTrackerTest, SpaceQuotaCountsBytesTimesReplication) {
  NamenodeHarness h(2);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q/sub", 0, true).ok());
    ASSERT_TRUE(SetBytes(ns, "/q", 5000).ok());
    ASSERT_TRUE(Put(ns, "/q/sub/one", std::string(1000, 'x'), 3).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 3000u);
    Result<proto::Inode> refused = Put(ns, "/q/two", std::string(1000, 'x'), 3);
    ASSERT_EQ(refused.code(), StatusCode::kQuotaExceeded);
    EXPECT_NE(refused.status().message().find("space quota of /q exceeded: 5000 bytes"),
              std::string::npos)
        << refused.status().message();
    EXPECT_EQ(ns.Stat(Super(), "/q/two").code(), StatusCode::kNotFound);
    ASSERT_TRUE(Put(ns, "/q/two", std::string(1000, 'x'), 2).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 5000u);
    // Raising a file's replication past the quota is refused; lowering it gives bytes back.
    EXPECT_EQ(ns.SetReplication(Super(), "/q/two", 3).code(), StatusCode::kQuotaExceeded);
    EXPECT_EQ(ns.Stat(Super(), "/q/two")->replication(), 2u);
    ASSERT_TRUE(ns.SetReplication(Super(), "/q/sub/one", 1).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 3000u);
    // Deleting a directory gives back its whole subtree.
    ASSERT_TRUE(ns.Delete(Super(), "/q/sub", true, nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 2000u);
    EXPECT_EQ(Used(ns, "/q").names, 2u);
  });
}

TEST(QuotaTrackerTest, BlockWriteReservesAFullBlockAndSettlesAtCompletion) {
  NamenodeHarness h(3);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q", 0, false).ok());
    ASSERT_TRUE(SetBytes(ns, "/q", 2 * kBlock + 100).ok());
    Result<proto::Inode> file = OpenForWrite(ns, "/q/f", 2);
    ASSERT_TRUE(file.ok());
    const InodeId id(file->id());
    // The inline bytes written so far count as they are.
    ASSERT_TRUE(ns.MutateFile(id, [](proto::Inode& inode, WriteBatch& batch) {
                    InodeStore::PutInline(batch, InodeId(inode.id()), std::string(50, 'y'));
                    inode.set_length_bytes(50);
                    return Status::Ok();
                  }).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 100u);
    // Converting to blocks reserves the first block (2 x 64 KiB): it fits.
    ASSERT_TRUE(ConvertToBlocks(ns, id).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 2 * kBlock);
    ASSERT_TRUE(AddBlock(ns, id, 0).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 2 * kBlock);  // the reservation became the block
    // A second block would need 2 x 64 KiB more: refused, the file keeps its one block.
    EXPECT_EQ(AddBlock(ns, id, kBlock).code(), StatusCode::kQuotaExceeded);
    EXPECT_EQ(ns.GetFile(id)->blocks_size(), 1);
    // Completion settles the charge to what was written.
    ASSERT_TRUE(Complete(ns, id, 1000).ok());
    EXPECT_EQ(Used(ns, "/q").bytes, 2000u);
  });
}

TEST(QuotaTrackerTest, InlineToBlocksConversionRefusedKeepsTheInlineBytes) {
  NamenodeHarness h(4);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q", 0, false).ok());
    ASSERT_TRUE(SetBytes(ns, "/q", kBlock).ok());
    Result<proto::Inode> file = OpenForWrite(ns, "/q/f", 3);
    ASSERT_TRUE(file.ok());
    const InodeId id(file->id());
    ASSERT_TRUE(ns.MutateFile(id, [](proto::Inode& inode, WriteBatch& batch) {
                    InodeStore::PutInline(batch, InodeId(inode.id()), std::string(60, 'z'));
                    inode.set_length_bytes(60);
                    inode.set_inline_crc32c(Crc32c(std::string(60, 'z')));
                    return Status::Ok();
                  }).ok());
    // Growing to blocks would reserve 3 x 64 KiB: refused, and the 60 bytes stay.
    EXPECT_EQ(ConvertToBlocks(ns, id).code(), StatusCode::kQuotaExceeded);
    Result<OpenResult> opened = ns.Open(Super(), "/q/f");
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(opened->inline_data, std::string(60, 'z'));
    EXPECT_EQ(Used(ns, "/q").bytes, 180u);
  });
}

TEST(QuotaTrackerTest, RenameIntoAQuotaIsCheckedAndMovesUsage) {
  NamenodeHarness h(5);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q/inner", 0, true).ok());
    ASSERT_TRUE(ns.Mkdirs(Super(), "/other/tree", 0, true).ok());
    ASSERT_TRUE(Put(ns, "/other/tree/a", std::string(10, 'a'), 2).ok());
    ASSERT_TRUE(Put(ns, "/other/tree/b", std::string(10, 'b'), 2).ok());
    ASSERT_TRUE(SetNames(ns, "/q", 4).ok());
    ASSERT_TRUE(SetBytes(ns, "/q/inner", 1000).ok());
    // 3 names into a directory with 2 free: refused, both sides unchanged.
    EXPECT_EQ(ns.Rename(Super(), "/other/tree", "/q/tree", nullptr).code(),
              StatusCode::kQuotaExceeded);
    EXPECT_TRUE(ns.Stat(Super(), "/other/tree/a").ok());
    EXPECT_EQ(ns.Stat(Super(), "/q/tree").code(), StatusCode::kNotFound);
    EXPECT_EQ(Used(ns, "/q").names, 2u);
    // One file fits; it is counted by both quotas above it.
    ASSERT_TRUE(ns.Rename(Super(), "/other/tree/a", "/q/inner/a", nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 3u);
    EXPECT_EQ(Used(ns, "/q/inner").bytes, 20u);
    // Within /q, out of /q/inner: /q keeps it, /q/inner gives it back.
    ASSERT_TRUE(ns.Rename(Super(), "/q/inner/a", "/q/a", nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 3u);
    EXPECT_EQ(Used(ns, "/q/inner").bytes, 0u);
    // Replacing a file inside the quota: the old one's name and bytes go.
    ASSERT_TRUE(ns.Rename(Super(), "/other/tree/b", "/q/a", nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 3u);
    // Out of every quota.
    ASSERT_TRUE(ns.Rename(Super(), "/q/a", "/other/a", nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 2u);
    // A quota'd directory moves with its usage.
    ASSERT_TRUE(ns.Rename(Super(), "/other/a", "/q/inner/a", nullptr).ok());
    ASSERT_TRUE(ns.Rename(Super(), "/q/inner", "/other/inner", nullptr).ok());
    EXPECT_EQ(Used(ns, "/q").names, 1u);
    EXPECT_EQ(Used(ns, "/other/inner").bytes, 20u);
  });
}

// A file in blocks at `path`, closed at `length` bytes in one block.
InodeId PutInBlocks(Namespace& ns, std::string_view path, uint64_t length) {
  Result<proto::Inode> file = OpenForWrite(ns, path, 1);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  const InodeId id(file.ok() ? file->id() : 0);
  EXPECT_TRUE(ConvertToBlocks(ns, id).ok());
  EXPECT_TRUE(AddBlock(ns, id, 0).ok());
  EXPECT_TRUE(Complete(ns, id, length).ok());
  return id;
}

// Regression (swarm seeds 101-105, every file in blocks): an overwrite or a replacing
// rename refused for its quota once handed the old file's blocks to the block manager to
// forget and the datanodes to delete, while the refusal kept the file: it named blocks
// nobody held. A refusal releases nothing; a committed overwrite releases the old blocks.
TEST(QuotaTrackerTest, RefusedOverwriteOrRenameReleasesNoBlocks) {
  NamenodeHarness h(9);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q", 0, false).ok());
    ASSERT_TRUE(ns.Mkdirs(Super(), "/other", 0, false).ok());
    const InodeId old = PutInBlocks(ns, "/q/old", 1000);
    const uint64_t old_block = ns.GetFile(old)->blocks(0).block_id();
    ASSERT_TRUE(SetBytes(ns, "/q", 1500).ok());
    CreateArgs overwrite;
    overwrite.complete = true;
    overwrite.overwrite = true;
    overwrite.inline_data = std::string(2000, 'n');
    overwrite.replication = 1;
    overwrite.block_bytes = kBlock;
    ReleasedBlocks released;
    EXPECT_EQ(ns.Create(Super(), "/q/old", overwrite, &released).code(),
              StatusCode::kQuotaExceeded);
    EXPECT_TRUE(released.blocks.empty());
    ASSERT_TRUE(Put(ns, "/other/big", std::string(2000, 'b')).ok());
    EXPECT_EQ(ns.Rename(Super(), "/other/big", "/q/old", &released).code(),
              StatusCode::kQuotaExceeded);
    EXPECT_TRUE(released.blocks.empty());
    Result<proto::FileStatus> kept = ns.Stat(Super(), "/q/old");
    ASSERT_TRUE(kept.ok());
    EXPECT_EQ(kept->inode_id(), old.value());
    EXPECT_EQ(kept->length_bytes(), 1000u);
    EXPECT_EQ(ns.GetFile(old)->blocks(0).block_id(), old_block);
    EXPECT_EQ(Used(ns, "/q").bytes, 1000u);
    // Within the quota the overwrite commits, and only then are the old blocks released.
    overwrite.inline_data = std::string(1200, 'n');
    ASSERT_TRUE(ns.Create(Super(), "/q/old", overwrite, &released).ok());
    ASSERT_EQ(released.blocks.size(), 1u);
    EXPECT_EQ(released.blocks[0].block_id(), old_block);
    EXPECT_EQ(Used(ns, "/q").bytes, 1200u);
  });
}

TEST(QuotaTrackerTest, OnlyTheSuperuserSetsOrClears) {
  NamenodeHarness h(6);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/home/alice", 0777, true).ok());
    ASSERT_TRUE(ns.SetOwner(Super(), "/home/alice", "alice", "").ok());
    Status refused = ns.SetQuota(kAlice, "/home/alice", 10, std::nullopt, false);
    EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
    Result<Namespace::QuotaReport> report = ns.GetQuota(kAlice, "/home/alice");
    ASSERT_TRUE(report.ok());
    EXPECT_FALSE(report->has_quota);
    ASSERT_TRUE(ns.SetQuota(Super(), "/home/alice", 2, std::nullopt, false).ok());
    EXPECT_EQ(ns.SetQuota(kAlice, "/home/alice", std::nullopt, std::nullopt, true).code(),
              StatusCode::kPermissionDenied);
    ASSERT_TRUE(Put(ns, "/home/alice/one", "", 1, kAlice).ok());
    EXPECT_EQ(Put(ns, "/home/alice/two", "", 1, kAlice).code(), StatusCode::kQuotaExceeded);
    // Files take no quota; clearing lifts the limit.
    EXPECT_EQ(ns.SetQuota(Super(), "/home/alice/one", 5, std::nullopt, false).code(),
              StatusCode::kNotADirectory);
    ASSERT_TRUE(ns.SetQuota(Super(), "/home/alice", std::nullopt, std::nullopt, true).ok());
    EXPECT_TRUE(Put(ns, "/home/alice/two", "", 1, kAlice).ok());
    EXPECT_FALSE(ns.GetQuota(kAlice, "/home/alice")->has_quota);
  });
}

TEST(QuotaTrackerTest, UsageIsMeasuredAgainAfterARestart) {
  NamenodeHarness h(7);
  QuotaUsage before;
  h.Run([&](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q/d", 0, true).ok());
    ASSERT_TRUE(ns.SetQuota(Super(), "/q", 100, 1 << 20, false).ok());
    ASSERT_TRUE(Put(ns, "/q/d/f", std::string(700, 'f'), 3).ok());
    ASSERT_TRUE(OpenForWrite(ns, "/q/open", 1).ok());
    ASSERT_TRUE(ns.Mkdirs(Super(), "/gone/q2", 0, true).ok());
    ASSERT_TRUE(SetNames(ns, "/gone/q2", 5).ok());
    ASSERT_TRUE(ns.Delete(Super(), "/gone", true, nullptr).ok());
    before = Used(ns, "/q");
  });
  EXPECT_EQ(before.names, 4u);
  EXPECT_EQ(before.bytes, 2100u);
  h.Restart();
  h.Run([&](Namespace& ns) {
    Result<Namespace::QuotaReport> report = ns.GetQuota(Super(), "/q");
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->has_quota);
    EXPECT_EQ(report->state.names_max, 100u);
    EXPECT_EQ(report->state.bytes_max, 1u << 20);
    EXPECT_EQ(report->state.used.names, before.names);
    EXPECT_EQ(report->state.used.bytes, before.bytes);
    // The quota'd directory below a deleted one is not tracked.
    EXPECT_EQ(ns.quotas().Ids().size(), 1u);
  });
}

TEST(QuotaTrackerTest, ConcurrentCreatesNeverPassTheLimit) {
  NamenodeHarness h(8);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/q", 0, false).ok());
    ASSERT_TRUE(SetNames(ns, "/q", 11).ok());
  });
  int created = 0;
  int refused = 0;
  for (int w = 0; w < 8; ++w) {
    h.Spawn([&, w](Namespace& ns) {
      for (int i = 0; i < 5; ++i) {
        Result<proto::Inode> file =
            Put(ns, "/q/w" + std::to_string(w) + "-" + std::to_string(i), "x", 1);
        if (file.ok()) {
          ++created;
        } else {
          EXPECT_EQ(file.code(), StatusCode::kQuotaExceeded) << file.status().ToString();
          ++refused;
        }
      }
    });
  }
  h.sim().RunUntilIdle();
  EXPECT_EQ(created, 10);
  EXPECT_EQ(refused, 30);
  h.Run([](Namespace& ns) {
    EXPECT_EQ(Used(ns, "/q").names, 11u);
    Result<ListPage> listed = ns.List(Super(), "/q", "", 0);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->entries.size(), 10u);
  });
}

}  // namespace
}  // namespace granary
