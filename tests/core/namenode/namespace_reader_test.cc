#include "core/namenode/namespace_reader.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/namenode/inode_store.h"
#include "core/namenode/namespace.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::MakeUser;
using namenode_testing::NamenodeHarness;
using namenode_testing::Super;

ParsedPath Parse(std::string_view path) {
  Result<ParsedPath> parsed = ParsePath(path);
  EXPECT_TRUE(parsed.ok());
  return *parsed;
}

Result<proto::Inode> PutFile(Namespace& ns, std::string_view path, std::string data = "") {
  CreateArgs args;
  args.complete = true;
  args.inline_data = std::move(data);
  return ns.Create(Super(), path, args, nullptr);
}

// A reader of its own over the harness's store, with a directory cache.
struct ReaderFixture {
  explicit ReaderFixture(NamenodeHarness& h, uint32_t cache_entries = 4)
      : records(h.process().meta_store()) {
    options.directory_cache_entries = cache_entries;
    reader = std::make_unique<NamespaceReader>(records, options);
  }
  InodeStore records;
  NamespaceOptions options;
  std::unique_ptr<NamespaceReader> reader;
};

TEST(NamespaceReaderTest, ResolveStopsAtTheFirstMissingComponentOrAtAFile) {
  NamenodeHarness h(1);
  h.Run([&h](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/a/b", 0, true).ok());
    ASSERT_TRUE(PutFile(ns, "/a/b/f").ok());
    ReaderFixture f(h);
    Result<NamespaceReader::Chain> full = f.reader->Resolve(Parse("/a/b/f"), nullptr);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(full->inodes.size(), 4u);
    EXPECT_TRUE(full->found(Parse("/a/b/f")));
    EXPECT_EQ(InodeId(full->inodes[0].id()), kRootInodeId);
    for (size_t i = 1; i < full->inodes.size(); ++i) {
      EXPECT_EQ(full->inodes[i].parent_id(), full->inodes[i - 1].id());
    }
    Result<NamespaceReader::Chain> missing = f.reader->Resolve(Parse("/a/x/y"), nullptr);
    ASSERT_TRUE(missing.ok());
    EXPECT_EQ(missing->inodes.size(), 2u);
    EXPECT_FALSE(missing->blocked);
    Result<NamespaceReader::Chain> through = f.reader->Resolve(Parse("/a/b/f/g"), nullptr);
    ASSERT_TRUE(through.ok());
    EXPECT_TRUE(through->blocked);
    EXPECT_EQ(through->inodes.size(), 4u);
    EXPECT_TRUE(through->SameIds(*full));
    EXPECT_FALSE(missing->SameIds(*full));
    // Permission comes before the blocking file: eve may not search /a.
    // (A reader of its own: the chmod is not written through f's Commit, so f's cache may
    // not see it.)
    ASSERT_TRUE(ns.SetPermission(Super(), "/a", 0700).ok());
    ReaderFixture g(h, 0);
    Result<NamespaceReader::Chain> again = g.reader->Resolve(Parse("/a/b/f/g"), nullptr);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(g.reader->CheckTraverse(MakeUser("eve"), *again, 4, Parse("/a/b/f/g")).code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(g.reader->CheckTraverse(Super(), *again, 4, Parse("/a/b/f/g")).code(),
              StatusCode::kNotADirectory);
  });
}

// A write through Commit is seen by the next resolution even when the directory was cached;
// a view taken before it keeps resolving the old tree.
TEST(NamespaceReaderTest, CommitKeepsTheDirectoryCacheTrue) {
  NamenodeHarness h(2);
  h.Run([&h](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/d", 0, true).ok());
    ASSERT_TRUE(PutFile(ns, "/d/f", "old").ok());
    ReaderFixture f(h);
    ASSERT_TRUE(f.reader->Open(Super(), "/d/f").ok());  // /d is cached now
    std::shared_ptr<NamespaceReader::OpenView> before = f.reader->NewOpenView();
    // Move /d to /e by hand, through the reader's one door to the store.
    Result<proto::Inode> dir = f.records.GetEntry({kRootInodeId, "d"});
    ASSERT_TRUE(dir.ok());
    WriteBatch batch;
    InodeStore::DeleteEntry(batch, {kRootInodeId, "d"});
    dir->set_name("e");
    InodeStore::PutInode(batch, *dir);
    ASSERT_TRUE(f.reader->Commit(batch).ok());
    EXPECT_EQ(f.reader->Open(Super(), "/d/f").code(), StatusCode::kNotFound);
    Result<OpenResult> moved = f.reader->Open(Super(), "/e/f");
    ASSERT_TRUE(moved.ok());
    EXPECT_EQ(moved->inline_data, "old");
    EXPECT_TRUE(f.reader->Open(Super(), "/d/f", *before).ok()) << "the view is a point in time";
    EXPECT_EQ(f.reader->Open(Super(), "/e/f", *before).code(), StatusCode::kNotFound);
  });
}

TEST(NamespaceReaderTest, AncestorsFollowTheLocationRecords) {
  NamenodeHarness h(3);
  h.Run([&h](Namespace& ns) {
    ASSERT_TRUE(ns.Mkdirs(Super(), "/a/b", 0, true).ok());
    Result<proto::Inode> file = PutFile(ns, "/a/b/f");
    ASSERT_TRUE(file.ok());
    ReaderFixture f(h, 0);
    Result<std::vector<InodeId>> ids = f.reader->AncestorIds(InodeId(file->id()));
    ASSERT_TRUE(ids.ok());
    ASSERT_EQ(ids->size(), 4u);
    EXPECT_EQ(ids->front(), kRootInodeId);
    EXPECT_EQ(ids->back(), InodeId(file->id()));
    EXPECT_EQ((*ids)[1], InodeId(ns.Stat(Super(), "/a")->inode_id()));
    Result<proto::Inode> by_id = f.reader->ReadById(InodeId(file->id()));
    ASSERT_TRUE(by_id.ok());
    EXPECT_EQ(by_id->name(), "f");
    // Unlinking /a (as a recursive delete does) makes the file unreachable, not gone.
    ASSERT_TRUE(ns.Delete(Super(), "/a", true, nullptr).ok());
    EXPECT_EQ(f.reader->AncestorIds(InodeId(file->id())).code(), StatusCode::kNotFound);
    EXPECT_EQ(f.reader->GetFile(InodeId(file->id())).code(), StatusCode::kNotFound);
    EXPECT_TRUE(f.reader->ReadById(InodeId(file->id())).ok());
    EXPECT_TRUE(*f.reader->HasChildren(kRootInodeId) == false);
  });
}

TEST(NamespaceReaderTest, ListPagesAndStatuses) {
  NamenodeHarness h(4);
  h.Run([&h](Namespace& ns) {
    for (const char* name : {"/c", "/a", "/b"}) ASSERT_TRUE(PutFile(ns, name, "xy").ok());
    ReaderFixture f(h);
    Result<ListPage> first = f.reader->List(Super(), "/", "", 2);
    ASSERT_TRUE(first.ok());
    ASSERT_EQ(first->entries.size(), 2u);
    EXPECT_EQ(first->entries[0].name(), "a");
    EXPECT_EQ(first->entries[1].name(), "b");
    EXPECT_TRUE(first->has_more);
    Result<ListPage> rest = f.reader->List(Super(), "/", "b", 2);
    ASSERT_TRUE(rest.ok());
    ASSERT_EQ(rest->entries.size(), 1u);
    EXPECT_EQ(rest->entries[0].length_bytes(), 2u);
    EXPECT_FALSE(rest->has_more);
    Result<proto::FileStatus> status = f.reader->Stat(Super(), "/c");
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(status->inode_id(), ns.Stat(Super(), "/c")->inode_id());
  });
}

}  // namespace
}  // namespace granary
