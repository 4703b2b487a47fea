// The contract of the Disk seam (core/seams/disk.h), as a typed suite over a Harness
// (seam_world.h). Instantiate with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, DiskContractTest, ::testing::Types<MyHarness>);
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/common/limits.h"
#include "tests/seams/seam_world.h"

namespace granary::seams_test {

template <typename Harness>
class DiskContractTest : public ::testing::Test {};

TYPED_TEST_SUITE_P(DiskContractTest);

TYPED_TEST_P(DiskContractTest, CreateMakesAnEmptyFileOnce) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_EQ(disk.Size("f").code(), StatusCode::kNotFound);
    ASSERT_TRUE(disk.Create("f").ok());
    Result<uint64_t> size = disk.Size("f");
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size, 0u);
    EXPECT_EQ(disk.Create("f").code(), StatusCode::kAlreadyExists);
    Result<std::vector<std::string>> names = disk.List("");
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(*names, std::vector<std::string>{"f"});
  });
}

TYPED_TEST_P(DiskContractTest, AppendThenReadRanges) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Append("f", "hello").ok());
    ASSERT_TRUE(disk.Append("f", " world").ok());
    ASSERT_TRUE(disk.Append("f", "").ok());
    EXPECT_EQ(*disk.Size("f"), 11u);
    // Readable at once, before any sync.
    EXPECT_EQ(*disk.Read("f", 0, 11), "hello world");
    EXPECT_EQ(*disk.Read("f", 0, 5), "hello");
    EXPECT_EQ(*disk.Read("f", 6, 5), "world");
    EXPECT_EQ(*disk.Read("f", 4, 3), "o w");
    EXPECT_EQ(*disk.Read("f", 0, 0), "");
    // Fewer bytes at the end of the file, none past it.
    EXPECT_EQ(*disk.Read("f", 6, 100), "world");
    EXPECT_EQ(*disk.Read("f", 10, 100), "d");
    EXPECT_EQ(*disk.Read("f", 11, 5), "");
    EXPECT_EQ(*disk.Read("f", 1000, 5), "");
  });
}

TYPED_TEST_P(DiskContractTest, LargeAppendsReadBackExactly) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("big").ok());
    std::string all;
    for (uint32_t i = 0; i < 4; ++i) {
      const std::string piece = PatternBytes(300 * 1024 + i, i);
      ASSERT_TRUE(disk.Append("big", piece).ok());
      all += piece;
    }
    EXPECT_EQ(*disk.Size("big"), all.size());
    Result<std::string> whole = disk.Read("big", 0, all.size());
    ASSERT_TRUE(whole.ok());
    EXPECT_TRUE(*whole == all);
    Result<std::string> middle = disk.Read("big", 123457, 500000);
    ASSERT_TRUE(middle.ok());
    EXPECT_TRUE(*middle == all.substr(123457, 500000));
  });
}

TYPED_TEST_P(DiskContractTest, ReadPastTheLimitIsInvalid) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    EXPECT_TRUE(disk.Read("f", 0, kDiskReadBytesMax).ok());
    EXPECT_EQ(disk.Read("f", 0, kDiskReadBytesMax + 1).code(), StatusCode::kInvalidArgument);
  });
}

TYPED_TEST_P(DiskContractTest, SyncKeepsContents) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Sync("f").ok());  // an empty file syncs too
    ASSERT_TRUE(disk.Append("f", "abc").ok());
    ASSERT_TRUE(disk.Sync("f").ok());
    ASSERT_TRUE(disk.Sync("f").ok());
    EXPECT_EQ(*disk.Read("f", 0, 10), "abc");
  });
}

TYPED_TEST_P(DiskContractTest, TruncateCutsAFile) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Append("f", "0123456789").ok());
    ASSERT_TRUE(disk.Sync("f").ok());
    ASSERT_TRUE(disk.Truncate("f", 4).ok());
    EXPECT_EQ(*disk.Size("f"), 4u);
    EXPECT_EQ(*disk.Read("f", 0, 100), "0123");
    ASSERT_TRUE(disk.Truncate("f", 4).ok());  // to its own length: nothing changes
    EXPECT_EQ(*disk.Size("f"), 4u);
    // Appends continue at the new end.
    ASSERT_TRUE(disk.Append("f", "xy").ok());
    EXPECT_EQ(*disk.Read("f", 0, 100), "0123xy");
    ASSERT_TRUE(disk.Truncate("f", 0).ok());
    EXPECT_EQ(*disk.Size("f"), 0u);
    EXPECT_EQ(disk.Truncate("f", 1).code(), StatusCode::kInvalidArgument);
  });
}

