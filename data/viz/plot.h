// Simple charts rendered straight to an Image, for the PNG outputs of the commands: train's loss and
// accuracy curves, verify's ROC curve (log-x at small false-accept rates), the look-alike top-k bars.
// A chart is white, with axes, ~5 "nice" ticks per axis (steps of 1, 2 or 5 x 10^k; powers of ten on a
// log axis) and numeric tick labels, a title, axis labels and a legend with colour swatches. Text uses
// the 5x7 font of data/viz/draw.h. Nothing here throws on odd data: NaN/inf points are skipped (the polyline
// breaks there), empty or all-NaN input gives empty axes. Only a size outside 64x48 .. 16384x16384
// pixels (and bar_chart labels/values of different lengths) is refused, with an fk::Error.
// Tests: tests/data/viz/test_plot.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/viz/draw.h"
#include "data/image/image.h"

namespace fk::data {

// One curve: points (x[i], y[i]) for i < min(x.size(), y.size()), joined in order.
struct Series {
  std::string name;  // shown in the legend (no legend entry when empty)
  std::vector<double> x, y;
  Rgb color;
};

struct PlotOptions {
  std::string title, x_label, y_label;
  int64_t width = 640, height = 480;
  // Axis ranges; when absent, the finite data's min..max widened to the enclosing nice ticks (to whole
  // powers of ten on a log axis). A single value v gets v +- |v|/2 (-1..1 for 0); no data at all gets
  // 0..1, or 1e-3..1 on a log axis. A given range is used as it is (its ends in either order).
  std::optional<std::pair<double, double>> x_range, y_range;
  bool log_x = false;  // log10 x axis (points with x <= 0 are skipped), ticks at powers of ten
};

// The series as polylines (2 px wide) over a shared pair of axes; a point with no usable neighbour is a
// dot. The legend (named series only) sits in the plot corner that hides the least data.
Image line_plot(const std::vector<Series>& series, const PlotOptions& opts = {});

// Horizontal bars, one per label, top to bottom in the given order, each with its label on the left
// and its value printed at the bar's end. Values on the x axis (range from x_range, else 0..max, or
// min..0 for negatives); y_label is unused. labels and values must have the same length (else
// fk::Error). `color` is the bars' colour.
Image bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                const PlotOptions& opts = {}, Rgb color = {31, 119, 180});

// The tick positions of a "nice" axis covering [lo, hi]: multiples of a step of 1, 2 or 5 x 10^k chosen
// so that about `target` ticks fall inside [lo, hi] (exposed for tests and for callers drawing their own
// axes). Empty when lo or hi is not finite or lo > hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// A tick label for value v on an axis with tick spacing `step`: fixed-point with just the decimals the
// step needs ("0.25", "200", "-1.5"), scientific beyond 1e6 or for steps below 1e-4 ("2.5e-5", "3e7").
std::string tick_label(double v, double step);

}  // namespace fk::data
