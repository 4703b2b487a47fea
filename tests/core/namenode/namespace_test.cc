#include "core/namenode/namespace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namespace std::chrono_literals;
using namenode_testing::CheckStore;
using namenode_testing::MakeUser;
using namenode_testing::NamenodeHarness;
using namenode_testing::SeedForTest;
using namenode_testing::Super;

const User kAlice = MakeUser("alice", {"staff"});
const User kBob = MakeUser("bob", {"staff"});
const User kEve = MakeUser("eve");
const User kMallory = MakeUser("mallory", {"nobody"});

// ---- helpers; call them on a namenode fiber (inside NamenodeHarness::Run) ----

Result<proto::Inode> Put(Namespace& ns, std::string_view path, std::string data = "",
                         const User& user = Super(), uint32_t mode = 0) {
  CreateArgs args;
  args.complete = true;
  args.inline_data = std::move(data);
  args.mode = mode;
  return ns.Create(user, path, args, nullptr);
}

Result<proto::Inode> OpenForWrite(Namespace& ns, std::string_view path, const std::string& client,
                                  const User& user = Super()) {
  CreateArgs args;
  args.client_name = client;
  return ns.Create(user, path, args, nullptr);
}

Status Mkdir(Namespace& ns, std::string_view path, const User& user = Super(), uint32_t mode = 0,
             bool parents = true) {
  return ns.Mkdirs(user, path, mode, parents);
}

StatusCode StatCode(Namespace& ns, std::string_view path, const User& user = Super()) {
  return ns.Stat(user, path).code();
}

// Gives file `id` `count` blocks (inode list and block records), as a writer would.
std::vector<uint64_t> AddBlocks(Namespace& ns, uint64_t id, int count) {
  std::vector<uint64_t> ids;
  Result<proto::Inode> done = ns.MutateFile(InodeId(id), [&](proto::Inode& inode, WriteBatch& b) {
    for (int i = 0; i < count; ++i) {
      Result<uint64_t> block_id = ns.block_ids().Next();
      if (!block_id.ok()) return block_id.status();
      proto::BlockRef* ref = inode.add_blocks();
      ref->set_block_id(*block_id);
      ref->set_generation_stamp(1);
      ref->set_length_bytes(1024);
      proto::StoredBlock stored;
      stored.set_inode_id(inode.id());
      *stored.mutable_block() = *ref;
      stored.set_replication(inode.replication());
      InodeStore::PutBlock(b, stored);
      ids.push_back(*block_id);
    }
    inode.set_inline_data(false);
    inode.set_length_bytes(inode.length_bytes() + 1024ull * count);
    return Status::Ok();
  });
  EXPECT_TRUE(done.ok()) << done.status().ToString();
  return ids;
}

size_t KeysWithTag(const std::vector<KeyValue>& dump, char tag) {
  return static_cast<size_t>(std::count_if(dump.begin(), dump.end(),
                                           [tag](const KeyValue& kv) { return kv.key[0] == tag; }));
}

void CollectAll(Namespace& ns, ReleasedBlocks* released, size_t budget = 1000) {
  for (int rounds = 0; rounds < 100000; ++rounds) {
    Result<size_t> removed = ns.CollectOrphans(budget, released);
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    if (*removed == 0) return;
  }
  FAIL() << "CollectOrphans never finished";
}

// ================================ mkdirs ================================

TEST(NamespaceTest, NewStoreHasOnlyTheRoot) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    Result<proto::FileStatus> root = ns.Stat(Super(), "/");
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(root->type(), proto::INODE_TYPE_DIRECTORY);
    EXPECT_EQ(root->inode_id(), kRootInodeId.value());
    EXPECT_EQ(root->owner(), "granary");
    EXPECT_EQ(root->mode(), kDirectoryModeDefault);
    EXPECT_EQ(ns.counts().files, 0u);
    EXPECT_EQ(ns.counts().directories, 0u);
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceTest, MkdirsCreatesParentsOnlyWhenAsked) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    EXPECT_EQ(Mkdir(ns, "/a/b/c", Super(), 0, false).code(), StatusCode::kNotFound);
    EXPECT_EQ(StatCode(ns, "/a"), StatusCode::kNotFound);
    EXPECT_TRUE(Mkdir(ns, "/a/b/c", Super(), 0, true).ok());
    for (const char* p : {"/a", "/a/b", "/a/b/c"}) {
      Result<proto::FileStatus> s = ns.Stat(Super(), p);
      ASSERT_TRUE(s.ok()) << p;
      EXPECT_EQ(s->type(), proto::INODE_TYPE_DIRECTORY);
    }
    EXPECT_TRUE(Mkdir(ns, "/a/b/c/d", Super(), 0, false).ok());  // parent exists
    EXPECT_EQ(ns.counts().directories, 4u);
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceTest, MkdirsOfExistingDirectoryIsOkOfExistingFileIsNot) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/d").ok());
    EXPECT_TRUE(Mkdir(ns, "/d").ok());
    EXPECT_TRUE(Mkdir(ns, "/d", Super(), 0, false).ok());
    EXPECT_TRUE(Mkdir(ns, "/").ok());
    ASSERT_TRUE(Put(ns, "/f").ok());
    EXPECT_EQ(Mkdir(ns, "/f").code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(Mkdir(ns, "/f/x").code(), StatusCode::kNotADirectory);
    EXPECT_EQ(Mkdir(ns, "/f/x/y").code(), StatusCode::kNotADirectory);
    EXPECT_EQ(Mkdir(ns, "/f/x", Super(), 0, false).code(), StatusCode::kNotADirectory);
    EXPECT_EQ(ns.counts().directories, 1u);
    EXPECT_EQ(ns.counts().files, 1u);
  });
}

TEST(NamespaceTest, MkdirsModeOwnerAndInheritedGroup) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/home", Super(), 0777).ok());
    ASSERT_TRUE(ns.SetOwner(Super(), "/home", "", "staff").ok());
    ASSERT_TRUE(Mkdir(ns, "/home/alice", kAlice, 0).ok());
    ASSERT_TRUE(Mkdir(ns, "/home/alice/x", kAlice, 0700).ok());
    Result<proto::FileStatus> dflt = ns.Stat(kAlice, "/home/alice");
    ASSERT_TRUE(dflt.ok());
    EXPECT_EQ(dflt->mode(), kDirectoryModeDefault);
    EXPECT_EQ(dflt->owner(), "alice");
    EXPECT_EQ(dflt->group(), "staff");  // the directory's group, not the user's
    Result<proto::FileStatus> x = ns.Stat(kAlice, "/home/alice/x");
    ASSERT_TRUE(x.ok());
    EXPECT_EQ(x->mode(), 0700u);
    EXPECT_EQ(Mkdir(ns, "/m", Super(), 010000).code(), StatusCode::kInvalidArgument);
  });
}

// ================================ create ================================

TEST(NamespaceTest, CreateRespectsTheOverwriteFlag) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    Result<proto::Inode> first = Put(ns, "/f", "one");
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(Put(ns, "/f", "two").code(), StatusCode::kAlreadyExists);
    CreateArgs args;
    args.complete = true;
    args.overwrite = true;
    args.inline_data = "three";
    Result<proto::Inode> second = ns.Create(Super(), "/f", args, nullptr);
    ASSERT_TRUE(second.ok());
    EXPECT_NE(second->id(), first->id());
    Result<Namespace::OpenResult> open = ns.Open(Super(), "/f");
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open->inline_data, "three");
    EXPECT_EQ(ns.counts().files, 1u);
    // The old inode is gone by id too.
    EXPECT_EQ(ns.GetFile(InodeId(first->id())).code(), StatusCode::kNotFound);
    // Overwrite never replaces a directory, nor creates the root.
    ASSERT_TRUE(Mkdir(ns, "/d").ok());
    EXPECT_EQ(ns.Create(Super(), "/d", args, nullptr).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.Create(Super(), "/", args, nullptr).code(), StatusCode::kIsADirectory);
  });
  std::vector<KeyValue> dump = h.Dump();
  CheckStore(dump, true);
  EXPECT_EQ(KeysWithTag(dump, 'x'), 1u);  // the first file's inline bytes went with it
}

TEST(NamespaceTest, CreateOverwriteReleasesTheOldBlocks) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    Result<proto::Inode> big = Put(ns, "/f");
    ASSERT_TRUE(big.ok());
    const std::vector<uint64_t> blocks = AddBlocks(ns, big->id(), 3);
    CreateArgs args;
    args.complete = true;
    args.overwrite = true;
    ReleasedBlocks released;
    ASSERT_TRUE(ns.Create(Super(), "/f", args, &released).ok());
    std::vector<uint64_t> got;
    for (const proto::BlockRef& b : released.blocks) got.push_back(b.block_id());
    EXPECT_EQ(got, blocks);
  });
  std::vector<KeyValue> dump = h.Dump();
  CheckStore(dump, true);
  EXPECT_EQ(KeysWithTag(dump, 'b'), 0u);
}