TYPED_TEST_P(DiskContractTest, RenameMovesAndReplacesTheTarget) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("a").ok());
    ASSERT_TRUE(disk.Append("a", "alpha").ok());
    ASSERT_TRUE(disk.Rename("a", "b").ok());
    EXPECT_EQ(disk.Size("a").code(), StatusCode::kNotFound);
    EXPECT_EQ(*disk.Read("b", 0, 100), "alpha");

    ASSERT_TRUE(disk.Create("c").ok());
    ASSERT_TRUE(disk.Append("c", "a much longer old content").ok());
    ASSERT_TRUE(disk.Rename("b", "c").ok());
    EXPECT_EQ(*disk.Read("c", 0, 100), "alpha");
    EXPECT_EQ(*disk.Size("c"), 5u);
    EXPECT_EQ(*disk.List(""), (std::vector<std::string>{"c"}));
    EXPECT_EQ(disk.Rename("missing", "d").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Size("d").code(), StatusCode::kNotFound);
  });
}

TYPED_TEST_P(DiskContractTest, RemoveDeletesAFile) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Append("f", "data").ok());
    ASSERT_TRUE(disk.Remove("f").ok());
    EXPECT_EQ(disk.Size("f").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Remove("f").code(), StatusCode::kNotFound);
    EXPECT_TRUE(disk.List("")->empty());
    // The name is free again, and the new file starts empty.
    ASSERT_TRUE(disk.Create("f").ok());
    EXPECT_EQ(*disk.Size("f"), 0u);
  });
}

TYPED_TEST_P(DiskContractTest, ListByPrefixInByteOrder) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    for (const char* name : {"b-2", "a-1", "b-10", "B-0", "b-1", "c", "b_", "b-"}) {
      ASSERT_TRUE(disk.Create(name).ok()) << name;
    }
    EXPECT_EQ(*disk.List("b-"), (std::vector<std::string>{"b-", "b-1", "b-10", "b-2"}));
    EXPECT_EQ(*disk.List("b"), (std::vector<std::string>{"b-", "b-1", "b-10", "b-2", "b_"}));
    EXPECT_EQ(*disk.List(""),
              (std::vector<std::string>{"B-0", "a-1", "b-", "b-1", "b-10", "b-2", "b_", "c"}));
    EXPECT_EQ(*disk.List("c"), (std::vector<std::string>{"c"}));
    EXPECT_TRUE(disk.List("d")->empty());
    EXPECT_TRUE(disk.List("b-100")->empty());
  });
}

TYPED_TEST_P(DiskContractTest, InvalidNamesAreRejected) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    ASSERT_TRUE(disk.Create("ok").ok());
    const std::string too_long(kDiskFileNameBytesMax + 1, 'a');
    ASSERT_TRUE(disk.Create(std::string(kDiskFileNameBytesMax, 'a')).ok());
    for (const std::string& bad :
         {std::string(""), std::string("."), std::string(".."), std::string("a/b"),
          std::string("/abs"), std::string("../up"), std::string("sp ace"),
          std::string("nul\0x", 5), std::string("t\xc3\xa9"), too_long}) {
      SCOPED_TRACE("name '" + bad + "'");
      EXPECT_EQ(disk.Create(bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Append(bad, "x").code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Read(bad, 0, 1).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Sync(bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Truncate(bad, 0).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Remove(bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Size(bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Rename("ok", bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(disk.Rename(bad, "ok").code(), StatusCode::kInvalidArgument);
    }
    // Nothing was created or moved by the rejected calls.
    EXPECT_EQ(disk.List("")->size(), 2u);
    EXPECT_TRUE(disk.Size("ok").ok());
  });
}

TYPED_TEST_P(DiskContractTest, MissingFilesAreNotFound) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    EXPECT_EQ(disk.Append("nope", "x").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Read("nope", 0, 1).code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Sync("nope").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Truncate("nope", 0).code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Rename("nope", "other").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Remove("nope").code(), StatusCode::kNotFound);
    EXPECT_EQ(disk.Size("nope").code(), StatusCode::kNotFound);
    EXPECT_TRUE(disk.List("")->empty());
  });
}

