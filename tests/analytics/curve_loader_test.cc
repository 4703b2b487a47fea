#include "analytics/curve_loader.h"

#include <gtest/gtest.h>

namespace granary::analytics {
namespace {

Result<std::vector<LearningCurve>> Load(const std::string& text, const CurveColumns& columns) {
  const Result<CsvTable> table = CsvTable::Parse(text);
  EXPECT_TRUE(table.ok());
  return CurveLoader::Load(table.value(), columns);
}

TEST(CurveLoader, DetectsCommonColumnNamesAndGroupsInFileOrder) {
  const Result<std::vector<LearningCurve>> curves =
      Load("model,seed,Train_Size,Loss\nb,0,10,0.5\na,0,10,0.4\nb,1,10,0.7\nb,0,20,0.3\n",
           CurveColumns{"", "", {"model"}});
  ASSERT_TRUE(curves.ok());
  ASSERT_EQ(curves.value().size(), 2u);
  const LearningCurve& b = curves.value()[0];
  EXPECT_EQ(b.name(), "b");
  ASSERT_EQ(b.size_count(), 2);
  EXPECT_EQ(b.size_groups()[0].errors.size(), 2u);  // replicates kept, not averaged away
  EXPECT_DOUBLE_EQ(b.size_groups()[0].mean_error, 0.6);
  EXPECT_EQ(b.observation_count(), 3);
  EXPECT_FALSE(b.HasReplicates());
  EXPECT_EQ(curves.value()[1].name(), "a");
}

TEST(CurveLoader, RejectsBadCellsNamingTheLine) {
  const CurveColumns columns;
  EXPECT_EQ(Load("size,error\n10,0.5\n-3,0.4\n", columns).status().message(),
            "line 3: size -3 is not positive");
  EXPECT_EQ(Load("size,error\n10,0\n", columns).status().message(),
            "line 2: error 0 is not positive");
  EXPECT_EQ(Load("size,error\n10,0.5\n20,nan\n", columns).status().message(),
            "line 3: error 'nan' is not a number");
  EXPECT_EQ(Load("size,error\n10x,0.5\n", columns).status().message(),
            "line 2: size '10x' is not a number");
  EXPECT_EQ(Load("size,acc\n10,0.5\n", columns).status().message(),
            "line 1: no error column found among (size, acc); name it with --error-col");
  EXPECT_EQ(Load("size,error\n10,0.5\n", CurveColumns{"", "", {"model"}}).status().message(),
            "line 1: no column 'model' (columns: size, error)");
}

}  // namespace
}  // namespace granary::analytics