TEST(NamespaceTest, CreateValidatesReplicationAndBlockSize) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    auto create = [&](uint32_t replication, uint64_t block_bytes) {
      CreateArgs args;
      args.complete = true;
      args.overwrite = true;
      args.replication = replication;
      args.block_bytes = block_bytes;
      return ns.Create(Super(), "/f", args, nullptr);
    };
    Result<proto::Inode> dflt = create(0, 0);
    ASSERT_TRUE(dflt.ok());
    EXPECT_EQ(dflt->replication(), ns.options().default_replication);
    EXPECT_EQ(dflt->block_bytes(), ns.options().default_block_bytes);
    EXPECT_TRUE(create(1, 0).ok());
    EXPECT_EQ(create(kReplicationMax, 0)->replication(), kReplicationMax);
    EXPECT_EQ(create(kReplicationMax + 1, 0).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(create(3, kChecksumChunkBytes)->block_bytes(), kChecksumChunkBytes);
    EXPECT_TRUE(create(3, kBlockBytesMax).ok());
    EXPECT_EQ(create(3, 1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(create(3, kChecksumChunkBytes - 1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(create(3, kChecksumChunkBytes + 1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(create(3, kBlockBytesMax + kChecksumChunkBytes).code(), StatusCode::kInvalidArgument);
  });
}

TEST(NamespaceTest, InlineDataUpToTheThreshold) {
  NamespaceOptions options;
  options.inline_threshold_bytes = 1024;
  NamenodeHarness h(1, options);
  h.Run([](Namespace& ns) {
    const std::string full(1024, 'z');
    Result<proto::Inode> f = Put(ns, "/full", full);
    ASSERT_TRUE(f.ok());
    EXPECT_TRUE(f->inline_data());
    EXPECT_EQ(f->length_bytes(), 1024u);
    Result<Namespace::OpenResult> open = ns.Open(Super(), "/full");
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open->inline_data, full);
    EXPECT_EQ(Put(ns, "/over", full + "z").code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(StatCode(ns, "/over"), StatusCode::kNotFound);
    ASSERT_TRUE(Put(ns, "/empty").ok());
    Result<Namespace::OpenResult> empty = ns.Open(Super(), "/empty");
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(empty->inline_data, "");
    EXPECT_TRUE(empty->inode.inline_data());
  });
}

TEST(NamespaceTest, ThresholdZeroMeansNoInlineFiles) {
  NamespaceOptions options;
  options.inline_threshold_bytes = 0;
  NamenodeHarness h(1, options);
  h.Run([](Namespace& ns) {
    Result<proto::Inode> f = Put(ns, "/f");
    ASSERT_TRUE(f.ok());
    EXPECT_FALSE(f->inline_data());
    EXPECT_EQ(Put(ns, "/g", "x").code(), StatusCode::kInvalidArgument);
  });
  EXPECT_EQ(KeysWithTag(h.Dump(), 'x'), 0u);
}

TEST(NamespaceTest, CompleteVersusUnderConstruction) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    CreateArgs args;  // not complete, no client
    EXPECT_EQ(ns.Create(Super(), "/f", args, nullptr).code(), StatusCode::kInvalidArgument);
    args.client_name = std::string(kNameBytesMax + 1, 'c');
    EXPECT_EQ(ns.Create(Super(), "/f", args, nullptr).code(), StatusCode::kInvalidArgument);
    Result<proto::Inode> open = OpenForWrite(ns, "/f", "client-1");
    ASSERT_TRUE(open.ok());
    EXPECT_TRUE(open->under_construction());
    EXPECT_EQ(open->lease_holder(), "client-1");
    Result<proto::FileStatus> s = ns.Stat(Super(), "/f");
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(s->under_construction());
    // Another client may not overwrite a file being written; its own writer may.
    CreateArgs over;
    over.overwrite = true;
    over.client_name = "client-2";
    EXPECT_EQ(ns.Create(Super(), "/f", over, nullptr).code(), StatusCode::kLeaseConflict);
    over.client_name = "client-1";
    EXPECT_TRUE(ns.Create(Super(), "/f", over, nullptr).ok());
    Result<proto::Inode> done = Put(ns, "/g", "data");
    ASSERT_TRUE(done.ok());
    EXPECT_FALSE(done->under_construction());
    EXPECT_EQ(done->lease_holder(), "");
  });
}

TEST(NamespaceTest, CreateNeedsItsParentUnlessAskedToMakeIt) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    EXPECT_EQ(Put(ns, "/a/b/f").code(), StatusCode::kNotFound);
    CreateArgs args;
    args.complete = true;
    args.create_parents = true;
    ASSERT_TRUE(ns.Create(Super(), "/a/b/f", args, nullptr).ok());
    EXPECT_EQ(ns.Stat(Super(), "/a/b")->type(), proto::INODE_TYPE_DIRECTORY);
    EXPECT_EQ(ns.counts().directories, 2u);
    EXPECT_EQ(ns.counts().files, 1u);
  });
}

// Regression: with create_parents, a parent that is a file gave kAlreadyExists (from the
// implicit mkdirs) instead of kNotADirectory as without the flag.
TEST(NamespaceTest, CreateParentsUnderAFileIsNotADirectory) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/f").ok());
    CreateArgs args;
    args.complete = true;
    EXPECT_EQ(ns.Create(Super(), "/f/x", args, nullptr).code(), StatusCode::kNotADirectory);
    args.create_parents = true;
    EXPECT_EQ(ns.Create(Super(), "/f/x", args, nullptr).code(), StatusCode::kNotADirectory);
    EXPECT_EQ(ns.Create(Super(), "/f/x/y", args, nullptr).code(), StatusCode::kNotADirectory);
  });
}

// ================================ open, stat, list ================================

TEST(NamespaceTest, OpenReturnsInlineBytesAndRefusesDirectories) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/f", "hello").ok());
    Result<Namespace::OpenResult> open = ns.Open(Super(), "/f");
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(open->inline_data, "hello");
    EXPECT_EQ(open->inode.length_bytes(), 5u);
    ASSERT_TRUE(Mkdir(ns, "/d").ok());
    EXPECT_EQ(ns.Open(Super(), "/d").code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.Open(Super(), "/").code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.Open(Super(), "/nope").code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.Open(Super(), "/f/x").code(), StatusCode::kNotADirectory);
  });
}

TEST(NamespaceTest, OpenOnAViewAnswersAsOpenForEveryUserAndPath) {
  NamenodeHarness h(SeedForTest());
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.SetPermission(Super(), "/", 0777).ok());
    ASSERT_TRUE(Mkdir(ns, "/open", kAlice, 0755).ok());
    ASSERT_TRUE(Mkdir(ns, "/closed", kAlice, 0700).ok());
    ASSERT_TRUE(Mkdir(ns, "/open/deep/er", kAlice, 0711).ok());
    ASSERT_TRUE(Put(ns, "/open/f", "public", kAlice, 0644).ok());
    ASSERT_TRUE(Put(ns, "/open/private", "mine", kAlice, 0600).ok());
    ASSERT_TRUE(Put(ns, "/open/empty", "", kAlice, 0644).ok());
    ASSERT_TRUE(Put(ns, "/closed/f", "hidden", kAlice, 0644).ok());
    ASSERT_TRUE(Put(ns, "/open/deep/er/g", "deep", kAlice, 0644).ok());
    Result<proto::Inode> blocks = Put(ns, "/open/blocks", "", kAlice, 0644);
    ASSERT_TRUE(blocks.ok());
    AddBlocks(ns, blocks->id(), 2);
    const std::vector<std::string> paths = {"/open/f",
                                            "/open/private",
                                            "/open/empty",
                                            "/closed/f",
                                            "/closed/none",
                                            "/open/deep/er/g",
                                            "/open/blocks",
                                            "/open/missing",
                                            "/open/f/x",
                                            "/open",
                                            "/",
                                            "/none/x",
                                            "relative",
                                            "/open//f/",
                                            "/open/deep/er/none",
                                            "/closed",
                                            "/open/blocks/x",
                                            std::string("/open/\0", 7)};
    std::shared_ptr<Namespace::OpenView> view = ns.NewOpenView();
    // Twice over the same view: the second pass answers from resolved directories.
    for (int pass = 0; pass < 2; ++pass) {
      for (const User& user : {Super(), kAlice, kBob, kEve}) {
        for (const std::string& path : paths) {
          SCOPED_TRACE(user.user() + " " + path + " pass " + std::to_string(pass));
          Result<Namespace::OpenResult> alone = ns.Open(user, path);
          Result<Namespace::OpenResult> viewed = ns.Open(user, path, *view);
          EXPECT_EQ(viewed.status(), alone.status());
          if (alone.ok() && viewed.ok()) {
            EXPECT_EQ(viewed->inline_data, alone->inline_data);
            EXPECT_EQ(viewed->inode.SerializeAsString(), alone->inode.SerializeAsString());
          }
        }
      }
    }
    EXPECT_EQ(ns.Open(kEve, "/open/f", *view)->inline_data, "public");
    EXPECT_EQ(ns.Open(kEve, "/closed/f", *view).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Open(kAlice, "/open/f/x", *view).code(), StatusCode::kNotADirectory);

    // The view is one point in time: later changes are not in it.
    CreateArgs overwrite;
    overwrite.complete = true;
    overwrite.overwrite = true;
    overwrite.inline_data = "changed";
    ASSERT_TRUE(ns.Create(kAlice, "/open/f", overwrite, nullptr).ok());
    ASSERT_TRUE(ns.Delete(kAlice, "/open/deep", true, nullptr).ok());
    EXPECT_EQ(ns.Open(kEve, "/open/f", *view)->inline_data, "public");
    EXPECT_EQ(ns.Open(kEve, "/open/deep/er/g", *view)->inline_data, "deep");
    EXPECT_EQ(ns.Open(kEve, "/open/f")->inline_data, "changed");
    EXPECT_EQ(ns.Open(kEve, "/open/deep/er/g").code(), StatusCode::kNotFound);
  });
}

