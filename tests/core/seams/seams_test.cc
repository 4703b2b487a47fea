// The seams' shared code (core/seams/seams.cc): disk file names, batch validation, the default
// MetaStore::GetAppend and PrefixEnd. The typed contract suites in tests/seams/ run each seam's
// implementations; these check the pieces every implementation shares.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "core/common/limits.h"
#include "core/seams/disk.h"
#include "core/seams/meta_store.h"

namespace granary {
namespace {

TEST(DiskFileNameTest, AcceptsPlainNamesUpToTheLimit) {
  EXPECT_TRUE(IsValidDiskFileName("blk_1_2.data"));
  EXPECT_TRUE(IsValidDiskFileName("storage_id.tmp"));
  EXPECT_TRUE(IsValidDiskFileName("A-z.0_9"));
  EXPECT_TRUE(IsValidDiskFileName(std::string(kDiskFileNameBytesMax, 'a')));
  EXPECT_FALSE(IsValidDiskFileName(std::string(kDiskFileNameBytesMax + 1, 'a')));
}

TEST(DiskFileNameTest, RefusesEmptyDotsSeparatorsAndOtherBytes) {
  for (const std::string name :
       {"", ".", "..", "a/b", "../x", "a b", "tab\t", "star*", "\xc3\xa9"}) {
    EXPECT_FALSE(IsValidDiskFileName(name)) << name;
  }
  EXPECT_FALSE(IsValidDiskFileName(std::string("a\0b", 3)));
  EXPECT_TRUE(IsValidDiskFileName("..."));  // not a path component of its own
}

TEST(WriteBatchTest, ValidatesKeysValuesAndCount) {
  WriteBatch good;
  good.Put(std::string(kMetaKeyBytesMax, 'k'), std::string(kMetaValueBytesMax, 'v'));
  good.Put("k", "");
  good.Delete("d");
  EXPECT_TRUE(good.Validate().ok());

  WriteBatch empty_key;
  empty_key.Put("", "v");
  EXPECT_EQ(empty_key.Validate().code(), StatusCode::kInvalidArgument);
  WriteBatch empty_delete;
  empty_delete.Delete("");
  EXPECT_EQ(empty_delete.Validate().code(), StatusCode::kInvalidArgument);
  WriteBatch long_key;
  long_key.Delete(std::string(kMetaKeyBytesMax + 1, 'k'));
  EXPECT_EQ(long_key.Validate().code(), StatusCode::kInvalidArgument);
  WriteBatch long_value;
  long_value.Put("k", std::string(kMetaValueBytesMax + 1, 'v'));
  EXPECT_EQ(long_value.Validate().code(), StatusCode::kInvalidArgument);

  WriteBatch full;
  for (uint32_t i = 0; i < kMetaBatchOpsMax; ++i) full.Delete("k");
  EXPECT_TRUE(full.Validate().ok());
  full.Delete("k");
  EXPECT_EQ(full.Validate().code(), StatusCode::kInvalidArgument);
}

// Only Get answers; the rest are not used by GetAppend's default.
class MapStore : public MetaStore {
 public:
  Result<std::string> Get(std::string_view key, const Snapshot*) override {
    ++gets_;
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return Status(StatusCode::kNotFound, std::string(key));
    return it->second;
  }
  Result<std::vector<KeyValue>> Scan(std::string_view, std::string_view, uint32_t,
                                     const Snapshot*) override {
    return Status(StatusCode::kUnimplemented, "scan");
  }
  Status Write(const WriteBatch&) override { return Status(StatusCode::kUnimplemented, "write"); }
  std::shared_ptr<const Snapshot> GetSnapshot() override { return nullptr; }

  std::map<std::string, std::string> values_;
  int gets_ = 0;
};

TEST(MetaStoreTest, GetAppendAppendsOrLeavesTheBufferAsItWas) {
  MapStore store;
  store.values_["a"] = "alpha";
  store.values_["b"] = "";
  std::string out = "x:";
  ASSERT_TRUE(store.GetAppend("a", out).ok());
  EXPECT_EQ(out, "x:alpha");
  ASSERT_TRUE(store.GetAppend("b", out).ok());
  EXPECT_EQ(out, "x:alpha");
  EXPECT_EQ(store.GetAppend("missing", out).code(), StatusCode::kNotFound);
  EXPECT_EQ(out, "x:alpha");
  EXPECT_EQ(store.gets_, 3);
}

TEST(PrefixEndTest, IsTheSmallestKeyAfterThePrefix) {
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd("ab"), "ac");
  EXPECT_EQ(PrefixEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\xfe", 2)), std::string("a\xff", 2));
  EXPECT_EQ(PrefixEnd(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixEnd(""), "");
  // Every key with the prefix sorts below the end; the prefix's successor does not.
  const std::string prefix = "dir/";
  const std::string end = PrefixEnd(prefix);
  EXPECT_LT(prefix + std::string(10, '\xff'), end);
  EXPECT_GE(std::string("dir0"), end);
}

}  // namespace
}  // namespace granary
