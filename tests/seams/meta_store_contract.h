// The contract of the MetaStore seam (core/seams/meta_store.h), as a typed suite over a
// Harness (seam_world.h). Instantiate with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, MetaStoreContractTest, ::testing::Types<MyHarness>);
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "tests/seams/seam_world.h"

namespace granary::seams_test {

template <typename Harness>
class MetaStoreContractTest : public ::testing::Test {};

TYPED_TEST_SUITE_P(MetaStoreContractTest);

namespace meta_store_contract {

// "d" + std::to_string(i) trips GCC 12's false -Wrestrict (GCC bug 105651).
inline std::string NumberedKey(std::string_view stem, uint32_t i) {
  std::string key(stem);
  key += std::to_string(i);
  return key;
}

inline Status Put(MetaStore& store, std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(key, value);
  return store.Write(batch);
}

inline Status Delete(MetaStore& store, std::string_view key) {
  WriteBatch batch;
  batch.Delete(key);
  return store.Write(batch);
}

inline std::vector<std::string> Keys(const Result<std::vector<KeyValue>>& entries) {
  std::vector<std::string> keys;
  if (!entries.ok()) return {entries.status().ToString()};
  for (const KeyValue& kv : *entries) keys.push_back(kv.key);
  return keys;
}

}  // namespace meta_store_contract

TYPED_TEST_P(MetaStoreContractTest, GetPutDelete) {
  using meta_store_contract::Delete;
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    EXPECT_EQ(store.Get("k").code(), StatusCode::kNotFound);
    ASSERT_TRUE(Put(store, "k", "v1").ok());
    EXPECT_EQ(*store.Get("k"), "v1");
    ASSERT_TRUE(Put(store, "k", "v2").ok());
    EXPECT_EQ(*store.Get("k"), "v2");
    ASSERT_TRUE(Put(store, "empty", "").ok());  // an empty value is a value
    Result<std::string> empty = store.Get("empty");
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(*empty, "");
    ASSERT_TRUE(Delete(store, "k").ok());
    EXPECT_EQ(store.Get("k").code(), StatusCode::kNotFound);
    EXPECT_TRUE(Delete(store, "never-there").ok());
    // Binary keys and values, with zero bytes and high bytes.
    const std::string key("a\0\xff", 3);
    const std::string value("\0\x01\x80", 3);
    ASSERT_TRUE(Put(store, key, value).ok());
    EXPECT_EQ(*store.Get(key), value);
    EXPECT_EQ(store.Get(std::string("a\0", 2)).code(), StatusCode::kNotFound);
    // Largest key and value.
    const std::string big_key(kMetaKeyBytesMax, 'k');
    const std::string big_value = PatternBytes(kMetaValueBytesMax, 7);
    ASSERT_TRUE(Put(store, big_key, big_value).ok());
    EXPECT_TRUE(*store.Get(big_key) == big_value);
  });
}

TYPED_TEST_P(MetaStoreContractTest, BatchAppliesInOrderAsOne) {
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    ASSERT_TRUE(Put(store, "old", "x").ok());
    WriteBatch batch;
    batch.Put("a", "1");
    batch.Put("b", "2");
    batch.Delete("old");
    batch.Put("c", "first");
    batch.Put("c", "second");  // later ops of a batch win
    batch.Put("d", "here");
    batch.Delete("d");
    ASSERT_TRUE(store.Write(batch).ok());
    EXPECT_EQ(*store.Get("a"), "1");
    EXPECT_EQ(*store.Get("b"), "2");
    EXPECT_EQ(*store.Get("c"), "second");
    EXPECT_EQ(store.Get("old").code(), StatusCode::kNotFound);
    EXPECT_EQ(store.Get("d").code(), StatusCode::kNotFound);
    EXPECT_TRUE(store.Write(WriteBatch()).ok());  // an empty batch is fine
  });
}