// With the directory cache on, every resolution after a rename, delete, chmod or chown of
// a directory sees the change, while an OpenView taken before it still sees its own instant.
TEST(NamespaceTest, DirectoryCacheFollowsEveryChange) {
  NamespaceOptions options;
  options.directory_cache_entries = 16;
  NamenodeHarness h(1, options);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/a/b", Super(), 0755).ok());
    ASSERT_TRUE(Put(ns, "/a/b/f", "one", Super(), 0644).ok());
    // Twice: the second resolution answers from the cache.
    EXPECT_EQ(ns.Open(kAlice, "/a/b/f")->inline_data, "one");
    EXPECT_EQ(ns.Open(kAlice, "/a/b/f")->inline_data, "one");
    std::shared_ptr<Namespace::OpenView> before = ns.NewOpenView();

    ASSERT_TRUE(ns.Rename(Super(), "/a", "/c", nullptr).ok());
    EXPECT_EQ(ns.Open(kAlice, "/a/b/f").code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f")->inline_data, "one");
    EXPECT_EQ(ns.Open(kAlice, "/a/b/f", *before)->inline_data, "one");
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f", *before).code(), StatusCode::kNotFound);

    ASSERT_TRUE(ns.SetPermission(Super(), "/c/b", 0700).ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Stat(Super(), "/c/b")->mode(), 0700u);
    ASSERT_TRUE(ns.SetOwner(Super(), "/c/b", "alice", "staff").ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f")->inline_data, "one");
    EXPECT_EQ(ns.Open(kBob, "/c/b/f").code(), StatusCode::kPermissionDenied);

    ASSERT_TRUE(ns.Delete(Super(), "/c", true, nullptr).ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f").code(), StatusCode::kNotFound);
    ASSERT_TRUE(Mkdir(ns, "/c/b", Super(), 0755).ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f").code(), StatusCode::kNotFound);
    ASSERT_TRUE(Put(ns, "/c/b/f", "two", Super(), 0644).ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f")->inline_data, "two");
    // A directory replaced by a file of the same name.
    ASSERT_TRUE(ns.Delete(Super(), "/c/b", true, nullptr).ok());
    ASSERT_TRUE(Put(ns, "/c/b", "file", Super(), 0644).ok());
    EXPECT_EQ(ns.Open(kAlice, "/c/b/f").code(), StatusCode::kNotADirectory);
    EXPECT_EQ(ns.Open(kAlice, "/c/b")->inline_data, "file");
  });
}

TEST(NamespaceTest, InlineBytesThatFailTheirChecksumAreCorrupt) {
  NamenodeHarness h(1);
  h.Run([&h](Namespace& ns) {
    Result<proto::Inode> file = Put(ns, "/f", "hello world");
    ASSERT_TRUE(file.ok());
    EXPECT_TRUE(file->has_inline_crc32c());
    EXPECT_EQ(ns.Open(Super(), "/f")->inline_data, "hello world");
    // One flipped bit of the stored bytes, the length unchanged.
    WriteBatch rot;
    InodeStore::PutInline(rot, InodeId(file->id()), "hello wosld");
    ASSERT_TRUE(h.store().Write(rot).ok());
    Result<Namespace::OpenResult> opened = ns.Open(Super(), "/f");
    EXPECT_EQ(opened.code(), StatusCode::kCorruption);
    EXPECT_EQ(opened.status().message(), "inline data of /f fails its checksum");
    std::shared_ptr<Namespace::OpenView> view = ns.NewOpenView();
    EXPECT_EQ(ns.Open(Super(), "/f", *view).status(), opened.status());
    // And bytes of another length.
    WriteBatch shorter;
    InodeStore::PutInline(shorter, InodeId(file->id()), "hello");
    ASSERT_TRUE(h.store().Write(shorter).ok());
    EXPECT_EQ(ns.Open(Super(), "/f").code(), StatusCode::kCorruption);
  });
}

TEST(NamespaceTest, StatReportsAttributes) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    CreateArgs args;
    args.complete = true;
    args.inline_data = "abc";
    args.mode = 0600;
    args.replication = 2;
    Result<proto::Inode> f = ns.Create(kAlice, "/f", args, nullptr);
    ASSERT_EQ(f.code(), StatusCode::kPermissionDenied);  // the root is 0755 granary
    ASSERT_TRUE(ns.SetPermission(Super(), "/", 0777).ok());
    f = ns.Create(kAlice, "/f", args, nullptr);
    ASSERT_TRUE(f.ok());
    Result<proto::FileStatus> s = ns.Stat(kBob, "/f");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->name(), "f");
    EXPECT_EQ(s->inode_id(), f->id());
    EXPECT_EQ(s->type(), proto::INODE_TYPE_FILE);
    EXPECT_EQ(s->owner(), "alice");
    EXPECT_EQ(s->group(), "supergroup");
    EXPECT_EQ(s->mode(), 0600u);
    EXPECT_EQ(s->length_bytes(), 3u);
    EXPECT_EQ(s->replication(), 2u);
    EXPECT_TRUE(s->inline_data());
    EXPECT_FALSE(s->under_construction());
    EXPECT_EQ(StatCode(ns, "/g"), StatusCode::kNotFound);
    EXPECT_EQ(StatCode(ns, "/f/g"), StatusCode::kNotADirectory);
    EXPECT_EQ(StatCode(ns, "//f/"), StatusCode::kOk);
  });
}

TEST(NamespaceTest, ListPagesOverALargeDirectory) {
  const uint64_t seed = SeedForTest();
  SCOPED_TRACE("seed " + std::to_string(seed));
  NamenodeHarness h(seed);
  constexpr int kEntries = 2500;
  std::vector<std::string> names;
  for (int i = 0; i < kEntries; ++i) names.push_back("entry-" + std::to_string(i));
  std::sort(names.begin(), names.end());
  h.Run([&](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/big").ok());
    for (int i = 0; i < kEntries; ++i) {
      const std::string path = "/big/entry-" + std::to_string(i);
      ASSERT_TRUE(i % 10 == 0 ? Mkdir(ns, path).ok() : Put(ns, path).ok());
    }
    for (uint32_t limit : {1u, 7u, 999u, 1000u, 0u, 5000u, 2500u}) {
      SCOPED_TRACE("limit " + std::to_string(limit));
      const uint32_t effective =
          limit == 0 || limit > kListPageEntriesMax ? kListPageEntriesMax : limit;
      std::vector<std::string> seen;
      std::string after;
      for (int pages = 0;; ++pages) {
        ASSERT_LT(pages, kEntries + 1);
        Result<Namespace::ListPage> page = ns.List(Super(), "/big", after, limit);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        const size_t remaining = names.size() - seen.size();
        EXPECT_EQ(page->entries.size(), std::min<size_t>(effective, remaining));
        EXPECT_EQ(page->has_more, remaining > effective);
        for (const proto::FileStatus& s : page->entries) seen.push_back(s.name());
        if (!page->has_more) break;
        after = page->entries.back().name();
      }
      EXPECT_EQ(seen, names);
    }
    // start_after need not be an existing name.
    Result<Namespace::ListPage> mid = ns.List(Super(), "/big", "entry-1~", 3);
    ASSERT_TRUE(mid.ok());
    ASSERT_EQ(mid->entries.size(), 3u);
    EXPECT_EQ(mid->entries[0].name(), "entry-2");
    Result<Namespace::ListPage> end = ns.List(Super(), "/big", "zzz", 3);
    ASSERT_TRUE(end.ok());
    EXPECT_TRUE(end->entries.empty());
    EXPECT_FALSE(end->has_more);
  });
}

TEST(NamespaceTest, ListOfAFileIsTheFileAndOfAnEmptyDirectoryIsEmpty) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/d/f", "", Super()).code() == StatusCode::kNotFound);
    ASSERT_TRUE(Mkdir(ns, "/d").ok());
    Result<Namespace::ListPage> empty = ns.List(Super(), "/d", "", 10);
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->entries.empty());
    EXPECT_FALSE(empty->has_more);
    ASSERT_TRUE(Put(ns, "/d/f", "xy").ok());
    Result<Namespace::ListPage> file = ns.List(Super(), "/d/f", "", 10);
    ASSERT_TRUE(file.ok());
    ASSERT_EQ(file->entries.size(), 1u);
    EXPECT_EQ(file->entries[0].name(), "f");
    EXPECT_EQ(file->entries[0].length_bytes(), 2u);
    EXPECT_FALSE(file->has_more);
    EXPECT_EQ(ns.List(Super(), "/nope", "", 10).code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.List(Super(), "/d", std::string(kNameBytesMax + 1, 'a'), 10).code(),
              StatusCode::kNameTooLong);
  });
}

// ================================ delete ================================

