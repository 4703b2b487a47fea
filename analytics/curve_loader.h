// CurveLoader: turns a CsvTable into one LearningCurve per group.
//
// Contract: column names are matched exactly; when the size or error column is not given it is
// detected from common names (size: train_size, size, n, ...; error: test_error, error,
// loss, ...; case-insensitive). A missing column, a cell that is not a finite number, a
// non-positive size or error is a kInvalidArgument Status naming the line. Groups keep the order in
// which they first appear in the file; the group name joins the group-by cells with '/', or is
// "all".
#pragma once

#include <string>
#include <vector>

#include "analytics/csv_table.h"
#include "analytics/learning_curve.h"
#include "core/common/status.h"

namespace granary::analytics {

struct CurveColumns {
  std::string size_column;                 // empty: detect
  std::string error_column;                // empty: detect
  std::vector<std::string> group_columns;  // empty: one group
};

class CurveLoader {
 public:
  static Result<std::vector<LearningCurve>> Load(const CsvTable& table,
                                                 const CurveColumns& columns);
};

}  // namespace granary::analytics
