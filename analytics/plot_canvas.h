// PlotCanvas: the few drawing primitives a learning-curve plot needs, in pixel coordinates
// (origin top left, y down). SvgCanvas writes them as SVG text; PngCanvas rasterises them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::analytics {

struct Point2 {
  double x = 0;
  double y = 0;
};

struct Color {
  uint8_t red = 0;
  uint8_t green = 0;
  uint8_t blue = 0;
};

enum class Stroke { kSolid, kDashed };
enum class Anchor { kStart, kMiddle, kEnd };

class PlotCanvas {
 public:
  virtual ~PlotCanvas() = default;
  virtual void Polyline(const std::vector<Point2>& points, Color color, double width,
                        Stroke stroke) = 0;
  // A filled polygon with opacity in [0, 1].
  virtual void Polygon(const std::vector<Point2>& points, Color color, double opacity) = 0;
  virtual void Disc(Point2 center, double radius, Color color, double opacity) = 0;
  // One line of ASCII text with its baseline at `at`; height in pixels.
  virtual void Text(Point2 at, const std::string& text, double height, Anchor anchor,
                    Color color) = 0;
};

}  // namespace granary::analytics