TEST(NamespaceTest, DeleteFilesAndDirectories) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/f", "data").ok());
    ASSERT_TRUE(Mkdir(ns, "/empty").ok());
    ASSERT_TRUE(Put(ns, "/full/child", "", Super()).code() == StatusCode::kNotFound);
    ASSERT_TRUE(Mkdir(ns, "/full").ok());
    ASSERT_TRUE(Put(ns, "/full/child").ok());
    EXPECT_EQ(ns.counts().files, 2u);
    EXPECT_EQ(ns.counts().directories, 2u);

    EXPECT_TRUE(ns.Delete(Super(), "/f", false, nullptr).ok());
    EXPECT_EQ(StatCode(ns, "/f"), StatusCode::kNotFound);
    EXPECT_EQ(ns.Delete(Super(), "/f", false, nullptr).code(), StatusCode::kNotFound);
    EXPECT_TRUE(ns.Delete(Super(), "/empty", false, nullptr).ok());
    EXPECT_EQ(ns.Delete(Super(), "/full", false, nullptr).code(), StatusCode::kDirectoryNotEmpty);
    EXPECT_EQ(StatCode(ns, "/full/child"), StatusCode::kOk);
    EXPECT_EQ(ns.Delete(Super(), "/", true, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Delete(Super(), "//", false, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Delete(Super(), "/full/child/x", false, nullptr).code(),
              StatusCode::kNotADirectory);
    EXPECT_EQ(ns.counts().files, 1u);
    EXPECT_EQ(ns.counts().directories, 1u);
    EXPECT_TRUE(ns.Delete(Super(), "/full", true, nullptr).ok());
  });
  ReleasedBlocks released;
  h.Run([&](Namespace& ns) { CollectAll(ns, &released); });
  EXPECT_EQ(h.ns().counts().files, 0u);
  EXPECT_EQ(h.ns().counts().directories, 0u);
  std::vector<KeyValue> dump = h.Dump();
  CheckStore(dump, true);
  EXPECT_EQ(KeysWithTag(dump, 'e'), 1u);
  EXPECT_EQ(KeysWithTag(dump, 'x'), 0u);
}

// Builds /d with nested directories, inline files and a file with blocks; returns the
// block ids and the ids of every inode below /d.
struct Subtree {
  std::vector<uint64_t> blocks;
  std::vector<uint64_t> inodes;
  uint64_t block_file = 0;
};
Subtree BuildSubtree(Namespace& ns, const std::string& root, int fanout) {
  Subtree t;
  EXPECT_TRUE(Mkdir(ns, root).ok());
  for (int i = 0; i < fanout; ++i) {
    const std::string dir = root + "/dir" + std::to_string(i);
    EXPECT_TRUE(Mkdir(ns, dir + "/deeper/deepest").ok());
    for (int j = 0; j < fanout; ++j) {
      Result<proto::Inode> f = Put(ns, dir + "/file" + std::to_string(j), "inline-" + dir);
      EXPECT_TRUE(f.ok());
      if (f.ok()) t.inodes.push_back(f->id());
      Result<proto::Inode> g = Put(ns, dir + "/deeper/deepest/g" + std::to_string(j), "x");
      EXPECT_TRUE(g.ok());
    }
  }
  Result<proto::Inode> big = Put(ns, root + "/dir0/deeper/big");
  EXPECT_TRUE(big.ok());
  t.block_file = big->id();
  t.blocks = AddBlocks(ns, big->id(), 5);
  return t;
}

TEST(NamespaceTest, RecursiveDeleteHidesTheSubtreeAtOnceAndCollectionRemovesEveryKey) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) { ASSERT_TRUE(Put(ns, "/keep", "kept").ok()); });
  const std::vector<KeyValue> before = h.Dump();
  const NamespaceCounts counts_before = h.ns().counts();
  Subtree tree;
  h.Run([&](Namespace& ns) { tree = BuildSubtree(ns, "/d", 4); });
  const std::vector<KeyValue> built = h.Dump();
  EXPECT_GT(KeysWithTag(built, 'b'), 0u);
  EXPECT_GT(KeysWithTag(built, 'x'), 1u);

  // A reader running beside the delete sees the whole tree or none of it.
  std::vector<StatusCode> reader_saw;
  h.Spawn([&](Namespace& ns) {
    for (int i = 0; i < 50; ++i) {
      const StatusCode top = StatCode(ns, "/d");
      const StatusCode deep = StatCode(ns, "/d/dir3/deeper/deepest/g3");
      reader_saw.push_back(top);
      if (top == StatusCode::kNotFound) {
        // Later reads must agree: nothing below reappears.
        EXPECT_EQ(deep, StatusCode::kNotFound);
      }
    }
  });
  h.Run([&](Namespace& ns) {
    ASSERT_TRUE(ns.Delete(Super(), "/d", true, nullptr).ok());
    EXPECT_EQ(StatCode(ns, "/d"), StatusCode::kNotFound);
    EXPECT_EQ(StatCode(ns, "/d/dir0/file0"), StatusCode::kNotFound);
    EXPECT_EQ(ns.Open(Super(), "/d/dir1/deeper/deepest/g1").code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.List(Super(), "/d/dir2", "", 0).code(), StatusCode::kNotFound);
    Result<Namespace::ListPage> root = ns.List(Super(), "/", "", 0);
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(root->entries.size(), 1u);
    EXPECT_EQ(root->entries[0].name(), "keep");
    // By id, too: writers of files below lose them at once.
    for (uint64_t id : tree.inodes) {
      EXPECT_EQ(ns.MutateFile(InodeId(id), [](proto::Inode&, WriteBatch&) { return Status::Ok(); })
                    .code(),
                StatusCode::kNotFound);
    }
  });
  CheckStore(h.Dump(), false);

  ReleasedBlocks released;
  h.Run([&](Namespace& ns) { CollectAll(ns, &released, 3); });
  std::vector<uint64_t> released_ids;
  for (const proto::BlockRef& b : released.blocks) released_ids.push_back(b.block_id());
  std::sort(released_ids.begin(), released_ids.end());
  EXPECT_EQ(released_ids, tree.blocks);
  // Everything of the subtree is gone: the store is what it was before, but for the id
  // reservation counters.
  std::vector<KeyValue> after = h.Dump();
  auto without_counters = [](std::vector<KeyValue> kvs) {
    kvs.erase(
        std::remove_if(kvs.begin(), kvs.end(), [](const KeyValue& kv) { return kv.key[0] == 'm'; }),
        kvs.end());
    return kvs;
  };
  EXPECT_EQ(without_counters(after), without_counters(before));
  EXPECT_EQ(h.ns().counts().files, counts_before.files);
  EXPECT_EQ(h.ns().counts().directories, counts_before.directories);
  EXPECT_EQ(reader_saw.size(), 50u);
}

TEST(NamespaceTest, CountsFollowRecursiveDeleteThroughCollection) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    (void)BuildSubtree(ns, "/d", 3);
    const NamespaceCounts full = ns.counts();
    EXPECT_EQ(full.directories, 1u + 3 * 3);
    EXPECT_EQ(full.files, 3u * 3 * 2 + 1);
    ASSERT_TRUE(ns.Delete(Super(), "/d", true, nullptr).ok());
    CollectAll(ns, nullptr, 2);
    EXPECT_EQ(ns.counts().files, 0u);
    EXPECT_EQ(ns.counts().directories, 0u);
  });
  CheckStore(h.Dump(), true);
}

// ================================ rename ================================

TEST(NamespaceTest, RenameFileAndDirectory) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/f", "data").ok());
    ASSERT_TRUE(Mkdir(ns, "/a/b").ok());
    ASSERT_TRUE(Put(ns, "/a/b/g", "gee").ok());
    EXPECT_TRUE(ns.Rename(Super(), "/f", "/a/f2", nullptr).ok());
    EXPECT_EQ(StatCode(ns, "/f"), StatusCode::kNotFound);
    EXPECT_EQ(ns.Open(Super(), "/a/f2")->inline_data, "data");
    EXPECT_TRUE(ns.Rename(Super(), "/a", "/z", nullptr).ok());
    EXPECT_EQ(StatCode(ns, "/a"), StatusCode::kNotFound);
    EXPECT_EQ(ns.Open(Super(), "/z/b/g")->inline_data, "gee");
    EXPECT_EQ(ns.Open(Super(), "/z/f2")->inline_data, "data");
    EXPECT_EQ(ns.counts().files, 2u);
    EXPECT_EQ(ns.counts().directories, 2u);
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceTest, RenameIntoItsOwnSubtreeIsRefused) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/a/b/c").ok());
    EXPECT_EQ(ns.Rename(Super(), "/a", "/a/x", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/a", "/a/b/c/x", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/a/b", "/a/b/c", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/", "/x", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/a", "/", nullptr).code(), StatusCode::kInvalidArgument);
    // A name that merely starts the same is not below.
    EXPECT_TRUE(ns.Rename(Super(), "/a/b", "/a/bb", nullptr).ok());
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceTest, RenameOverExistingTargetsFollowsPosix) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/f1", "one").ok());
    Result<proto::Inode> f2 = Put(ns, "/f2", "");
    ASSERT_TRUE(f2.ok());
    const std::vector<uint64_t> blocks = AddBlocks(ns, f2->id(), 2);
    ASSERT_TRUE(Mkdir(ns, "/d1").ok());
    ASSERT_TRUE(Mkdir(ns, "/d2").ok());
    ASSERT_TRUE(Mkdir(ns, "/full").ok());
    ASSERT_TRUE(Put(ns, "/full/x").ok());

    // File over file: replaced, the old file's blocks released.
    ReleasedBlocks released;
    EXPECT_TRUE(ns.Rename(Super(), "/f1", "/f2", &released).ok());
    ASSERT_EQ(released.blocks.size(), 2u);
    EXPECT_EQ(released.blocks[0].block_id(), blocks[0]);
    EXPECT_EQ(ns.Open(Super(), "/f2")->inline_data, "one");
    EXPECT_EQ(StatCode(ns, "/f1"), StatusCode::kNotFound);
    EXPECT_EQ(ns.GetFile(InodeId(f2->id())).code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.counts().files, 2u);

    EXPECT_EQ(ns.Rename(Super(), "/f2", "/d1", nullptr).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.Rename(Super(), "/d1", "/f2", nullptr).code(), StatusCode::kNotADirectory);
    EXPECT_EQ(ns.Rename(Super(), "/d1", "/full", nullptr).code(), StatusCode::kDirectoryNotEmpty);
    EXPECT_EQ(ns.Rename(Super(), "/full/x", "/full", nullptr).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.Rename(Super(), "/d1", "/nope/d1", nullptr).code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.Rename(Super(), "/nope", "/d9", nullptr).code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.Rename(Super(), "/d1", "/f2/x", nullptr).code(), StatusCode::kNotADirectory);
    // Directory over an empty directory: replaced.
    EXPECT_TRUE(ns.Rename(Super(), "/d1", "/d2", nullptr).ok());
    EXPECT_EQ(StatCode(ns, "/d1"), StatusCode::kNotFound);
    EXPECT_EQ(ns.counts().directories, 2u);
    // To itself: nothing happens.
    EXPECT_TRUE(ns.Rename(Super(), "/f2", "/f2", nullptr).ok());
    EXPECT_TRUE(ns.Rename(Super(), "/d2", "//d2/", nullptr).ok());
    EXPECT_EQ(ns.Open(Super(), "/f2")->inline_data, "one");
    // A file being written is not replaced.
    ASSERT_TRUE(OpenForWrite(ns, "/open", "c").ok());
    EXPECT_EQ(ns.Rename(Super(), "/f2", "/open", nullptr).code(), StatusCode::kLeaseConflict);
  });
  std::vector<KeyValue> dump = h.Dump();
  CheckStore(dump, true);
  EXPECT_EQ(KeysWithTag(dump, 'b'), 0u);
}

