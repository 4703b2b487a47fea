// CsvTable: a comma-separated file with a header row, held as text cells.
//
// Contract: Parse() accepts RFC 4180 quoting ("a,b" and "" inside quotes), CRLF or LF line
// ends, and skips blank lines. Every data row must have as many fields as the header. A
// problem is returned as a kInvalidArgument Status naming the 1-based line number.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace granary::analytics {

class CsvTable {
 public:
  struct Row {
    int64_t line_number;  // 1-based line in the file, for messages
    std::vector<std::string> cells;
  };

  // Parses the whole text of a file. The returned table owns copies of every cell.
  static Result<CsvTable> Parse(std::string_view text);

  const std::vector<std::string>& header() const { return header_; }
  const std::vector<Row>& rows() const { return rows_; }

  // Index of the column named `name` (exact match after trimming spaces), or nullopt.
  std::optional<int> ColumnIndex(std::string_view name) const;

 private:
  std::vector<std::string> header_;
  std::vector<Row> rows_;
};

}  // namespace granary::analytics
