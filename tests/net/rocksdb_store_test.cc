// RocksDbStore beyond the seam contract: group commit of concurrent writers and what a
// reopened database holds; and PosixDisk's reopen accounting.
#include "net/rocksdb_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "net/posix_disk.h"
#include "net/real_env.h"
#include "tests/net/net_test_util.h"
#include "tests/seams/seam_world.h"

namespace granary::net {
namespace {

using seams_test::WaitFor;

std::string Key(int writer, int i) {
  std::string key = "w";
  key += std::to_string(writer);
  key += "/";
  key += std::to_string(i);
  return key;
}

TEST(RocksDbStoreTest, ConcurrentWritersShareSyncsAndEverythingSurvivesReopen) {
  constexpr int kWriters = 64;
  constexpr int kWritesEach = 20;
  testing::TempDir directory;
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    Result<std::unique_ptr<RocksDbStore>> opened =
        RocksDbStore::Open(env, directory.path() + "/db");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<RocksDbStore> store = std::move(opened).value();
    const Status ran = env.RunMain([&]() -> Status {
      int done = 0;
      int failures = 0;
      for (int w = 0; w < kWriters; ++w) {
        env.Spawn("writer", [&, w] {
          for (int i = 0; i < kWritesEach; ++i) {
            WriteBatch batch;
            batch.Put(Key(w, i), std::to_string(w * 1000 + i));
            batch.Put("last/" + std::to_string(w), std::to_string(i));
            if (!store->Write(batch).ok()) ++failures;
          }
          ++done;
        });
      }
      EXPECT_TRUE(WaitFor(env, [&] { return done == kWriters; }));
      EXPECT_EQ(failures, 0);
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
    const RocksDbStoreStats stats = store->stats();
    EXPECT_EQ(stats.batches, uint64_t{kWriters * kWritesEach});
    // 64 writers queue behind each sync: far fewer syncs than batches.
    EXPECT_LT(stats.synced_writes, stats.batches);
    std::printf("%llu batches in %llu synced writes\n",
                static_cast<unsigned long long>(stats.batches),
                static_cast<unsigned long long>(stats.synced_writes));
  });
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    Result<std::unique_ptr<RocksDbStore>> reopened =
        RocksDbStore::Open(env, directory.path() + "/db");
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    std::unique_ptr<RocksDbStore> store = std::move(reopened).value();
    const Status ran = env.RunMain([&]() -> Status {
      Result<std::vector<KeyValue>> all = store->Scan("w", PrefixEnd("w"), kMetaScanEntriesMax);
      EXPECT_TRUE(all.ok());
      if (all.ok()) {
        EXPECT_EQ(all->size(), size_t{kWriters * kWritesEach});
      }
      for (int w = 0; w < kWriters; ++w) {
        Result<std::string> value = store->Get(Key(w, kWritesEach - 1));
        EXPECT_TRUE(value.ok()) << Key(w, kWritesEach - 1);
        if (value.ok()) {
          EXPECT_EQ(*value, std::to_string(w * 1000 + kWritesEach - 1));
        }
        EXPECT_EQ(*store->Get("last/" + std::to_string(w)), std::to_string(kWritesEach - 1));
      }
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

// Count of files in `directory` whose names end with `suffix`.
size_t CountFiles(const std::string& directory, const std::string& suffix) {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      ++count;
    }
  }
  return count;
}

std::string Value(int i, size_t bytes) {
  std::string value(bytes, static_cast<char>('a' + i % 26));
  const std::string tag = std::to_string(i);
  value.replace(0, tag.size(), tag);
  return value;
}

// `blob_cache_bytes`: 0, or a blob cache (filled by flushes and reads), through which reads
// (Get, and GetAppend's pinned values) must return the same bytes.
void LargeValuesRoundTrip(uint64_t blob_cache_bytes) {
  // A small write buffer, so that tables (and blob files) are flushed while writing.
  RocksDbStoreOptions options;
  options.write_buffer_bytes = 1 << 20;
  options.blob_cache_bytes = blob_cache_bytes;
  constexpr int kValues = 400;
  constexpr size_t kLarge = 16 * 1024;  // above min_blob_bytes
  constexpr size_t kSmall = 100;        // below it
  testing::TempDir directory;
  const std::string db = directory.path() + "/db";
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    Result<std::unique_ptr<RocksDbStore>> opened = RocksDbStore::Open(env, db, options);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<RocksDbStore> store = std::move(opened).value();
    const Status ran = env.RunMain([&]() -> Status {
      for (int i = 0; i < kValues; ++i) {
        WriteBatch batch;
        batch.Put("x" + std::to_string(i), Value(i, kLarge));
        batch.Put("e" + std::to_string(i), Value(i, kSmall));
        EXPECT_TRUE(store->Write(batch).ok());
      }
      // A snapshot keeps the old bytes of a value overwritten and of one deleted after it.
      const std::shared_ptr<const Snapshot> before = store->GetSnapshot();
      WriteBatch change;
      change.Put("x1", Value(1001, kLarge));
      change.Delete("x2");
      EXPECT_TRUE(store->Write(change).ok());
      EXPECT_EQ(*store->Get("x1"), Value(1001, kLarge));
      EXPECT_EQ(store->Get("x2").code(), StatusCode::kNotFound);
      EXPECT_EQ(*store->Get("x1", before.get()), Value(1, kLarge));
      EXPECT_EQ(*store->Get("x2", before.get()), Value(2, kLarge));
      std::string appended = "head";
      EXPECT_TRUE(store->GetAppend("x1", appended, before.get()).ok());
      EXPECT_TRUE(store->GetAppend("x1", appended).ok());
      EXPECT_TRUE(appended == "head" + Value(1, kLarge) + Value(1001, kLarge));
      EXPECT_EQ(store->GetAppend("x2", appended).code(), StatusCode::kNotFound);
      EXPECT_EQ(appended.size(), 4 + 2 * kLarge);
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
  // Several MiB of large values went to blob files, not only to tables.
  EXPECT_GT(CountFiles(db, ".blob"), 0u);
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    Result<std::unique_ptr<RocksDbStore>> reopened = RocksDbStore::Open(env, db, options);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    std::unique_ptr<RocksDbStore> store = std::move(reopened).value();
    const Status ran = env.RunMain([&]() -> Status {
      for (int i = 0; i < kValues; ++i) {
        Result<std::string> large = store->Get("x" + std::to_string(i));
        if (i == 2) {
          EXPECT_EQ(large.code(), StatusCode::kNotFound);
          continue;
        }
        EXPECT_TRUE(large.ok()) << i;
        if (large.ok()) {
          EXPECT_EQ(*large, Value(i == 1 ? 1001 : i, kLarge)) << i;
        }
        EXPECT_EQ(*store->Get("e" + std::to_string(i)), Value(i, kSmall)) << i;
        // Twice through GetAppend: from the blob file, then (with a cache) from the cache.
        for (int pass = 0; pass < 2; ++pass) {
          std::string appended;
          EXPECT_TRUE(store->GetAppend("x" + std::to_string(i), appended).ok()) << i;
          EXPECT_TRUE(appended == Value(i == 1 ? 1001 : i, kLarge)) << i;
          appended.clear();
          EXPECT_TRUE(store->GetAppend("e" + std::to_string(i), appended).ok()) << i;
          EXPECT_EQ(appended, Value(i, kSmall)) << i;
        }
      }
      Result<std::vector<KeyValue>> scanned = store->Scan("x", PrefixEnd("x"), kMetaScanEntriesMax);
      EXPECT_TRUE(scanned.ok());
      if (scanned.ok()) {
        EXPECT_EQ(scanned->size(), size_t{kValues - 1});
        for (const KeyValue& kv : *scanned) EXPECT_EQ(kv.value.size(), kLarge) << kv.key;
      }
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

TEST(RocksDbStoreTest, LargeValuesLiveInBlobFilesAndReadBackExactly) { LargeValuesRoundTrip(0); }

TEST(RocksDbStoreTest, LargeValuesReadBackExactlyThroughTheBlobCache) {
  LargeValuesRoundTrip(8 << 20);
}

TEST(RocksDbStoreTest, StoppedStoreRefusesWithNodeDown) {
  testing::TempDir directory;
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    Result<std::unique_ptr<RocksDbStore>> opened =
        RocksDbStore::Open(env, directory.path() + "/db");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<RocksDbStore> store = std::move(opened).value();
    const Status ran = env.RunMain([&]() -> Status {
      WriteBatch batch;
      batch.Put("k", "v");
      EXPECT_TRUE(store->Write(batch).ok());
      env.Stop();
      EXPECT_EQ(store->Write(batch).code(), StatusCode::kNodeDown);
      EXPECT_EQ(store->Get("k").code(), StatusCode::kNodeDown);
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

TEST(RocksDbStoreTest, OpeningAFileAsADatabaseFails) {
  testing::TempDir directory;
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    // A path inside a file cannot hold a database.
    std::FILE* file = std::fopen((directory.path() + "/plain").c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fclose(file);
    EXPECT_FALSE(RocksDbStore::Open(env, directory.path() + "/plain/db").ok());
  });
}

TEST(PosixDiskTest, ReopenCountsTheFilesThere) {
  testing::TempDir directory;
  testing::OnFreshThread([&] {
    RealEnv env(testing::TestEnvOptions());
    const Status ran = env.RunMain([&]() -> Status {
      {
        GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<PosixDisk> disk,
                                 PosixDisk::Open(env, directory.path() + "/disk"));
        GRANARY_RETURN_IF_ERROR(disk->Create("a"));
        GRANARY_RETURN_IF_ERROR(disk->Append("a", std::string(1234, 'x')));
        GRANARY_RETURN_IF_ERROR(disk->Sync("a"));
        GRANARY_RETURN_IF_ERROR(disk->Create("b"));
        GRANARY_RETURN_IF_ERROR(disk->Append("b", "yz"));
      }
      // Entries the seam cannot name are not its files.
      std::FILE* stray = std::fopen((directory.path() + "/disk/not a seam name").c_str(), "w");
      EXPECT_NE(stray, nullptr);
      if (stray != nullptr) {
        std::fputs("ignored", stray);
        std::fclose(stray);
      }
      GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<PosixDisk> disk,
                               PosixDisk::Open(env, directory.path() + "/disk"));
      EXPECT_EQ(disk->Usage()->used_bytes, 1236u);
      EXPECT_EQ(*disk->List(""), (std::vector<std::string>{"a", "b"}));
      EXPECT_EQ(*disk->Read("a", 1230, 10), "xxxx");
      // More files than the descriptor cache holds.
      for (int i = 0; i < 300; ++i) {
        const std::string name = "f" + std::to_string(i);
        GRANARY_RETURN_IF_ERROR(disk->Create(name));
        GRANARY_RETURN_IF_ERROR(disk->Append(name, name));
      }
      for (int i = 0; i < 300; ++i) {
        const std::string name = "f" + std::to_string(i);
        EXPECT_EQ(*disk->Read(name, 0, 100), name);
      }
      return Status::Ok();
    });
    EXPECT_TRUE(ran.ok()) << ran.ToString();
  });
}

}  // namespace
}  // namespace granary::net