// ================================ attributes and permissions ================================

TEST(NamespaceTest, SetPermissionOwnerAndReplicationRules) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/home", Super(), 0777).ok());
    ASSERT_TRUE(Put(ns, "/home/f", "", kAlice).ok());
    // chmod: the owner or the superuser.
    EXPECT_TRUE(ns.SetPermission(kAlice, "/home/f", 0640).ok());
    EXPECT_EQ(ns.Stat(kAlice, "/home/f")->mode(), 0640u);
    EXPECT_EQ(ns.SetPermission(kBob, "/home/f", 0777).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.SetPermission(Super(), "/home/f", 0600).ok());
    EXPECT_EQ(ns.SetPermission(kAlice, "/home/f", 010000).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(ns.SetPermission(kAlice, "/home/f", 07777).ok());
    EXPECT_EQ(ns.SetPermission(kAlice, "/home/nope", 0600).code(), StatusCode::kNotFound);
    // chown: the superuser only; chgrp: an owner who is a member, or the superuser.
    EXPECT_EQ(ns.SetOwner(kAlice, "/home/f", "bob", "").code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.SetOwner(kAlice, "/home/f", "", "staff").ok());
    EXPECT_EQ(ns.SetOwner(kAlice, "/home/f", "", "wheel").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetOwner(kBob, "/home/f", "", "staff").code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.SetOwner(Super(), "/home/f", "bob", "wheel").ok());
    Result<proto::FileStatus> s = ns.Stat(kAlice, "/home/f");
    EXPECT_EQ(s->owner(), "bob");
    EXPECT_EQ(s->group(), "wheel");
    EXPECT_EQ(ns.SetOwner(Super(), "/home/f", std::string(kNameBytesMax + 1, 'o'), "").code(),
              StatusCode::kInvalidArgument);
    // Replication: write permission on the file; files only; 1..kReplicationMax.
    ASSERT_TRUE(ns.SetPermission(Super(), "/home/f", 0644).ok());
    EXPECT_EQ(ns.SetReplication(kAlice, "/home/f", 2).code(), StatusCode::kPermissionDenied);
    Result<proto::Inode> r = ns.SetReplication(kBob, "/home/f", 2);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->replication(), 2u);
    EXPECT_EQ(ns.Stat(kBob, "/home/f")->replication(), 2u);
    EXPECT_EQ(ns.SetReplication(Super(), "/home", 2).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.SetReplication(Super(), "/home/f", 0).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.SetReplication(Super(), "/home/f", kReplicationMax + 1).code(),
              StatusCode::kInvalidArgument);
  });
}

// nn.SetTimes (utimensat on the mount): the owner, the superuser, or anyone who may write
// the entry; -1 leaves a time alone; a time before the epoch is refused.
TEST(NamespaceTest, SetTimesRules) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/home", Super(), 0777).ok());
    ASSERT_TRUE(Put(ns, "/home/f", "x", kAlice, 0644).ok());
    const uint64_t atime_before = ns.Stat(kAlice, "/home/f")->atime_ns();
    ASSERT_TRUE(ns.SetTimes(kAlice, "/home/f", 1'000'000'123, -1).ok());
    Result<proto::FileStatus> s = ns.Stat(kAlice, "/home/f");
    EXPECT_EQ(s->mtime_ns(), 1'000'000'123u);
    EXPECT_EQ(s->atime_ns(), atime_before);
    ASSERT_TRUE(ns.SetTimes(kAlice, "/home/f", -1, 7).ok());
    s = ns.Stat(kAlice, "/home/f");
    EXPECT_EQ(s->mtime_ns(), 1'000'000'123u);
    EXPECT_EQ(s->atime_ns(), 7u);
    // bob may not write alice's 0644 file, so he may not set its times; once he may, he can.
    EXPECT_EQ(ns.SetTimes(kBob, "/home/f", 5, 5).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Stat(kAlice, "/home/f")->mtime_ns(), 1'000'000'123u);
    ASSERT_TRUE(ns.SetPermission(kAlice, "/home/f", 0666).ok());
    EXPECT_TRUE(ns.SetTimes(kBob, "/home/f", 5, 5).ok());
    EXPECT_EQ(ns.Stat(kAlice, "/home/f")->mtime_ns(), 5u);
    EXPECT_TRUE(ns.SetTimes(Super(), "/home", 9, 9).ok());
    EXPECT_EQ(ns.Stat(kAlice, "/home")->mtime_ns(), 9u);
    EXPECT_EQ(ns.SetTimes(kAlice, "/home/f", -2, -1).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.SetTimes(kAlice, "/home/nope", 1, 1).code(), StatusCode::kNotFound);
  });
}

TEST(NamespaceTest, PermissionClassesOnTraverseListOpenCreateDelete) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.SetPermission(Super(), "/", 0777).ok());
    // /p: alice's, group staff. Each test sets its mode, then probes the three classes.
    ASSERT_TRUE(Mkdir(ns, "/p", kAlice, 0700).ok());
    ASSERT_TRUE(ns.SetOwner(Super(), "/p", "", "staff").ok());
    ASSERT_TRUE(Put(ns, "/p/f", "secret", kAlice, 0600).ok());

    // Traverse needs execute of the user's class only.
    struct Case {
      uint32_t dir_mode;
      bool alice, bob, eve;
    };
    for (const Case& c : {Case{0700, true, false, false}, Case{0710, true, true, false},
                          Case{0711, true, true, true}, Case{0070, false, true, false},
                          Case{0001, false, false, true}}) {
      SCOPED_TRACE("mode " + std::to_string(c.dir_mode));
      ASSERT_TRUE(ns.SetPermission(Super(), "/p", c.dir_mode).ok());
      auto expect = [](bool allowed) {
        return allowed ? StatusCode::kOk : StatusCode::kPermissionDenied;
      };
      EXPECT_EQ(StatCode(ns, "/p/f", kAlice), expect(c.alice));
      EXPECT_EQ(StatCode(ns, "/p/f", kBob), expect(c.bob));
      EXPECT_EQ(StatCode(ns, "/p/f", kEve), expect(c.eve));
      EXPECT_EQ(StatCode(ns, "/p/missing", kEve),
                c.eve ? StatusCode::kNotFound : StatusCode::kPermissionDenied);
      EXPECT_EQ(StatCode(ns, "/p/f", Super()), StatusCode::kOk);
      EXPECT_EQ(StatCode(ns, "/p", kEve), StatusCode::kOk);  // the directory itself
    }

    // List needs read on the directory (and traverse above it).
    ASSERT_TRUE(ns.SetPermission(Super(), "/p", 0751).ok());
    EXPECT_TRUE(ns.List(kAlice, "/p", "", 0).ok());
    EXPECT_TRUE(ns.List(kBob, "/p", "", 0).ok());
    EXPECT_EQ(ns.List(kEve, "/p", "", 0).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.List(kEve, "/p/f", "", 0).ok());  // a file lists as itself: traverse only
    EXPECT_TRUE(ns.List(Super(), "/p", "", 0).ok());

    // Open needs read on the file.
    ASSERT_TRUE(ns.SetPermission(kAlice, "/p/f", 0640).ok());
    ASSERT_TRUE(ns.SetOwner(kAlice, "/p/f", "", "staff").ok());
    EXPECT_TRUE(ns.Open(kAlice, "/p/f").ok());
    EXPECT_TRUE(ns.Open(kBob, "/p/f").ok());
    EXPECT_EQ(ns.Open(kEve, "/p/f").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Open(kMallory, "/p/f").code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.Open(Super(), "/p/f").ok());
    // The owner class decides for the owner even when the group class would allow.
    ASSERT_TRUE(ns.SetPermission(kAlice, "/p/f", 0040).ok());
    EXPECT_EQ(ns.Open(kAlice, "/p/f").code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.Open(kBob, "/p/f").ok());
    ASSERT_TRUE(ns.SetPermission(kAlice, "/p/f", 0600).ok());

    // Create and delete need write (and execute) on the parent.
    ASSERT_TRUE(ns.SetPermission(Super(), "/p", 0755).ok());
    EXPECT_TRUE(Put(ns, "/p/a", "", kAlice).ok());
    EXPECT_EQ(Put(ns, "/p/b", "", kBob).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Mkdir(ns, "/p/b", kBob).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Delete(kBob, "/p/a", false, nullptr).code(), StatusCode::kPermissionDenied);
    ASSERT_TRUE(ns.SetPermission(Super(), "/p", 0775).ok());
    EXPECT_TRUE(Put(ns, "/p/b", "", kBob).ok());
    EXPECT_EQ(Put(ns, "/p/c", "", kEve).code(), StatusCode::kPermissionDenied);
    // Without a sticky bit a group writer may delete the owner's file.
    EXPECT_TRUE(ns.Delete(kBob, "/p/a", false, nullptr).ok());
    EXPECT_EQ(ns.Delete(kEve, "/p/b", false, nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.Delete(Super(), "/p/b", false, nullptr).ok());
    // Rename needs write on both parents.
    ASSERT_TRUE(Mkdir(ns, "/q", kEve, 0755).ok());
    EXPECT_EQ(ns.Rename(kBob, "/p/f", "/q/f", nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Rename(kEve, "/p/f", "/q/f", nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.Rename(Super(), "/p/f", "/q/f", nullptr).ok());
  });
}

// Regression: a path through a file behind a directory the user may not traverse answered
// kNotADirectory, which told the user that the file exists. POSIX answers EACCES.
TEST(NamespaceTest, NotADirectoryDoesNotLeakPastADeniedTraverse) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/secret", Super(), 0700).ok());
    ASSERT_TRUE(Put(ns, "/secret/f").ok());
    EXPECT_EQ(StatCode(ns, "/secret/f/x", kEve), StatusCode::kPermissionDenied);
    EXPECT_EQ(StatCode(ns, "/secret/nofile/x", kEve), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Open(kEve, "/secret/f/x").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.List(kEve, "/secret/f/x", "", 0).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Mkdir(ns, "/secret/f/x", kEve).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Put(ns, "/secret/f/x", "", kEve).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Delete(kEve, "/secret/f/x", true, nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetPermission(kEve, "/secret/f/x", 0777).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Rename(kEve, "/secret/f/x", "/y", nullptr).code(), StatusCode::kPermissionDenied);
    // Those who may look get the honest answer.
    EXPECT_EQ(StatCode(ns, "/secret/f/x", Super()), StatusCode::kNotADirectory);
  });
}

