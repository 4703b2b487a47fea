// SvgCanvas: a PlotCanvas that accumulates an SVG document.
#pragma once

#include <string>

#include "analytics/plot_canvas.h"

namespace granary::analytics {

class SvgCanvas : public PlotCanvas {
 public:
  SvgCanvas(int width_px, int height_px);

  void Polyline(const std::vector<Point2>& points, Color color, double width,
                Stroke stroke) override;
  void Polygon(const std::vector<Point2>& points, Color color, double opacity) override;
  void Disc(Point2 center, double radius, Color color, double opacity) override;
  void Text(Point2 at, const std::string& text, double height, Anchor anchor, Color color) override;

  // The complete document.
  std::string Finish() const;

 private:
  int width_px_;
  int height_px_;
  std::string body_;
};

}  // namespace granary::analytics
