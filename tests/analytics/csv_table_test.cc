#include "analytics/csv_table.h"

#include <gtest/gtest.h>

namespace granary::analytics {
namespace {

TEST(CsvTable, ParsesHeaderRowsQuotesAndLineNumbers) {
  const Result<CsvTable> table = CsvTable::Parse("a, b ,c\r\n1,\"x,\"\"y\"\"\",3\n\n4,5,6\n");
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table.value().header(), (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(table.value().rows().size(), 2u);
  EXPECT_EQ(table.value().rows()[0].cells[1], "x,\"y\"");
  EXPECT_EQ(table.value().rows()[1].line_number, 4);  // the blank line 3 is skipped
  EXPECT_EQ(table.value().ColumnIndex("b"), 1);
  EXPECT_FALSE(table.value().ColumnIndex("z").has_value());
}

TEST(CsvTable, NamesTheLineOfAMalformedRow) {
  const Result<CsvTable> short_row = CsvTable::Parse("a,b\n1,2\n3\n");
  ASSERT_FALSE(short_row.ok());
  EXPECT_EQ(short_row.status().message(), "line 3: has 1 fields, the header has 2");
  const Result<CsvTable> open_quote = CsvTable::Parse("a,b\n\"1,2\n");
  ASSERT_FALSE(open_quote.ok());
  EXPECT_EQ(open_quote.status().message(), "line 2: a quoted field is not closed");
  EXPECT_FALSE(CsvTable::Parse("").ok());
}

}  // namespace
}  // namespace granary::analytics
