// Loads the real learning curves embedded under tests/analytics/data/ (copies of
// shared/data/learning_curves/, so no test depends on files outside the checkout).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "analytics/csv_table.h"
#include "analytics/curve_loader.h"

namespace granary::analytics {

inline std::vector<LearningCurve> LoadTestCurves(const std::string& file,
                                                 const CurveColumns& columns) {
  const std::string path = std::string(GRANARY_ANALYTICS_TEST_DATA) + "/" + file;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing test data " << path;
  std::stringstream text;
  text << in.rdbuf();
  const Result<CsvTable> table = CsvTable::Parse(text.str());
  EXPECT_TRUE(table.ok()) << path;
  if (!table.ok()) return {};
  Result<std::vector<LearningCurve>> curves = CurveLoader::Load(table.value(), columns);
  EXPECT_TRUE(curves.ok()) << path;
  if (!curves.ok()) return {};
  return std::move(curves).value();
}

inline std::vector<LearningCurve> LoadSklearnCurves() {
  return LoadTestCurves("sklearn_curves.csv", CurveColumns{"", "", {"dataset", "model"}});
}

inline std::vector<LearningCurve> LoadNmtCurves() {
  return LoadTestCurves("nmt_alabdulmohsin2022.csv",
                        CurveColumns{"Seen Examples", "Loss", {"Model"}});
}

inline LearningCurve LoadSklearnCurve(const std::string& name) {
  for (LearningCurve& curve : LoadSklearnCurves()) {
    if (curve.name() == name) return curve;
  }
  ADD_FAILURE() << "no curve " << name;
  return LearningCurve(name, std::vector<Observation>{{1, 1}, {2, 1}});
}

}  // namespace granary::analytics
