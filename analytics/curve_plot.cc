#include "analytics/curve_plot.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <string>

namespace granary::analytics {
namespace {

constexpr double kLeftPx = 80;
constexpr double kRightPx = 30;
constexpr double kTopPx = 56;
constexpr double kBottomPx = 64;
constexpr Color kBlack{0, 0, 0};
constexpr Color kGrey{150, 150, 150};
constexpr Color kLightGrey{225, 225, 225};
constexpr Color kTargetRed{200, 30, 30};
constexpr Color kPalette[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},
                              {148, 103, 189}, {140, 86, 75},  {227, 119, 194}};

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// Maps data (size, error) to pixels on log-log axes.
struct Axes {
  double log_x_min, log_x_max, log_y_min, log_y_max;
  Point2 Map(double size, double error) const {
    const double plot_w = CurvePlot::kWidthPx - kLeftPx - kRightPx;
    const double plot_h = CurvePlot::kHeightPx - kTopPx - kBottomPx;
    return Point2{kLeftPx + (std::log10(size) - log_x_min) / (log_x_max - log_x_min) * plot_w,
                  kTopPx + (log_y_max - std::log10(error)) / (log_y_max - log_y_min) * plot_h};
  }
};

// Tick values 1, 2, 5 x 10^k inside [lo, hi] (log10 bounds), or only powers of ten when the
// range spans more than three decades.
std::vector<double> Ticks(double log_lo, double log_hi) {
  const bool decades_only = log_hi - log_lo > 3;
  std::vector<double> ticks;
  for (int exponent = static_cast<int>(std::floor(log_lo)); exponent <= std::ceil(log_hi);
       ++exponent) {
    for (double mantissa : {1.0, 2.0, 5.0}) {
      if (decades_only && mantissa != 1.0) continue;
      const double value = mantissa * std::pow(10.0, exponent);
      if (std::log10(value) >= log_lo && std::log10(value) <= log_hi) ticks.push_back(value);
    }
  }
  return ticks;
}

std::string TickLabel(double value) {
  if (value >= 1e6) return Format("%.0e", value);
  return Format("%g", value);
}

void DrawFrame(const Axes& axes, PlotCanvas* canvas) {
  const double right = CurvePlot::kWidthPx - kRightPx;
  const double bottom = CurvePlot::kHeightPx - kBottomPx;
  for (double x : Ticks(axes.log_x_min, axes.log_x_max)) {
    const double px = axes.Map(x, 1).x;
    canvas->Polyline({{px, kTopPx}, {px, bottom}}, kLightGrey, 1, Stroke::kSolid);
    canvas->Text({px, bottom + 18}, TickLabel(x), 13, Anchor::kMiddle, kBlack);
  }
  for (double y : Ticks(axes.log_y_min, axes.log_y_max)) {
    const double py = axes.Map(1, y).y;
    canvas->Polyline({{kLeftPx, py}, {right, py}}, kLightGrey, 1, Stroke::kSolid);
    canvas->Text({kLeftPx - 6, py + 4}, TickLabel(y), 13, Anchor::kEnd, kBlack);
  }
  canvas->Polyline(
      {{kLeftPx, kTopPx}, {kLeftPx, bottom}, {right, bottom}, {right, kTopPx}, {kLeftPx, kTopPx}},
      kBlack, 1, Stroke::kSolid);
  canvas->Text({(kLeftPx + right) / 2, CurvePlot::kHeightPx - 18},
               "training-set size (samples, log scale)", 15, Anchor::kMiddle, kBlack);
  canvas->Text({16, kTopPx - 14}, "test error (log scale)", 15, Anchor::kStart, kBlack);
}

Axes FitAxes(const std::vector<PlottedCurve>& curves, double target_error) {
  double x_min = INFINITY, x_max = 0, y_min = INFINITY, y_max = 0;
  for (const PlottedCurve& plotted : curves) {
    assert(!plotted.report->band.empty());
    for (const LearningCurve::SizeGroup& group : plotted.curve->size_groups()) {
      x_min = std::min(x_min, group.size);
      for (double error : group.errors) {
        y_min = std::min(y_min, error);
        y_max = std::max(y_max, error);
      }
    }
    for (const BandPoint& point : plotted.report->band) {
      x_max = std::max(x_max, point.size);
      y_min = std::min(y_min, std::isnan(point.ci.low) ? point.error : point.ci.low);
    }
  }
  if (!std::isnan(target_error)) y_min = std::min(y_min, target_error);
  return Axes{std::log10(x_min) - 0.1, std::log10(x_max) + 0.05, std::log10(y_min) - 0.08,
              std::log10(y_max) + 0.08};
}

void DrawCurve(const PlottedCurve& plotted, const Axes& axes, Color color, PlotCanvas* canvas) {
  const CurveReport& report = *plotted.report;
  const std::vector<BandPoint>& band = report.band;
  if (!std::isnan(band.front().ci.low)) {
    std::vector<Point2> outline;
    for (const BandPoint& point : band) outline.push_back(axes.Map(point.size, point.ci.high));
    for (auto it = band.rbegin(); it != band.rend(); ++it) {
      outline.push_back(axes.Map(it->size, std::max(it->ci.low, 1e-300)));
    }
    canvas->Polygon(outline, color, 0.18);
  }
  // Solid over the fitted sizes, dashed where the fit extrapolates.
  std::vector<Point2> before, inside, after;
  for (const BandPoint& point : band) {
    const Point2 pixel = axes.Map(point.size, point.error);
    if (point.size <= report.small_data_cutoff) before.push_back(pixel);
    if (point.size >= report.small_data_cutoff && point.size <= report.fit_size_max) {
      inside.push_back(pixel);
    }
    if (point.size >= report.fit_size_max) after.push_back(pixel);
  }
  if (before.size() >= 2) canvas->Polyline(before, color, 2, Stroke::kDashed);
  if (inside.size() >= 2) canvas->Polyline(inside, color, 2.5, Stroke::kSolid);
  if (after.size() >= 2) canvas->Polyline(after, color, 2, Stroke::kDashed);
  for (const LearningCurve::SizeGroup& group : plotted.curve->size_groups()) {
    const bool excluded = group.size < report.small_data_cutoff;
    const bool held_out = group.size > report.fit_size_max;
    for (double error : group.errors) {
      canvas->Disc(axes.Map(group.size, error), 2.2, excluded ? kGrey : color, 0.35);
    }
    const Color mean_color = excluded ? kGrey : held_out ? kBlack : color;
    canvas->Disc(axes.Map(group.size, group.mean_error), held_out ? 5 : 4, mean_color, 0.95);
  }
  if (report.fit.params.c > 0) {
    const Point2 left = axes.Map(band.front().size, report.fit.params.c);
    const Point2 right = axes.Map(band.back().size, report.fit.params.c);
    if (left.y < CurvePlot::kHeightPx - kBottomPx) {
      canvas->Polyline({left, right}, kGrey, 1, Stroke::kDashed);
      canvas->Text({right.x - 4, right.y - 5}, "floor c = " + Format("%.4g", report.fit.params.c),
                   12, Anchor::kEnd, kGrey);
    }
  }
}

void DrawTarget(const std::vector<PlottedCurve>& curves, double target_error, const Axes& axes,
                PlotCanvas* canvas) {
  const double right = CurvePlot::kWidthPx - kRightPx;
  const double bottom = CurvePlot::kHeightPx - kBottomPx;
  const double y = axes.Map(1, target_error).y;
  canvas->Polyline({{kLeftPx, y}, {right, y}}, kTargetRed, 1.5, Stroke::kDashed);
  canvas->Text({kLeftPx + 6, y - 6}, "target error " + Format("%g", target_error), 13,
               Anchor::kStart, kTargetRed);
  for (const PlottedCurve& plotted : curves) {
    const double size = plotted.report->roi.samples_for_target;
    if (!std::isfinite(size) || size > std::pow(10.0, axes.log_x_max)) continue;
    const double x = axes.Map(size, target_error).x;
    canvas->Polyline({{x, y}, {x, bottom}}, kTargetRed, 1.5, Stroke::kDashed);
    canvas->Text({x + 4, bottom - 8}, Format("%.0f samples", size), 13, Anchor::kStart, kTargetRed);
  }
}

}  // namespace

