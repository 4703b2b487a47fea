#include "core/namenode/namespace_writer.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/common/crc32c.h"
#include "core/namenode/id_allocator.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namespace.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::CheckStore;
using namenode_testing::MakeUser;
using namenode_testing::NamenodeHarness;
using namenode_testing::Super;

// A writer of its own (and the reader it writes through) over the harness's store, which
// holds only the root. Construct it on a namenode fiber.
struct WriterFixture {
  explicit WriterFixture(NamenodeHarness& h)
      : records(h.process().meta_store()),
        inode_ids(h.process().meta_store(), std::string(InodeStore::kInodeIdCounter),
                  kRootInodeId.value() + 1),
        quotas(records),
        reader(records, options),
        writer(h.process().env(), reader, options, inode_ids, counts, quotas) {
    EXPECT_TRUE(inode_ids.Load().ok());
  }
  InodeStore records;
  NamespaceOptions options;
  IdAllocator inode_ids;
  NamespaceCounts counts;
  QuotaTracker quotas;
  NamespaceReader reader;
  NamespaceWriter writer;
};

CreateArgs Complete(std::string data = "") {
  CreateArgs args;
  args.complete = true;
  args.inline_data = std::move(data);
  return args;
}

TEST(NamespaceWriterTest, MutationsCountWhatTheyCreateAndRemove) {
  NamenodeHarness h(1);
  h.Run([&h](Namespace&) {
    WriterFixture f(h);
    ASSERT_TRUE(f.writer.Mkdirs(Super(), "/a/b/c", 0, true).ok());
    EXPECT_EQ(f.counts.directories, 3u);
    Result<proto::Inode> file = f.writer.Create(Super(), "/a/b/c/f", Complete("hello"), nullptr);
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(f.counts.files, 1u);
    EXPECT_GT(InodeId(file->id()), kRootInodeId);
    EXPECT_EQ(file->length_bytes(), 5u);
    EXPECT_EQ(f.reader.Open(Super(), "/a/b/c/f")->inline_data, "hello");
    // Overwriting replaces the file in place: one file, a new inode.
    CreateArgs again = Complete("bye");
    again.overwrite = true;
    Result<proto::Inode> replaced = f.writer.Create(Super(), "/a/b/c/f", again, nullptr);
    ASSERT_TRUE(replaced.ok());
    EXPECT_NE(replaced->id(), file->id());
    EXPECT_EQ(f.counts.files, 1u);
    EXPECT_EQ(f.writer.Delete(Super(), "/a", false, nullptr).code(),
              StatusCode::kDirectoryNotEmpty);
    ASSERT_TRUE(f.writer.Delete(Super(), "/a/b/c/f", false, nullptr).ok());
    EXPECT_EQ(f.counts.files, 0u);
    // A non-empty directory goes at once and leaves its subtree to the orphan collector.
    ASSERT_TRUE(f.writer.Delete(Super(), "/a", true, nullptr).ok());
    EXPECT_EQ(f.counts.directories, 2u);
    Result<std::optional<InodeId>> orphan = f.records.FirstOrphan();
    ASSERT_TRUE(orphan.ok());
    ASSERT_TRUE(orphan->has_value());
    EXPECT_EQ(f.reader.Stat(Super(), "/a").code(), StatusCode::kNotFound);
  });
  CheckStore(h.Dump(), false);
}