// A reader running beside a writer never sees half a batch.
TYPED_TEST_P(MetaStoreContractTest, ConcurrentReadersNeverSeeHalfABatch) {
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    Env& env = world.env();
    constexpr int kBatches = 60;
    struct Shared {
      bool writer_done = false;
      int readers_done = 0;
      int torn = 0;
      int reads = 0;
    };
    auto shared = std::make_shared<Shared>();
    {
      WriteBatch first;
      for (const char* key : {"x/a", "x/b", "x/c"}) first.Put(key, "0");
      ASSERT_TRUE(store.Write(first).ok());
    }
    for (int r = 0; r < 3; ++r) {
      env.Spawn("reader", [&store, &env, shared] {
        // Yields between reads, so that a store whose calls never suspend is tested too.
        for (;;) {
          const bool last = shared->writer_done;
          Result<std::vector<KeyValue>> all = store.Scan("x/", PrefixEnd("x/"), 10);
          if (!all.ok()) break;
          ++shared->reads;
          if (all->size() != 3 || (*all)[0].value != (*all)[1].value ||
              (*all)[1].value != (*all)[2].value) {
            ++shared->torn;
          }
          if (last || !env.SleepFor(Duration(0)).ok()) break;
        }
        ++shared->readers_done;
      });
    }
    for (int i = 1; i <= kBatches; ++i) {
      WriteBatch batch;
      const std::string value = std::to_string(i);
      batch.Put("x/c", value);
      batch.Delete("x/b");
      batch.Put("x/a", value);
      batch.Put("x/b", value);
      EXPECT_TRUE(store.Write(batch).ok());
      if (!env.SleepFor(Duration(0)).ok()) break;
    }
    shared->writer_done = true;
    ASSERT_TRUE(WaitFor(env, [&shared] { return shared->readers_done == 3; }));
    EXPECT_EQ(shared->torn, 0);
    EXPECT_GT(shared->reads, 0);
    EXPECT_EQ(*store.Get("x/b"), std::to_string(kBatches));
  });
}

TYPED_TEST_P(MetaStoreContractTest, InvalidBatchesWriteNothing) {
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    auto expect_rejected = [&store](WriteBatch batch, const char* what) {
      SCOPED_TRACE(what);
      batch.Put("witness", "must not appear");
      EXPECT_EQ(store.Write(batch).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(store.Get("witness").code(), StatusCode::kNotFound);
    };
    {
      WriteBatch batch;
      batch.Put("", "v");
      expect_rejected(std::move(batch), "empty key");
    }
    {
      WriteBatch batch;
      batch.Delete("");
      expect_rejected(std::move(batch), "empty key deleted");
    }
    {
      WriteBatch batch;
      batch.Put(std::string(kMetaKeyBytesMax + 1, 'k'), "v");
      expect_rejected(std::move(batch), "key too long");
    }
    {
      WriteBatch batch;
      batch.Put("k", std::string(kMetaValueBytesMax + 1, 'v'));
      expect_rejected(std::move(batch), "value too long");
    }
    {
      WriteBatch batch;
      for (uint32_t i = 0; i < kMetaBatchOpsMax; ++i) {
        batch.Delete(meta_store_contract::NumberedKey("d", i));
      }
      expect_rejected(std::move(batch), "too many ops");  // the witness is one op too many
    }
    {
      WriteBatch batch;
      for (uint32_t i = 0; i + 1 < kMetaBatchOpsMax; ++i) {
        batch.Delete(meta_store_contract::NumberedKey("d", i));
      }
      batch.Put("witness", "at the limit");
      EXPECT_TRUE(store.Write(batch).ok());
      EXPECT_EQ(*store.Get("witness"), "at the limit");
    }
  });
}

TYPED_TEST_P(MetaStoreContractTest, ScanRangesAndLimits) {
  using meta_store_contract::Keys;
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    for (const char* key : {"a", "b", "b/1", "b/2", "b/3", "c", "d"}) {
      ASSERT_TRUE(Put(store, key, std::string("v-") + key).ok());
    }
    Result<std::vector<KeyValue>> all = store.Scan("", "", 100);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 7u);
    EXPECT_EQ((*all)[2], (KeyValue{"b/1", "v-b/1"}));
    // start is inclusive, end exclusive; an empty end is unbounded.
    EXPECT_EQ(Keys(store.Scan("b", "c", 100)),
              (std::vector<std::string>{"b", "b/1", "b/2", "b/3"}));
    EXPECT_EQ(Keys(store.Scan("b/2", "", 100)), (std::vector<std::string>{"b/2", "b/3", "c", "d"}));
    EXPECT_EQ(Keys(store.Scan("bb", "c", 100)), std::vector<std::string>{});
    EXPECT_EQ(Keys(store.Scan("c", "c", 100)), std::vector<std::string>{});
    EXPECT_EQ(Keys(store.Scan("e", "", 100)), std::vector<std::string>{});
    // The limit cuts from the start.
    EXPECT_EQ(Keys(store.Scan("", "", 2)), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(Keys(store.Scan("b/", "", 1)), (std::vector<std::string>{"b/1"}));
    EXPECT_EQ(store.Scan("", "", 0).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store.Scan("", "", kMetaScanEntriesMax + 1).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(store.Scan("", "", kMetaScanEntriesMax).ok());
  });
}

