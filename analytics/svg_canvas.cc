#include "analytics/svg_canvas.h"

#include <cstdio>

namespace granary::analytics {
namespace {

std::string Hex(Color color) {
  char text[8];
  std::snprintf(text, sizeof(text), "#%02x%02x%02x", color.red, color.green, color.blue);
  return text;
}

std::string Points(const std::vector<Point2>& points) {
  std::string text;
  char pair[64];
  for (const Point2& point : points) {
    std::snprintf(pair, sizeof(pair), "%.1f,%.1f ", point.x, point.y);
    text += pair;
  }
  return text;
}

std::string Escape(const std::string& text) {
  std::string escaped;
  for (char ch : text) {
    if (ch == '<') {
      escaped += "&lt;";
    } else if (ch == '>') {
      escaped += "&gt;";
    } else if (ch == '&') {
      escaped += "&amp;";
    } else {
      escaped += ch;
    }
  }
  return escaped;
}

}  // namespace

SvgCanvas::SvgCanvas(int width_px, int height_px) : width_px_(width_px), height_px_(height_px) {}

void SvgCanvas::Polyline(const std::vector<Point2>& points, Color color, double width,
                         Stroke stroke) {
  char attributes[128];
  std::snprintf(attributes, sizeof(attributes), "stroke-width=\"%.1f\"%s", width,
                stroke == Stroke::kDashed ? " stroke-dasharray=\"6,4\"" : "");
  body_ += "<polyline fill=\"none\" stroke=\"" + Hex(color) + "\" " + attributes + " points=\"" +
           Points(points) + "\"/>\n";
}

void SvgCanvas::Polygon(const std::vector<Point2>& points, Color color, double opacity) {
  char attributes[64];
  std::snprintf(attributes, sizeof(attributes), "fill-opacity=\"%.2f\"", opacity);
  body_ += "<polygon stroke=\"none\" fill=\"" + Hex(color) + "\" " + attributes + " points=\"" +
           Points(points) + "\"/>\n";
}

void SvgCanvas::Disc(Point2 center, double radius, Color color, double opacity) {
  char text[160];
  std::snprintf(text, sizeof(text),
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\" fill-opacity=\"%.2f\"/>\n",
                center.x, center.y, radius, Hex(color).c_str(), opacity);
  body_ += text;
}

void SvgCanvas::Text(Point2 at, const std::string& text, double height, Anchor anchor,
                     Color color) {
  const char* anchor_name = anchor == Anchor::kStart    ? "start"
                            : anchor == Anchor::kMiddle ? "middle"
                                                        : "end";
  char attributes[160];
  std::snprintf(attributes, sizeof(attributes),
                "x=\"%.1f\" y=\"%.1f\" font-size=\"%.0f\" text-anchor=\"%s\" fill=\"%s\"", at.x,
                at.y, height, anchor_name, Hex(color).c_str());
  body_ += std::string("<text font-family=\"sans-serif\" ") + attributes + ">" + Escape(text) +
           "</text>\n";
}

std::string SvgCanvas::Finish() const {
  char header[256];
  std::snprintf(header, sizeof(header),
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                width_px_, height_px_, width_px_, height_px_);
  return header + body_ + "</svg>\n";
}

}  // namespace granary::analytics
