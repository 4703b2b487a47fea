// The names of a replica's files: data and meta files, and anchors.
#include "core/datanode/replica_files.h"

#include <gtest/gtest.h>

#include "core/common/limits.h"

namespace granary::testing {
namespace {

TEST(ReplicaFileNameTest, MakesAndParsesDataAndMetaNames) {
  const std::string data = ReplicaFileName::Make(ReplicaState::kWriting, BlockId(12),
                                                 GenerationStamp(3), ReplicaFileKind::kData);
  EXPECT_EQ(data, "rbw_12_3.data");
  const std::optional<ReplicaFileName> parsed = ReplicaFileName::Parse(data);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->block_id, BlockId(12));
  EXPECT_EQ(parsed->generation_stamp, GenerationStamp(3));
  EXPECT_EQ(parsed->state, ReplicaState::kWriting);
  EXPECT_EQ(parsed->kind, ReplicaFileKind::kData);
  const std::optional<ReplicaFileName> meta = ReplicaFileName::Parse("blk_7_9.meta");
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->state, ReplicaState::kFinalized);
  EXPECT_EQ(meta->kind, ReplicaFileKind::kMeta);
  for (const char* bad : {"blk_0_1.data", "blk_1_0.data", "blk_01_1.data", "blk_1.data",
                          "blk_1_1.dat", "xyz_1_1.data", "storage_id", "tail_1_5_7"}) {
    EXPECT_FALSE(ReplicaFileName::Parse(bad).has_value()) << bad;
  }
}

TEST(ReplicaAnchorTest, RoundTripsThroughItsFileName) {
  const ReplicaAnchor anchor{BlockId(42), kChecksumChunkBytes + 1234, 0xfedcba98u};
  const std::string name = anchor.FileName();
  EXPECT_TRUE(IsValidDiskFileName(name));
  const std::optional<ReplicaAnchor> parsed = ReplicaAnchor::Parse(name);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, anchor);
  // Not an anchor: other files, a zero block id, a chunk-aligned length (a whole chunk's CRC
  // is never replaced), a CRC past 32 bits, trailing fields.
  for (const std::string& bad :
       {std::string("rbw_1_1.data"), std::string("tail_0_5_7"),
        "tail_1_" + std::to_string(kChecksumChunkBytes) + "_7", std::string("tail_1_5_4294967296"),
        std::string("tail_1_5_7_8"), std::string("tail_1_5"), std::string("tail_1_05_7")}) {
    EXPECT_FALSE(ReplicaAnchor::Parse(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace granary::testing