TYPED_TEST_P(MetaStoreContractTest, PrefixScansOrderBytewise) {
  using meta_store_contract::Keys;
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    const std::string high("d\xff", 2);
    const std::string higher("d\xff\xff", 3);
    for (const std::string& key :
         {std::string("d"), std::string("d/x"), std::string("d\x80"), high, higher,
          std::string("e"), std::string("dir"), std::string("d/\xff")}) {
      ASSERT_TRUE(Put(store, key, "v").ok());
    }
    // Bytes order as unsigned: 0x80 and 0xff sort after every ASCII byte.
    EXPECT_EQ(Keys(store.Scan("d", PrefixEnd("d"), 100)),
              (std::vector<std::string>{"d", "d/x", std::string("d/\xff"), "dir",
                                        std::string("d\x80"), high, higher}));
    EXPECT_EQ(Keys(store.Scan("d/", PrefixEnd("d/"), 100)),
              (std::vector<std::string>{"d/x", std::string("d/\xff")}));
    EXPECT_EQ(Keys(store.Scan(high, PrefixEnd(high), 100)),
              (std::vector<std::string>{high, higher}));
    EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
    EXPECT_EQ(Keys(store.Scan(std::string("\xff", 1), PrefixEnd(std::string("\xff", 1)), 100)),
              std::vector<std::string>{});
  });
}

TYPED_TEST_P(MetaStoreContractTest, SnapshotsReadThePastUntilReleased) {
  using meta_store_contract::Delete;
  using meta_store_contract::Keys;
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    MetaStore& store = world.store();
    ASSERT_TRUE(Put(store, "a", "a1").ok());
    ASSERT_TRUE(Put(store, "b", "b1").ok());
    std::shared_ptr<const Snapshot> first = store.GetSnapshot();
    ASSERT_NE(first, nullptr);
    ASSERT_TRUE(Put(store, "a", "a2").ok());
    ASSERT_TRUE(Delete(store, "b").ok());
    ASSERT_TRUE(Put(store, "c", "c2").ok());
    std::shared_ptr<const Snapshot> second = store.GetSnapshot();
    ASSERT_TRUE(Put(store, "a", "a3").ok());
    ASSERT_TRUE(Put(store, "b", "b3").ok());

    EXPECT_EQ(*store.Get("a", first.get()), "a1");
    EXPECT_EQ(*store.Get("b", first.get()), "b1");
    EXPECT_EQ(store.Get("c", first.get()).code(), StatusCode::kNotFound);
    EXPECT_EQ(Keys(store.Scan("", "", 100, first.get())), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(*store.Get("a", second.get()), "a2");
    EXPECT_EQ(store.Get("b", second.get()).code(), StatusCode::kNotFound);
    EXPECT_EQ(Keys(store.Scan("", "", 100, second.get())), (std::vector<std::string>{"a", "c"}));
    EXPECT_EQ(*store.Get("a"), "a3");
    EXPECT_EQ(Keys(store.Scan("", "", 100)), (std::vector<std::string>{"a", "b", "c"}));

    // Releasing one snapshot leaves the other intact.
    first.reset();
    ASSERT_TRUE(Put(store, "a", "a4").ok());
    EXPECT_EQ(*store.Get("a", second.get()), "a2");
    Result<std::vector<KeyValue>> seen = store.Scan("", "", 100, second.get());
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(*seen, (std::vector<KeyValue>{{"a", "a2"}, {"c", "c2"}}));
    second.reset();
    EXPECT_EQ(*store.Get("a"), "a4");
    // A snapshot of an unchanged store sees what a plain read sees.
    std::shared_ptr<const Snapshot> third = store.GetSnapshot();
    EXPECT_EQ(*store.Scan("", "", 100, third.get()), *store.Scan("", "", 100));
  });
}

