#include "analytics/curve_plot.h"

#include <gtest/gtest.h>

#include "analytics/svg_canvas.h"
#include "tests/analytics/synthetic_curve.h"

namespace granary::analytics {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

TEST(CurvePlot, SvgHasPointsFitBandTargetAndLabels) {
  SyntheticSpec spec;
  spec.truth = CurveParams{ModelKind::kPowerLawFloor, 3.0, -0.4, 0.02, 0, 0};
  spec.runs_per_size = 3;
  const LearningCurve curve = MakeSyntheticCurve(spec, 11);
  AnalysisOptions options;
  options.bootstrap_resamples = 100;
  options.holdout_fraction = 0.2;
  options.roi.target_error = 0.05;
  const Result<CurveReport> report = CurveAnalysis::Run(curve, options);
  ASSERT_TRUE(report.ok());
  SvgCanvas canvas(CurvePlot::kWidthPx, CurvePlot::kHeightPx);
  CurvePlot::Draw({{&curve, &report.value()}}, options.roi.target_error, &canvas);
  const std::string svg = canvas.Finish();
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(Count(svg, "<circle"), 15u * 3 + 15);  // every run and every size's mean
  EXPECT_EQ(Count(svg, "<polygon"), 1u);           // the band
  EXPECT_NE(svg.find("target error 0.05"), std::string::npos);
  EXPECT_NE(svg.find("samples</text>"), std::string::npos);
  EXPECT_NE(svg.find("training-set size"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  EXPECT_EQ(svg.find("inf"), std::string::npos);
}

}  // namespace
}  // namespace granary::analytics