// Usage counts the bytes held by this disk's files (the datanode reports it).
TYPED_TEST_P(DiskContractTest, UsageAccountsForFileBytes) {
  TypeParam::Run([](SeamWorld& world) {
    Disk& disk = world.disk();
    Result<DiskUsage> before = disk.Usage();
    ASSERT_TRUE(before.ok());
    EXPECT_GT(before->capacity_bytes, 0u);
    EXPECT_LE(before->used_bytes, before->capacity_bytes);
    const uint64_t base = before->used_bytes;
    ASSERT_TRUE(disk.Create("a").ok());
    ASSERT_TRUE(disk.Append("a", std::string(1000, 'a')).ok());
    ASSERT_TRUE(disk.Create("b").ok());
    ASSERT_TRUE(disk.Append("b", std::string(300, 'b')).ok());
    EXPECT_EQ(disk.Usage()->used_bytes, base + 1300);
    ASSERT_TRUE(disk.Truncate("a", 400).ok());
    EXPECT_EQ(disk.Usage()->used_bytes, base + 700);
    ASSERT_TRUE(disk.Rename("a", "b").ok());  // b's 300 bytes are gone
    EXPECT_EQ(disk.Usage()->used_bytes, base + 400);
    ASSERT_TRUE(disk.Remove("b").ok());
    EXPECT_EQ(disk.Usage()->used_bytes, base);
    EXPECT_EQ(disk.Usage()->capacity_bytes, before->capacity_bytes);
  });
}

// Synced bytes survive a power loss; of what was appended after the last sync, some prefix
// (possibly none, possibly all) does. Create, Rename, Truncate and Remove are durable at once.
TYPED_TEST_P(DiskContractTest, PowerLossKeepsSyncedBytesAndAPrefixOfTheRest) {
  TypeParam::Run([](SeamWorld& world) {
    {
      Disk& disk = world.disk();
      ASSERT_TRUE(disk.Create("moved-from").ok());
      ASSERT_TRUE(disk.Rename("moved-from", "moved-to").ok());
      ASSERT_TRUE(disk.Create("gone").ok());
      ASSERT_TRUE(disk.Remove("gone").ok());
      ASSERT_TRUE(disk.Create("cut").ok());
      ASSERT_TRUE(disk.Append("cut", "0123456789").ok());
      ASSERT_TRUE(disk.Sync("cut").ok());
      ASSERT_TRUE(disk.Truncate("cut", 3).ok());
    }
    if (!world.Reopen()) GTEST_SKIP() << "the harness cannot lose power";
    {
      Disk& disk = world.disk();
      EXPECT_EQ(*disk.List(""), (std::vector<std::string>{"cut", "moved-to"}));
      EXPECT_EQ(*disk.Read("cut", 0, 100), "012");
    }
    // Several rounds: the outcome for the unsynced tail may differ each time.
    for (uint32_t round = 0; round < 12; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const std::string name = "log-" + std::to_string(round);
      const std::string synced = PatternBytes(1000 + round, round);
      const std::string unsynced = PatternBytes(5000, round + 100);
      {
        Disk& disk = world.disk();
        ASSERT_TRUE(disk.Create(name).ok());
        ASSERT_TRUE(disk.Append(name, synced.substr(0, 400)).ok());
        ASSERT_TRUE(disk.Append(name, synced.substr(400)).ok());
        ASSERT_TRUE(disk.Sync(name).ok());
        ASSERT_TRUE(disk.Append(name, unsynced.substr(0, 2000)).ok());
        ASSERT_TRUE(disk.Append(name, unsynced.substr(2000)).ok());
      }
      ASSERT_TRUE(world.Reopen());
      Disk& disk = world.disk();
      Result<std::string> after = disk.Read(name, 0, synced.size() + unsynced.size() + 10);
      ASSERT_TRUE(after.ok()) << after.status().ToString();
      ASSERT_GE(after->size(), synced.size());
      ASSERT_LE(after->size(), synced.size() + unsynced.size());
      EXPECT_TRUE(*after == (synced + unsynced).substr(0, after->size()));
      EXPECT_EQ(*disk.Size(name), after->size());
    }
  });
}

REGISTER_TYPED_TEST_SUITE_P(DiskContractTest, CreateMakesAnEmptyFileOnce, AppendThenReadRanges,
                            LargeAppendsReadBackExactly, ReadPastTheLimitIsInvalid,
                            SyncKeepsContents, TruncateCutsAFile, RenameMovesAndReplacesTheTarget,
                            RemoveDeletesAFile, ListByPrefixInByteOrder, InvalidNamesAreRejected,
                            MissingFilesAreNotFound, UsageAccountsForFileBytes,
                            PowerLossKeepsSyncedBytesAndAPrefixOfTheRest);

}  // namespace granary::seams_test