// GetAppend gives Get's answer appended to the caller's buffer, and leaves it alone on error.
TYPED_TEST_P(MetaStoreContractTest, GetAppendAppendsWhatGetReturns) {
  using meta_store_contract::Delete;
  using meta_store_contract::Put;
  TypeParam::Run([](SeamWorld& world) {
    std::string large(64 * 1024, '\0');
    for (size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>((i * 131) >> 3);
    const std::vector<std::pair<std::string, std::string>> values = {
        {"v0", ""},
        {"v1", "x"},
        {"v4095", std::string(4095, 'c')},
        {"v4096", std::string(4096, 'd')},
        {"v64k", large}};
    auto check_all = [&values](MetaStore& store) {
      for (const auto& [key, value] : values) {
        SCOPED_TRACE(key);
        std::string out = "head";
        ASSERT_TRUE(store.GetAppend(key, out).ok());
        EXPECT_TRUE(out == "head" + value);
        EXPECT_TRUE(out.substr(4) == *store.Get(key));
        // Twice: a store with a cache may answer the second from it.
        out.clear();
        ASSERT_TRUE(store.GetAppend(key, out).ok());
        EXPECT_TRUE(out == value);
      }
    };
    {
      MetaStore& store = world.store();
      std::string out = "head";
      EXPECT_EQ(store.GetAppend("missing", out).code(), StatusCode::kNotFound);
      EXPECT_EQ(out, "head");
      for (const auto& [key, value] : values) ASSERT_TRUE(Put(store, key, value).ok());
      check_all(store);
      // On a snapshot: the value as it was.
      const std::shared_ptr<const Snapshot> before = store.GetSnapshot();
      ASSERT_TRUE(Put(store, "v1", "y").ok());
      out.clear();
      ASSERT_TRUE(store.GetAppend("v1", out, before.get()).ok());
      ASSERT_TRUE(store.GetAppend("v1", out).ok());
      EXPECT_EQ(out, "xy");
      ASSERT_TRUE(Delete(store, "v1").ok());
      EXPECT_EQ(store.GetAppend("v1", out).code(), StatusCode::kNotFound);
      EXPECT_EQ(out, "xy");
      ASSERT_TRUE(Put(store, "v1", "x").ok());
    }
    // After a restart the values may live elsewhere (RocksDB: tables and blob files).
    if (!world.Reopen()) return;
    check_all(world.store());
  });
}

// When Write returns ok the batch is durable.
TYPED_TEST_P(MetaStoreContractTest, AcknowledgedWritesSurvivePowerLoss) {
  using meta_store_contract::Keys;
  TypeParam::Run([](SeamWorld& world) {
    {
      WriteBatch batch;
      for (uint32_t i = 0; i < 50; ++i) {
        batch.Put(meta_store_contract::NumberedKey("k", 100 + i), std::to_string(i));
      }
      ASSERT_TRUE(world.store().Write(batch).ok());
      WriteBatch removal;
      removal.Delete("k100");
      ASSERT_TRUE(world.store().Write(removal).ok());
    }
    if (!world.Reopen()) GTEST_SKIP() << "the harness cannot lose power";
    MetaStore& store = world.store();
    EXPECT_EQ(store.Get("k100").code(), StatusCode::kNotFound);
    EXPECT_EQ(*store.Get("k149"), "49");
    EXPECT_EQ(Keys(store.Scan("k", PrefixEnd("k"), 1000)).size(), 49u);
  });
}

REGISTER_TYPED_TEST_SUITE_P(MetaStoreContractTest, GetPutDelete, BatchAppliesInOrderAsOne,
                            ConcurrentReadersNeverSeeHalfABatch, InvalidBatchesWriteNothing,
                            ScanRangesAndLimits, PrefixScansOrderBytewise,
                            SnapshotsReadThePastUntilReleased, GetAppendAppendsWhatGetReturns,
                            AcknowledgedWritesSurvivePowerLoss);

}  // namespace granary::seams_test