// Regression: mkdir checked execute on the directories above the parent but not on the
// parent itself, so a directory without search permission still took new entries.
TEST(NamespaceTest, MkdirsNeedsExecuteOnTheParent) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/w", kAlice).code() == StatusCode::kPermissionDenied);
    ASSERT_TRUE(Mkdir(ns, "/w", Super(), 0777).ok());
    ASSERT_TRUE(ns.SetOwner(Super(), "/w", "alice", "").ok());
    ASSERT_TRUE(ns.SetPermission(kAlice, "/w", 0600).ok());  // rw-, no search
    EXPECT_EQ(Mkdir(ns, "/w/x", kAlice).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Mkdir(ns, "/w/x/y", kAlice).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Put(ns, "/w/x", "", kAlice).code(), StatusCode::kPermissionDenied);
    EXPECT_TRUE(Mkdir(ns, "/w", kAlice).ok());  // exists: no need to search it
    EXPECT_EQ(ns.counts().directories, 1u);
  });
}

// ============================ stale checks under locks ============================

// A MetaStore that runs a hook before its n-th Get: it lets a test slip a competing
// operation between an operation's first resolution and its locking.
class HookStore final : public MetaStore {
 public:
  explicit HookStore(MetaStore& base) : base_(base) {}
  void Before(int nth_get, std::function<void()> hook) {
    countdown_ = nth_get;
    hook_ = std::move(hook);
  }
  Result<std::string> Get(std::string_view key, const Snapshot* snapshot) override {
    if (hook_ && --countdown_ == 0) {
      std::function<void()> hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
    return base_.Get(key, snapshot);
  }
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot) override {
    return base_.Scan(start, end, limit, snapshot);
  }
  Status Write(const WriteBatch& batch) override { return base_.Write(batch); }
  std::shared_ptr<const Snapshot> GetSnapshot() override { return base_.GetSnapshot(); }

 private:
  MetaStore& base_;
  int countdown_ = 0;
  std::function<void()> hook_;
};

// Regression: permission checks after locking used the inodes read before locking, so a
// chmod that revoked write access in between was ignored.
TEST(NamespaceTest, PermissionChecksUseTheInodesReadUnderTheLocks) {
  NamenodeHarness h(1);
  h.Run([&](Namespace&) {
    HookStore store(h.process().meta_store());
    Namespace ns(h.process().env(), store, NamespaceOptions{});
    ASSERT_TRUE(ns.Load(nullptr).ok());
    ASSERT_TRUE(ns.SetPermission(Super(), "/", 0777).ok());
    ASSERT_TRUE(Mkdir(ns, "/d", kAlice, 0777).ok());
    ASSERT_TRUE(Put(ns, "/d/victim", "", kAlice, 0666).ok());
    ASSERT_TRUE(Mkdir(ns, "/e", kAlice, 0777).ok());
    auto revoke = [&] { ASSERT_TRUE(ns.SetPermission(kAlice, "/d", 0755).ok()); };
    auto restore = [&] { ASSERT_TRUE(ns.SetPermission(kAlice, "/d", 0777).ok()); };

    // Create: the third Get reads /d/f, before the locks.
    store.Before(3, revoke);
    EXPECT_EQ(Put(ns, "/d/f", "", kBob).code(), StatusCode::kPermissionDenied);
    restore();
    store.Before(3, revoke);
    EXPECT_EQ(Mkdir(ns, "/d/g", kBob).code(), StatusCode::kPermissionDenied);
    restore();
    store.Before(3, revoke);
    EXPECT_EQ(ns.Delete(kBob, "/d/victim", false, nullptr).code(), StatusCode::kPermissionDenied);
    restore();
    store.Before(3, revoke);
    EXPECT_EQ(ns.Rename(kBob, "/d/victim", "/e/v", nullptr).code(), StatusCode::kPermissionDenied);
    restore();
    // Traverse, too: a chmod of an ancestor between resolution and locking counts.
    store.Before(3, [&] { ASSERT_TRUE(ns.SetPermission(kAlice, "/d", 0700).ok()); });
    EXPECT_EQ(ns.SetReplication(kBob, "/d/victim", 2).code(), StatusCode::kPermissionDenied);
    restore();
    EXPECT_EQ(StatCode(ns, "/d/victim"), StatusCode::kOk);
    EXPECT_EQ(StatCode(ns, "/d/f"), StatusCode::kNotFound);
    EXPECT_EQ(StatCode(ns, "/d/g"), StatusCode::kNotFound);
    EXPECT_EQ(StatCode(ns, "/e/v"), StatusCode::kNotFound);
  });
}

// ================================ by inode id ================================

TEST(NamespaceTest, MutateFileFollowsRenamesAndFailsOnceTheFileIsGone) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/a/b").ok());
    Result<proto::Inode> f = OpenForWrite(ns, "/a/b/f", "writer");
    ASSERT_TRUE(f.ok());
    const InodeId id(f->id());
    auto grow = [](uint64_t bytes) {
      return [bytes](proto::Inode& inode, WriteBatch&) {
        inode.set_length_bytes(inode.length_bytes() + bytes);
        return Status::Ok();
      };
    };
    ASSERT_TRUE(ns.MutateFile(id, grow(10)).ok());
    ASSERT_TRUE(ns.Rename(Super(), "/a/b/f", "/a/b/g", nullptr).ok());
    ASSERT_TRUE(ns.MutateFile(id, grow(10)).ok());
    ASSERT_TRUE(ns.Rename(Super(), "/a/b", "/c", nullptr).ok());
    Result<proto::Inode> after = ns.MutateFile(id, grow(10));
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->length_bytes(), 30u);
    EXPECT_EQ(ns.Stat(Super(), "/c/g")->length_bytes(), 30u);
    EXPECT_EQ(ns.GetFile(id)->length_bytes(), 30u);
    // An error from the mutation writes nothing.
    EXPECT_EQ(ns.MutateFile(id,
                            [](proto::Inode& inode, WriteBatch&) {
                              inode.set_length_bytes(1);
                              return Status(StatusCode::kStale, "no");
                            })
                  .code(),
              StatusCode::kStale);
    EXPECT_EQ(ns.GetFile(id)->length_bytes(), 30u);
    // Directories and the root are not files.
    const uint64_t dir_id = ns.Stat(Super(), "/c")->inode_id();
    EXPECT_EQ(ns.MutateFile(InodeId(dir_id), grow(1)).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.MutateFile(kRootInodeId, grow(1)).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(ns.MutateFile(InodeId(999999), grow(1)).code(), StatusCode::kNotFound);
    // Deleting the file ends it.
    ASSERT_TRUE(ns.Delete(Super(), "/c/g", false, nullptr).ok());
    EXPECT_EQ(ns.MutateFile(id, grow(1)).code(), StatusCode::kNotFound);
    EXPECT_EQ(ns.GetFile(id).code(), StatusCode::kNotFound);
  });
}