TEST(NamespaceWriterTest, CreateRefusesArgumentsPastTheirLimits) {
  NamenodeHarness h(2);
  h.Run([&h](Namespace&) {
    WriterFixture f(h);
    CreateArgs replication = Complete();
    replication.replication = kReplicationMax + 1;
    EXPECT_EQ(f.writer.Create(Super(), "/f", replication, nullptr).code(),
              StatusCode::kInvalidArgument);
    CreateArgs block = Complete();
    block.block_bytes = kChecksumChunkBytes + 1;
    EXPECT_EQ(f.writer.Create(Super(), "/f", block, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(
        f.writer.Create(Super(), "/f", Complete(std::string(64 * 1024 + 1, 'x')), nullptr).code(),
        StatusCode::kInvalidArgument);
    CreateArgs open;  // left open without a client name
    EXPECT_EQ(f.writer.Create(Super(), "/f", open, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(f.counts.files, 0u);
    EXPECT_EQ(f.reader.Stat(Super(), "/f").code(), StatusCode::kNotFound);
  });
}

TEST(NamespaceWriterTest, RenameMovesTheInodeAndKeepsItsId) {
  NamenodeHarness h(3);
  h.Run([&h](Namespace&) {
    WriterFixture f(h);
    ASSERT_TRUE(f.writer.Mkdirs(Super(), "/src/d", 0, true).ok());
    ASSERT_TRUE(f.writer.Mkdirs(Super(), "/dst", 0, true).ok());
    Result<proto::Inode> file = f.writer.Create(Super(), "/src/d/f", Complete("x"), nullptr);
    ASSERT_TRUE(file.ok());
    const uint64_t dir_id = f.reader.Stat(Super(), "/src/d")->inode_id();
    ASSERT_TRUE(f.writer.Rename(Super(), "/src/d", "/dst/e", nullptr).ok());
    EXPECT_EQ(f.reader.Stat(Super(), "/dst/e")->inode_id(), dir_id);
    EXPECT_EQ(f.reader.Stat(Super(), "/dst/e/f")->inode_id(), file->id());
    EXPECT_EQ(f.reader.Stat(Super(), "/src/d").code(), StatusCode::kNotFound);
    // A directory may not move below itself.
    EXPECT_EQ(f.writer.Rename(Super(), "/dst", "/dst/e/g", nullptr).code(),
              StatusCode::kInvalidArgument);
    // Replacing a file drops the old one.
    ASSERT_TRUE(f.writer.Create(Super(), "/dst/e/g", Complete("y"), nullptr).ok());
    ASSERT_TRUE(f.writer.Rename(Super(), "/dst/e/g", "/dst/e/f", nullptr).ok());
    EXPECT_EQ(f.counts.files, 1u);
    EXPECT_EQ(f.reader.Open(Super(), "/dst/e/f")->inline_data, "y");
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceWriterTest, MutateFileEditsInPlaceAndWritesWhatTheMutationAdds) {
  NamenodeHarness h(4);
  h.Run([&h](Namespace&) {
    WriterFixture f(h);
    CreateArgs args;
    args.client_name = "writer-1";
    Result<proto::Inode> file = f.writer.Create(Super(), "/f", args, nullptr);
    ASSERT_TRUE(file.ok());
    Result<proto::Inode> grown =
        f.writer.MutateFile(InodeId(file->id()), [](proto::Inode& inode, WriteBatch& batch) {
          InodeStore::PutInline(batch, InodeId(inode.id()), "abc");
          inode.set_length_bytes(3);
          inode.set_inline_crc32c(Crc32c("abc"));
          inode.set_under_construction(false);
          return Status::Ok();
        });
    ASSERT_TRUE(grown.ok());
    EXPECT_EQ(f.reader.Open(Super(), "/f")->inline_data, "abc");
    // A failing mutation writes nothing.
    EXPECT_EQ(f.writer
                  .MutateFile(InodeId(file->id()),
                              [](proto::Inode& inode, WriteBatch&) {
                                inode.set_length_bytes(99);
                                return Status(StatusCode::kStale, "no");
                              })
                  .code(),
              StatusCode::kStale);
    EXPECT_EQ(f.reader.Stat(Super(), "/f")->length_bytes(), 3u);
    EXPECT_EQ(f.writer.MutateFile(kRootInodeId, nullptr).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(f.writer.MutateFile(InodeId(999999), nullptr).code(), StatusCode::kNotFound);
  });
}

TEST(NamespaceWriterTest, AttributeChangesFollowTheirPermissionRules) {
  NamenodeHarness h(5);
  h.Run([&h](Namespace&) {
    WriterFixture f(h);
    const User alice = MakeUser("alice", {"staff"});
    ASSERT_TRUE(f.writer.Mkdirs(Super(), "/home", 0777, true).ok());
    ASSERT_TRUE(f.writer.Create(alice, "/home/f", Complete(), nullptr).ok());
    ASSERT_TRUE(f.writer.SetPermission(alice, "/home/f", 0600).ok());
    EXPECT_EQ(f.reader.Stat(Super(), "/home/f")->mode(), 0600u);
    EXPECT_EQ(f.writer.SetPermission(MakeUser("bob"), "/home/f", 0777).code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(f.writer.SetOwner(alice, "/home/f", "bob", "").code(), StatusCode::kPermissionDenied);
    ASSERT_TRUE(f.writer.SetOwner(alice, "/home/f", "", "staff").ok());
    EXPECT_EQ(f.reader.Stat(Super(), "/home/f")->group(), "staff");
    Result<proto::Inode> replicated = f.writer.SetReplication(alice, "/home/f", 2);
    ASSERT_TRUE(replicated.ok());
    EXPECT_EQ(replicated->replication(), 2u);
    EXPECT_EQ(f.writer.SetReplication(Super(), "/home", 2).code(), StatusCode::kIsADirectory);
  });
}

}  // namespace
}  // namespace granary