void CurvePlot::Draw(const std::vector<PlottedCurve>& curves, double target_error,
                     PlotCanvas* canvas) {
  assert(!curves.empty());
  const Axes axes = FitAxes(curves, target_error);
  DrawFrame(axes, canvas);
  const size_t palette = sizeof(kPalette) / sizeof(kPalette[0]);
  for (size_t i = 0; i < curves.size(); ++i) {
    DrawCurve(curves[i], axes, kPalette[i % palette], canvas);
  }
  if (!std::isnan(target_error)) DrawTarget(curves, target_error, axes, canvas);

  // Legend: one line per curve, then the marks.
  double y = kTopPx + 20;
  const double x = kWidthPx - kRightPx - 12;
  for (size_t i = 0; i < curves.size(); ++i) {
    const CurveReport& report = *curves[i].report;
    std::string line = report.name + ": " + std::string(ModelName(report.fit.params.kind)) +
                       ", b = " + Format("%.3f", report.fit.params.b);
    if (!std::isnan(report.b_ci.low)) {
      line +=
          " [" + Format("%.3f", report.b_ci.low) + ", " + Format("%.3f", report.b_ci.high) + "]";
    }
    canvas->Text({x, y}, line, 13, Anchor::kEnd, kPalette[i % palette]);
    y += 17;
  }
  canvas->Text({x, y}, "dots: runs; big dots: mean per size (black: held out, grey: small-data)",
               11, Anchor::kEnd, kGrey);
  canvas->Text({x, y + 14},
               "line: fit (dashed: extrapolated); band: " +
                   Format("%.0f%%", 100 * curves.front().report->ci_level) + " interval (bootstrap + extrapolation)",
               11, Anchor::kEnd, kGrey);
  canvas->Text({kWidthPx / 2.0, 30}, "Learning curve and projection (roi-fit)", 17, Anchor::kMiddle,
               kBlack);
}

}  // namespace granary::analytics