// Regression (GetFile): a file below a deleted, not yet collected directory was still
// returned by id, although the class contract says unreachable files are kNotFound.
TEST(NamespaceTest, ByIdAccessFailsOnceAnAncestorIsDeleted) {
  NamenodeHarness h(1);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/a/b").ok());
    Result<proto::Inode> f = OpenForWrite(ns, "/a/b/f", "writer");
    ASSERT_TRUE(f.ok());
    const InodeId id(f->id());
    ASSERT_TRUE(ns.Delete(Super(), "/a", true, nullptr).ok());
    EXPECT_EQ(ns.MutateFile(id, [](proto::Inode&, WriteBatch&) { return Status::Ok(); }).code(),
              StatusCode::kNotFound);
    EXPECT_EQ(ns.GetFile(id).code(), StatusCode::kNotFound);
  });
}

TEST(NamespaceTest, MutateFileCommitsItsBatchWithTheInode) {
  NamenodeHarness h(1);
  uint64_t file_id = 0;
  std::vector<uint64_t> blocks;
  h.Run([&](Namespace& ns) {
    Result<proto::Inode> f = OpenForWrite(ns, "/f", "w");
    ASSERT_TRUE(f.ok());
    file_id = f->id();
    blocks = AddBlocks(ns, file_id, 3);
    std::vector<uint64_t> seen;
    ASSERT_TRUE(ns.ForEachBlock([&](const proto::StoredBlock& b) {
                    EXPECT_EQ(b.inode_id(), file_id);
                    seen.push_back(b.block().block_id());
                  }).ok());
    EXPECT_EQ(seen, blocks);
    EXPECT_EQ(ns.Stat(Super(), "/f")->block_count(), 3u);
  });
  CheckStore(h.Dump(), true);
}

// ================================ restart ================================

TEST(NamespaceTest, LoadAfterRestartRecoversEverything) {
  NamenodeHarness h(1);
  std::vector<std::pair<std::string, proto::FileStatus>> before;
  uint64_t highest_inode = 0, highest_block = 0;
  h.Run([&](Namespace& ns) {
    (void)BuildSubtree(ns, "/t", 2);
    ASSERT_TRUE(Mkdir(ns, "/u").ok());
    Result<proto::Inode> open = OpenForWrite(ns, "/u/open", "writer-7");
    ASSERT_TRUE(open.ok());
    ASSERT_TRUE(OpenForWrite(ns, "/u/open2", "writer-8").ok());
    for (const char* p : {"/t", "/t/dir1/file1", "/t/dir0/deeper/big", "/u/open", "/u"}) {
      Result<proto::FileStatus> s = ns.Stat(Super(), p);
      ASSERT_TRUE(s.ok());
      before.emplace_back(p, *s);
      highest_inode = std::max(highest_inode, s->inode_id());
    }
    Result<uint64_t> b = ns.block_ids().Next();
    ASSERT_TRUE(b.ok());
    highest_block = *b;
  });
  const NamespaceCounts counts = h.ns().counts();
  const std::vector<KeyValue> dump = h.Dump();
  h.Restart();
  EXPECT_EQ(h.Dump(), dump);
  EXPECT_EQ(h.ns().counts().files, counts.files);
  EXPECT_EQ(h.ns().counts().directories, counts.directories);
  std::set<std::string> open_names;
  for (const proto::Inode& inode : h.under_construction()) open_names.insert(inode.lease_holder());
  EXPECT_EQ(open_names, (std::set<std::string>{"writer-7", "writer-8"}));
  h.Run([&](Namespace& ns) {
    for (const auto& [path, status] : before) {
      Result<proto::FileStatus> s = ns.Stat(Super(), path);
      ASSERT_TRUE(s.ok()) << path;
      EXPECT_EQ(s->SerializeAsString(), status.SerializeAsString()) << path;
    }
    EXPECT_EQ(ns.Open(Super(), "/t/dir1/file1")->inline_data, "inline-/t/dir1");
    // Ids are never reused across restarts.
    Result<proto::Inode> fresh = Put(ns, "/fresh");
    ASSERT_TRUE(fresh.ok());
    EXPECT_GT(fresh->id(), highest_inode);
    Result<uint64_t> b = ns.block_ids().Next();
    ASSERT_TRUE(b.ok());
    EXPECT_GT(*b, highest_block);
  });
  // And again, without any use in between.
  h.Restart();
  h.Run([&](Namespace& ns) {
    Result<proto::Inode> fresh = Put(ns, "/fresher");
    ASSERT_TRUE(fresh.ok());
    EXPECT_GT(fresh->id(), ns.Stat(Super(), "/fresh")->inode_id());
  });
  CheckStore(h.Dump(), true);
}

TEST(NamespaceTest, UncollectedOrphansSurviveARestart) {
  NamenodeHarness h(1);
  std::vector<uint64_t> blocks;
  h.Run([&](Namespace& ns) {
    Subtree t = BuildSubtree(ns, "/d", 3);
    blocks = t.blocks;
    ASSERT_TRUE(OpenForWrite(ns, "/d/dir2/open", "gone-writer").ok());
    ASSERT_TRUE(OpenForWrite(ns, "/live", "live-writer").ok());
    ASSERT_TRUE(ns.Delete(Super(), "/d", true, nullptr).ok());
    ASSERT_TRUE(ns.CollectOrphans(2, nullptr).ok());  // part of it only
  });
  h.Restart();
  // Only reachable files count as left open.
  ASSERT_EQ(h.under_construction().size(), 1u);
  EXPECT_EQ(h.under_construction()[0].lease_holder(), "live-writer");
  ReleasedBlocks released;
  h.Run([&](Namespace& ns) { CollectAll(ns, &released, 5); });
  std::vector<uint64_t> released_ids;
  for (const proto::BlockRef& b : released.blocks) released_ids.push_back(b.block_id());
  std::sort(released_ids.begin(), released_ids.end());
  EXPECT_EQ(released_ids, blocks);
  const namenode_testing::StoreCensus census = CheckStore(h.Dump(), true);
  EXPECT_EQ(h.ns().counts().files, census.files);
  EXPECT_EQ(h.ns().counts().directories, census.directories);
  EXPECT_EQ(census.files, 1u);
}

// A crash in the middle of a burst of operations leaves a consistent store: every batch is
// all or nothing.
TEST(NamespaceTest, CrashDuringMutationsLeavesAConsistentStore) {
  const uint64_t seed = SeedForTest();
  SCOPED_TRACE("seed " + std::to_string(seed));
  NamenodeHarness h(seed);
  h.Run([](Namespace& ns) { ASSERT_TRUE(Mkdir(ns, "/w").ok()); });
  for (int f = 0; f < 8; ++f) {
    h.Spawn([f, seed](Namespace& ns) {
      Random random(seed + f);
      for (int i = 0;; ++i) {
        const std::string dir = "/w/" + std::to_string(random.Below(4));
        const std::string path = dir + "/" + std::to_string(random.Below(6));
        Status s;
        switch (random.Below(4)) {
          case 0:
            s = Mkdir(ns, path);
            break;
          case 1:
            s = Put(ns, path, "x").status();
            break;
          case 2:
            s = ns.Delete(Super(), dir, true, nullptr);
            break;
          default:
            s = ns.Rename(Super(), path, dir + "/r" + std::to_string(i % 3), nullptr);
        }
        if (s.code() == StatusCode::kNodeDown) return;
      }
    });
  }
  h.sim().RunFor(std::chrono::milliseconds(50));
  h.Restart();
  h.Run([](Namespace& ns) { CollectAll(ns, nullptr); });
  const namenode_testing::StoreCensus census = CheckStore(h.Dump(), true);
  EXPECT_EQ(h.ns().counts().files, census.files);
  EXPECT_EQ(h.ns().counts().directories, census.directories);
}

// ================================ orphan collection ================================

// Regression: two collectors running at once both removed the same children: counts went
// down twice and blocks were released twice.
TEST(NamespaceTest, ConcurrentCollectorsRemoveEachEntryOnce) {
  NamenodeHarness h(1);
  std::vector<uint64_t> blocks;
  h.Run([&](Namespace& ns) {
    ASSERT_TRUE(Put(ns, "/keep").ok());
    Subtree t = BuildSubtree(ns, "/d", 4);
    blocks = t.blocks;
    ASSERT_TRUE(ns.Delete(Super(), "/d", true, nullptr).ok());
  });
  ReleasedBlocks released;
  for (int f = 0; f < 3; ++f) {
    h.Spawn([&](Namespace& ns) { CollectAll(ns, &released, 4); });
  }
  h.sim().RunUntilIdle();
  std::vector<uint64_t> released_ids;
  for (const proto::BlockRef& b : released.blocks) released_ids.push_back(b.block_id());
  std::sort(released_ids.begin(), released_ids.end());
  EXPECT_EQ(released_ids, blocks);
  const namenode_testing::StoreCensus census = CheckStore(h.Dump(), true);
  EXPECT_EQ(census.files, 1u);
  EXPECT_EQ(h.ns().counts().files, 1u);
  EXPECT_EQ(h.ns().counts().directories, 0u);
}

// Regression: collection put a whole page of children (up to 4,096) in one batch whatever
// their block counts, so files with many blocks overflowed kMetaBatchOpsMax and the
// collector failed on every later call.
TEST(NamespaceTest, CollectionBatchesStayWithinTheStoreLimit) {
  NamenodeHarness h(1);
  constexpr int kFiles = 8;
  constexpr int kBlocksPerFile = 15000;  // 8 x 15,000 block records > kMetaBatchOpsMax
  size_t block_count = 0;
  h.Run([&](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/d").ok());
    for (int i = 0; i < kFiles; ++i) {
      Result<proto::Inode> f = Put(ns, "/d/f" + std::to_string(i));
      ASSERT_TRUE(f.ok());
      block_count += AddBlocks(ns, f->id(), kBlocksPerFile).size();
    }
    ASSERT_TRUE(ns.Delete(Super(), "/d", true, nullptr).ok());
    ReleasedBlocks released;
    CollectAll(ns, &released, 100000);
    EXPECT_EQ(released.blocks.size(), block_count);
    EXPECT_EQ(ns.counts().files, 0u);
  });
  std::vector<KeyValue> dump = h.Dump();
  CheckStore(dump, true);
  EXPECT_EQ(KeysWithTag(dump, 'b'), 0u);
}

// ================================ hostile input ================================

// Every bad request gets its own error and leaves the store exactly as it was.
TEST(NamespaceHostileTest, BadRequestsFailWithTheirOwnCodeAndChangeNothing) {
  NamespaceOptions options;
  options.inline_threshold_bytes = 100;
  NamenodeHarness h(1, options);
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(Mkdir(ns, "/pub/sub").ok());
    ASSERT_TRUE(Put(ns, "/pub/f", "data").ok());
    ASSERT_TRUE(Put(ns, "/pub/private", "data", Super(), 0600).ok());
    ASSERT_TRUE(Mkdir(ns, "/closed", Super(), 0700).ok());
  });
  const std::vector<KeyValue> before = h.Dump();
  const uint64_t sequence_before = h.store().sequence();
  h.Run([&](Namespace& ns) {
    using namespace std::string_literals;
    const std::string long_name = "/" + std::string(kNameBytesMax + 1, 'n');
    std::string long_path;
    while (long_path.size() <= kPathBytesMax) long_path += "/" + std::string(200, 'p');
    struct BadPath {
      std::string path;
      StatusCode code;
    };
    const std::vector<BadPath> bad_paths = {
        {long_name, StatusCode::kNameTooLong}, {"/pub" + long_name, StatusCode::kNameTooLong},
        {long_path, StatusCode::kPathTooLong}, {"/pub/a\0b"s, StatusCode::kInvalidPath},
        {"/pub/.", StatusCode::kInvalidPath},  {"/pub/../pub", StatusCode::kInvalidPath},
        {"pub/f", StatusCode::kInvalidPath},   {"", StatusCode::kInvalidPath},
    };
    CreateArgs complete;
    complete.complete = true;
    for (const BadPath& bad : bad_paths) {
      SCOPED_TRACE("path of " + std::to_string(bad.path.size()) + " bytes");
      EXPECT_EQ(Mkdir(ns, bad.path).code(), bad.code);
      EXPECT_EQ(ns.Create(Super(), bad.path, complete, nullptr).code(), bad.code);
      EXPECT_EQ(ns.Stat(Super(), bad.path).code(), bad.code);
      EXPECT_EQ(ns.List(Super(), bad.path, "", 0).code(), bad.code);
      EXPECT_EQ(ns.Open(Super(), bad.path).code(), bad.code);
      EXPECT_EQ(ns.Delete(Super(), bad.path, true, nullptr).code(), bad.code);
      EXPECT_EQ(ns.Rename(Super(), bad.path, "/pub/x", nullptr).code(), bad.code);
      EXPECT_EQ(ns.Rename(Super(), "/pub/f", bad.path, nullptr).code(), bad.code);
      EXPECT_EQ(ns.SetPermission(Super(), bad.path, 0755).code(), bad.code);
      EXPECT_EQ(ns.SetOwner(Super(), bad.path, "x", "").code(), bad.code);
      EXPECT_EQ(ns.SetReplication(Super(), bad.path, 2).code(), bad.code);
    }
    // Modes past 07777.
    for (uint32_t mode : {010000u, 0177777u, 0xffffffffu}) {
      EXPECT_EQ(Mkdir(ns, "/pub/m", Super(), mode).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(Put(ns, "/pub/m", "", Super(), mode).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(ns.SetPermission(Super(), "/pub/f", mode).code(), StatusCode::kInvalidArgument);
    }
    // Replication and block sizes.
    for (uint32_t replication : {0u, kReplicationMax + 1, 0xffffffffu}) {
      EXPECT_EQ(ns.SetReplication(Super(), "/pub/f", replication).code(),
                StatusCode::kInvalidArgument);
    }
    for (uint32_t replication : {kReplicationMax + 1, 0xffffffffu}) {
      CreateArgs args = complete;
      args.replication = replication;
      EXPECT_EQ(ns.Create(Super(), "/pub/r", args, nullptr).code(), StatusCode::kInvalidArgument);
    }
    for (uint64_t block_bytes :
         {uint64_t{1}, uint64_t{kChecksumChunkBytes} + 1, kBlockBytesMax * 2, ~uint64_t{0}}) {
      CreateArgs args = complete;
      args.block_bytes = block_bytes;
      EXPECT_EQ(ns.Create(Super(), "/pub/r", args, nullptr).code(), StatusCode::kInvalidArgument);
    }
    {
      CreateArgs args = complete;
      args.inline_data = std::string(101, 'i');
      EXPECT_EQ(ns.Create(Super(), "/pub/r", args, nullptr).code(), StatusCode::kInvalidArgument);
      CreateArgs open;  // left open without a client name
      EXPECT_EQ(ns.Create(Super(), "/pub/r", open, nullptr).code(), StatusCode::kInvalidArgument);
      open.client_name = std::string(kNameBytesMax + 1, 'c');
      EXPECT_EQ(ns.Create(Super(), "/pub/r", open, nullptr).code(), StatusCode::kInvalidArgument);
    }
    EXPECT_EQ(ns.SetOwner(Super(), "/pub/f", std::string(kNameBytesMax + 1, 'o'), "").code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.SetOwner(Super(), "/pub/f", "", std::string(kNameBytesMax + 1, 'g')).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.List(Super(), "/pub", std::string(kNameBytesMax + 1, 'a'), 0).code(),
              StatusCode::kNameTooLong);
    // An unknown user is "other" everywhere.
    EXPECT_EQ(Mkdir(ns, "/m", kMallory).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Mkdir(ns, "/pub/m", kMallory).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(Put(ns, "/pub/m", "", kMallory).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Delete(kMallory, "/pub/f", false, nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Delete(kMallory, "/pub", true, nullptr).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Rename(kMallory, "/pub/f", "/pub/g", nullptr).code(),
              StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetPermission(kMallory, "/pub/f", 0777).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetOwner(kMallory, "/pub/f", "mallory", "").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetOwner(kMallory, "/pub/f", "", "nobody").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.SetReplication(kMallory, "/pub/f", 1).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.Open(kMallory, "/pub/private").code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(ns.List(kMallory, "/closed", "", 0).code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(StatCode(ns, "/closed/x", kMallory), StatusCode::kPermissionDenied);
    EXPECT_TRUE(ns.Open(kMallory, "/pub/f").ok());  // 0644: other may read
    // Structure.
    EXPECT_EQ(ns.Rename(Super(), "/pub", "/pub/sub/x", nullptr).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/pub", "/pub/sub", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/", "/x", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Rename(Super(), "/pub", "/", nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Delete(Super(), "/", true, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Delete(Super(), "/", false, nullptr).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ns.Delete(Super(), "/pub", false, nullptr).code(), StatusCode::kDirectoryNotEmpty);
    EXPECT_EQ(Put(ns, "/", "").code(), StatusCode::kIsADirectory);
    EXPECT_EQ(Put(ns, "/pub/f", "").code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(Mkdir(ns, "/pub/f").code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(ns.SetReplication(Super(), "/pub", 2).code(), StatusCode::kIsADirectory);
    EXPECT_EQ(
        ns.MutateFile(InodeId(0), [](proto::Inode&, WriteBatch&) { return Status::Ok(); }).code(),
        StatusCode::kNotFound);
    EXPECT_EQ(ns.GetFile(InodeId(~uint64_t{0})).code(), StatusCode::kNotFound);
  });
  EXPECT_EQ(h.Dump(), before);
  EXPECT_EQ(h.store().sequence(), sequence_before) << "a failed request wrote to the store";
}

}  // namespace
}  // namespace granary
