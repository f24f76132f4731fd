// Line plots and horizontal bar charts drawn straight into an Image (see plot.h).
// The pieces, in the order a chart is made:
//   1. axes: each axis's range (given, or the data's widened to nice ticks) and its ticks;
//   2. layout: margins sized to the title, axis labels and tick labels; what is left is the plot area;
//   3. canvas: the plot area as its own white Image with grid lines and the data, so anything outside
//      the axis ranges is clipped for free; pasted into the chart;
//   4. frame, ticks, tick labels, title, axis labels and legend on top.
// Tests: tests/data/viz/test_plot.cpp.
#include "data/viz/plot.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <cstdio>
#include <limits>

#include "tensor/error.h"

namespace fk::data {

namespace {

constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0};
constexpr Rgb kGrid{225, 225, 225}, kLegendBorder{160, 160, 160};
constexpr int64_t kPad = 8;   // outer margin and gap between elements
constexpr int64_t kTick = 4;  // tick mark length outside the frame

// ---------------------------------------------------------------------------------------------------
// Nice ticks

// The step 1, 2 or 5 x 10^k closest to giving `target` intervals over [lo, hi]; 0 when there is none.
double nice_step(double lo, double hi, int target) {
  const double span = hi - lo;
  if (!std::isfinite(span) || span <= 0 || target < 1) return 0;
  const double raw = span / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;  // in [1, 10)
  const double m = r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10;
  return m * mag;
}

// Decimal digits needed to print multiples of `step` exactly (0.25 -> 2, 0.2 -> 1, 5 -> 0).
int decimals_for(double step) {
  for (int d = 0; d < 15; ++d) {
    const double s = step * std::pow(10.0, d);
    if (std::abs(s - std::round(s)) <= 1e-6 * std::max(1.0, s)) return d;
  }
  return 15;
}

// "2.5e-05" -> "2.5e-5", "1e+06" -> "1e6": C's %e pads the exponent to two digits and writes '+'.
std::string compact_exponent(std::string s) {
  const size_t e = s.find('e');
  if (e == std::string::npos) return s;
  std::string mant = s.substr(0, e), exp = s.substr(e + 1);
  const bool neg = !exp.empty() && exp[0] == '-';
  if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) exp.erase(0, 1);
  while (exp.size() > 1 && exp[0] == '0') exp.erase(0, 1);
  return mant + "e" + (neg ? "-" : "") + exp;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) return {};
  if (lo == hi) return {lo};
  const double step = nice_step(lo, hi, target);
  if (step == 0) return {lo, hi};
  // Ticks are k * step for whole k (no running sum, so no drift); tolerances absorb rounding at the ends.
  const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
  if (!(k1 - k0 < 1000) || std::abs(k0) > 1e15 || std::abs(k1) > 1e15) return {lo, hi};  // span below precision
  std::vector<double> ticks;
  for (double k = k0; k <= k1; ++k) ticks.push_back(k == 0 ? 0.0 : k * step);
  return ticks;
}

std::string tick_label(double v, double step) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  if (!(step > 0) || !std::isfinite(step)) step = std::abs(v) > 0 ? std::abs(v) : 1;
  if (std::abs(v) < step * 1e-6) v = 0;  // no "-0" or "1e-17" for a tick meant to be zero
  char buf[64];
  const double a = std::abs(v);
  if (a < 1e6 && step >= 1e-4) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals_for(step), v);
    return buf;
  }
  // Scientific: as many mantissa digits as the step needs relative to this value's power of ten.
  const double e = a > 0 ? std::floor(std::log10(a)) : 0;
  const int digits = std::min(decimals_for(step / std::pow(10.0, e)), 6);
  std::snprintf(buf, sizeof buf, "%.*e", digits, v);
  return compact_exponent(buf);
}

namespace {

// ---------------------------------------------------------------------------------------------------
// Axes

struct Axis {
  double lo = 0, hi = 1;  // range in plotted units (log10 of the data on a log axis)
  bool log = false;
  std::vector<double> ticks;  // in plotted units
  std::vector<std::string> labels;
};

std::string log_tick_label(double exponent) {
  const int k = int(std::lround(exponent));
  if (k >= -4 && k <= 5) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, -k), std::pow(10.0, k));
    return buf;
  }
  return "1e" + std::to_string(k);
}

// Ranges far beyond any real data are pinned, so hi - lo stays finite.
constexpr double kHuge = 1e307;

// A linear axis over `values` (finite ones only), or over `given` when it is a usable range.
Axis linear_axis(const std::vector<double>& values, const std::optional<std::pair<double, double>>& given,
                 bool zero_based = false) {
  Axis ax;
  bool from_data = true;
  if (given && std::isfinite(given->first) && std::isfinite(given->second)) {
    ax.lo = std::min(given->first, given->second), ax.hi = std::max(given->first, given->second);
    from_data = false;
  } else {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (zero_based && lo <= hi) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
    if (lo > hi) lo = 0, hi = 1;  // no data at all
    ax.lo = lo, ax.hi = hi;
  }
  if (ax.lo == ax.hi) {  // one value v: v +- |v|/2 (or +-1 around zero)
    const double half = ax.lo != 0 ? std::abs(ax.lo) / 2 : 1;
    ax.lo -= half, ax.hi += half;
  }
  ax.lo = std::clamp(ax.lo, -kHuge, kHuge), ax.hi = std::clamp(ax.hi, -kHuge, kHuge);
  const double step = nice_step(ax.lo, ax.hi, 5);
  if (from_data && step > 0) {  // widen to the enclosing ticks, so the data ends on a labelled line
    ax.lo = std::floor(ax.lo / step + 1e-9) * step;
    ax.hi = std::ceil(ax.hi / step - 1e-9) * step;
  }
  ax.ticks = nice_ticks(ax.lo, ax.hi, 5);
  for (double t : ax.ticks) ax.labels.push_back(tick_label(t, step));
  return ax;
}

// A log10 axis: plotted units are exponents; ticks at the whole powers of ten inside the range.
Axis log_axis(const std::vector<double>& values, const std::optional<std::pair<double, double>>& given) {
  Axis ax;
  ax.log = true;
  if (given && given->first > 0 && given->second > 0 && std::isfinite(given->first) &&
      std::isfinite(given->second)) {
    ax.lo = std::log10(std::min(given->first, given->second));
    ax.hi = std::log10(std::max(given->first, given->second));
  } else {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values)
      if (std::isfinite(v) && v > 0) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
    if (lo > hi) lo = -3, hi = 0;  // no positive data: 1e-3 .. 1
    // whole decades; the tolerance keeps 10^(-6 + 60 * 0.1) = 1.0000000000000002 in the decade of 1
    ax.lo = std::floor(lo + 1e-9), ax.hi = std::ceil(hi - 1e-9);
  }
  if (ax.lo == ax.hi) ax.lo -= 1, ax.hi += 1;
  // Thin out to at most ~10 labelled powers (every 2nd, 5th, ... decade) on very wide ranges.
  const double every = std::max(1.0, std::ceil((ax.hi - ax.lo) / 10));
  for (double k = std::ceil(ax.lo - 1e-9); k <= ax.hi + 1e-9; ++k)
    if (std::fmod(k, every) == 0) ax.ticks.push_back(k), ax.labels.push_back(log_tick_label(k));
  return ax;
}

// ---------------------------------------------------------------------------------------------------
// Layout: the plot area in chart pixels, corners included.

struct Area {
  int64_t left, top, right, bottom;
  int64_t width() const { return right - left + 1; }
  int64_t height() const { return bottom - top + 1; }
};

int title_scale(const std::string& title, int64_t width) {
  return text_width(title, 2) <= width - 2 * kPad ? 2 : 1;
}

int64_t widest(const std::vector<std::string>& labels) {
  int64_t w = 0;
  for (const auto& l : labels) w = std::max(w, text_width(l));
  return w;
}

// Margins: top holds the title and the y label (written horizontally above the y axis); bottom the
// x tick labels and the x label; left the y tick labels (`left_labels` px wide); right half of the
// last x tick label.
Area layout(const PlotOptions& opts, int64_t left_labels, int64_t right_overhang) {
  int64_t top = kPad;
  if (!opts.title.empty()) top += text_height(title_scale(opts.title, opts.width)) + kPad;
  top += opts.y_label.empty() ? 4 : text_height() + 6;  // room for the top tick label's upper half too
  int64_t bottom = opts.height - 1 - kPad - kTick - 2 - text_height();
  if (!opts.x_label.empty()) bottom -= text_height() + 6;
  int64_t left = std::min(kPad + left_labels + kTick + 3, opts.width / 2);
  int64_t right = opts.width - 1 - std::max(kPad + 4, right_overhang + 2);
  // tiny charts: keep at least a 2x2 plot area rather than fail
  right = std::max(right, left + 1), bottom = std::max(bottom, top + 1);
  return {left, top, right, bottom};
}

void check_size(const PlotOptions& opts, const char* what) {
  FK_CHECK(opts.width >= 64 && opts.height >= 48 && opts.width <= 16384 && opts.height <= 16384, what,
           ": chart size ", opts.width, "x", opts.height, " is outside 64x48 .. 16384x16384");
}

// Plotted value -> pixel offset inside an axis of `pixels` pixels (0 at lo, pixels - 1 at hi).
double to_offset(double v, const Axis& ax, int64_t pixels) {
  return (v - ax.lo) / (ax.hi - ax.lo) * double(pixels - 1);
}

// Copies `canvas` into `img` with its top-left corner at (x, y).
void paste(Image& img, const Image& canvas, int64_t x, int64_t y) {
  for (int64_t r = 0; r < canvas.height; ++r)
    for (int64_t c = 0; c < canvas.width; ++c) {
      if (x + c < 0 || x + c >= img.width || y + r < 0 || y + r >= img.height) continue;
      const uint8_t* s = canvas.at(c, r);
      uint8_t* d = img.at(x + c, y + r);
      d[0] = s[0], d[1] = s[1], d[2] = s[2];
    }
}

// The frame around the plot area, ticks outside it and their labels. X labels are centred under their
// tick and skipped when they would touch the previous one; y labels are right-aligned to the left.
// A pixel offset rounded to an integer, or nothing when it is not finite (an axis whose range
// overflowed, e.g. data of +-1e308): clamped first, so the arithmetic after it cannot overflow.
std::optional<int64_t> pixel(double offset) {
  if (!std::isfinite(offset)) return std::nullopt;
  return std::llround(std::clamp(offset, -1e9, 1e9));
}

void draw_axes(Image& img, const Area& a, const Axis* xa, const Axis* ya) {
  draw_box(img, double(a.left), double(a.top), double(a.right), double(a.bottom), kBlack, 1);
  if (xa) {
    int64_t last_right = std::numeric_limits<int64_t>::min() / 2;
    for (size_t i = 0; i < xa->ticks.size(); ++i) {
      const std::optional<int64_t> off = pixel(to_offset(xa->ticks[i], *xa, a.width()));
      if (!off) continue;
      const int64_t px = a.left + *off;
      draw_line(img, double(px), double(a.bottom + 1), double(px), double(a.bottom + kTick), kBlack);
      const int64_t w = text_width(xa->labels[i]), x0 = px - w / 2;
      if (x0 <= last_right + 4) continue;
      draw_text(img, x0, a.bottom + kTick + 3, xa->labels[i], kBlack);
      last_right = x0 + w;
    }
  }
  if (ya) {
    for (size_t i = 0; i < ya->ticks.size(); ++i) {
      const std::optional<int64_t> off = pixel(to_offset(ya->ticks[i], *ya, a.height()));
      if (!off) continue;
      const int64_t py = a.bottom - *off;
      draw_line(img, double(a.left - kTick), double(py), double(a.left - 1), double(py), kBlack);
      const int64_t w = text_width(ya->labels[i]);
      draw_text(img, a.left - kTick - 3 - w, py - 3, ya->labels[i], kBlack);
    }
  }
}

// Title centred at the top; x label centred under the x tick labels; y label above the y axis.
void draw_titles(Image& img, const Area& a, const PlotOptions& opts) {
  if (!opts.title.empty()) {
    const int s = title_scale(opts.title, opts.width);
    draw_text(img, std::max<int64_t>((opts.width - text_width(opts.title, s)) / 2, 0), kPad, opts.title, kBlack, s);
  }
  if (!opts.x_label.empty()) {
    const int64_t cx = (a.left + a.right) / 2 - text_width(opts.x_label) / 2;
    draw_text(img, std::max<int64_t>(cx, 0), opts.height - kPad - text_height(), opts.x_label, kBlack);
  }
  if (!opts.y_label.empty())
    draw_text(img, std::max<int64_t>(a.left - kTick - 3 - 24, 2), a.top - text_height() - 6, opts.y_label, kBlack);
}

// Light grey lines across the canvas at every tick.
void draw_grid(Image& canvas, const Axis& xa, const Axis& ya) {
  for (double t : xa.ticks) {
    const double px = std::round(to_offset(t, xa, canvas.width));
    draw_line(canvas, px, 0, px, double(canvas.height - 1), kGrid);
  }
  for (double t : ya.ticks) {
    const double py = double(canvas.height - 1) - std::round(to_offset(t, ya, canvas.height));
    draw_line(canvas, 0, py, double(canvas.width - 1), py, kGrid);
  }
}

// ---------------------------------------------------------------------------------------------------
// Line plot pieces

bool usable(double x, double y, bool log_x) { return std::isfinite(x) && std::isfinite(y) && (!log_x || x > 0); }

// One series on the canvas: consecutive usable points are joined; a usable point with no usable
// neighbour is drawn as a dot so it stays visible.
void draw_series(Image& canvas, const Series& s, const Axis& xa, const Axis& ya) {
  const size_t n = std::min(s.x.size(), s.y.size());
  auto ok = [&](size_t i) { return i < n && usable(s.x[i], s.y[i], xa.log); };
  auto px = [&](size_t i) { return to_offset(xa.log ? std::log10(s.x[i]) : s.x[i], xa, canvas.width); };
  auto py = [&](size_t i) { return double(canvas.height - 1) - to_offset(s.y[i], ya, canvas.height); };
  for (size_t i = 0; i < n; ++i) {
    if (!ok(i)) continue;
    if (i > 0 && ok(i - 1))
      draw_line(canvas, px(i - 1), py(i - 1), px(i), py(i), s.color, 2);
    else if (!ok(i + 1))
      draw_dot(canvas, px(i), py(i), s.color, 2);
  }
}

// Counts the canvas pixels inside the rectangle that hold data (neither background nor grid).
int64_t data_pixels(const Image& canvas, int64_t x0, int64_t y0, int64_t w, int64_t h) {
  int64_t count = 0;
  for (int64_t y = std::max<int64_t>(y0, 0); y < std::min(y0 + h, canvas.height); ++y)
    for (int64_t x = std::max<int64_t>(x0, 0); x < std::min(x0 + w, canvas.width); ++x) {
      const uint8_t* p = canvas.at(x, y);
      const bool bg = (p[0] == kWhite.r && p[1] == kWhite.g && p[2] == kWhite.b) ||
                      (p[0] == kGrid.r && p[1] == kGrid.g && p[2] == kGrid.b);
      count += bg ? 0 : 1;
    }
  return count;
}

// The legend: a bordered white box with one row per named series (a colour swatch, then the name),
// placed in whichever canvas corner has the least data in or near it (ties: top-right, top-left,
// bottom-right, bottom-left). Drawn on the canvas, so it never leaves the plot area.
void draw_legend(Image& canvas, const std::vector<Series>& series) {
  std::vector<const Series*> named;
  for (const auto& s : series)
    if (!s.name.empty()) named.push_back(&s);
  if (named.empty()) return;
  constexpr int64_t swatch = 18, row_h = 12, inset = 6, margin = 12;
  int64_t text_w = 0;
  for (const Series* s : named) text_w = std::max(text_w, text_width(s->name));
  const int64_t w = 6 + swatch + 6 + text_w + 6, h = 4 + row_h * int64_t(named.size()) + 2;
  const int64_t xs[4] = {canvas.width - inset - w, inset, canvas.width - inset - w, inset};
  const int64_t ys[4] = {inset, inset, canvas.height - inset - h, canvas.height - inset - h};
  int best = 0;
  int64_t best_count = std::numeric_limits<int64_t>::max();
  for (int c = 0; c < 4; ++c) {
    // data close around the box counts too, so a curve running just past the legend pushes it away
    const int64_t count = data_pixels(canvas, xs[c] - margin, ys[c] - margin, w + 2 * margin, h + 2 * margin);
    if (count < best_count) best = c, best_count = count;
  }
  const int64_t x0 = xs[best], y0 = ys[best];
  fill_rect(canvas, x0, y0, x0 + w - 1, y0 + h - 1, kWhite);
  draw_box(canvas, double(x0), double(y0), double(x0 + w - 1), double(y0 + h - 1), kLegendBorder, 1);
  for (size_t i = 0; i < named.size(); ++i) {
    const int64_t ty = y0 + 4 + row_h * int64_t(i);  // the row's text top
    draw_line(canvas, double(x0 + 6), double(ty + 3), double(x0 + 6 + swatch - 1), double(ty + 3), named[i]->color, 3);
    draw_text(canvas, x0 + 6 + swatch + 6, ty, named[i]->name, kBlack);
  }
}

// The longest prefix of `text` that fits in `max_px` pixels, with "..." when it was cut.
std::string fit_text(const std::string& text, int64_t max_px) {
  if (text_width(text) <= max_px) return text;
  std::string cut = text;
  while (!cut.empty() && text_width(cut + "...") > max_px) cut.pop_back();
  return cut.empty() ? "" : cut + "...";
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Charts

Image line_plot(const std::vector<Series>& series, const PlotOptions& opts) {
  check_size(opts, "line_plot");
  std::vector<double> xs, ys;
  for (const auto& s : series) {
    const size_t n = std::min(s.x.size(), s.y.size());
    for (size_t i = 0; i < n; ++i)
      if (usable(s.x[i], s.y[i], opts.log_x)) xs.push_back(s.x[i]), ys.push_back(s.y[i]);
  }
  const Axis xa = opts.log_x ? log_axis(xs, opts.x_range) : linear_axis(xs, opts.x_range);
  const Axis ya = linear_axis(ys, opts.y_range);

  const int64_t last_x_label = xa.labels.empty() ? 0 : text_width(xa.labels.back());
  const Area a = layout(opts, widest(ya.labels), last_x_label / 2);
  Image img(opts.width, opts.height);
  fill_rect(img, 0, 0, img.width - 1, img.height - 1, kWhite);

  Image canvas(a.width(), a.height());
  fill_rect(canvas, 0, 0, canvas.width - 1, canvas.height - 1, kWhite);
  draw_grid(canvas, xa, ya);
  for (const auto& s : series) draw_series(canvas, s, xa, ya);
  draw_legend(canvas, series);
  paste(img, canvas, a.left, a.top);

  draw_axes(img, a, &xa, &ya);
  draw_titles(img, a, opts);
  return img;
}

Image bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                const PlotOptions& opts, Rgb color) {
  check_size(opts, "bar_chart");
  FK_CHECK(labels.size() == values.size(), "bar_chart: ", labels.size(), " labels but ", values.size(), " values");
  const Axis xa = linear_axis(values, opts.x_range, /*zero_based=*/true);
  const double value_step = nice_step(xa.lo, xa.hi, 5) / 10;  // values printed to a tenth of a tick step

  // Left margin: the bar labels (cut with "..." beyond 40% of the width) instead of y tick labels.
  std::vector<std::string> shown;
  for (const auto& l : labels) shown.push_back(fit_text(l, opts.width * 2 / 5));
  const int64_t last_x_label = xa.labels.empty() ? 0 : text_width(xa.labels.back());
  PlotOptions no_y = opts;
  no_y.y_label.clear();
  const Area a = layout(no_y, widest(shown), last_x_label / 2);

  Image img(opts.width, opts.height);
  fill_rect(img, 0, 0, img.width - 1, img.height - 1, kWhite);
  Image canvas(a.width(), a.height());
  fill_rect(canvas, 0, 0, canvas.width - 1, canvas.height - 1, kWhite);
  draw_grid(canvas, xa, Axis{});  // vertical grid lines only: rows are not a numeric axis

  // Rows of equal height top to bottom; a bar fills the middle 70% of its row, from 0 to its value.
  // Its value is written just past the bar's end; where that is off the plot, inside the bar in white;
  // where the bar is too short for that too, on the other side of the zero line.
  struct Note {
    int64_t x, y;  // canvas pixels
    std::string text;
    Rgb color;
  };
  std::vector<Note> notes;
  const int64_t n = int64_t(values.size());
  const double row_h = n > 0 ? double(canvas.height) / double(n) : 0;
  const bool room_for_text = row_h >= double(text_height());
  const int64_t zero = pixel(to_offset(std::clamp(0.0, xa.lo, xa.hi), xa, canvas.width)).value_or(0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t y0 = std::llround(row_h * (double(i) + 0.15));
    const int64_t y1 = std::max<int64_t>(y0, std::llround(row_h * (double(i) + 0.85)) - 1);
    const int64_t text_y = std::llround(row_h * (double(i) + 0.5)) - 3;  // canvas row of the text top
    const double v = values[size_t(i)];
    if (room_for_text)
      draw_text(img, a.left - kTick - 3 - text_width(shown[size_t(i)]), a.top + text_y, shown[size_t(i)], kBlack);
    if (!std::isfinite(v)) {
      if (room_for_text) notes.push_back({zero + 4, text_y, tick_label(v, 1), kBlack});
      continue;
    }
    // the bar's end in canvas pixels, pinned to just outside the canvas so the arithmetic stays in range
    const double end_px = to_offset(std::clamp(v, -kHuge, kHuge), xa, canvas.width);
    const int64_t end = std::llround(std::clamp(end_px, -1.0, double(canvas.width)));
    fill_rect(canvas, std::min(zero, end), y0, std::max(zero, end), y1, color);
    if (!room_for_text) continue;
    const std::string text = tick_label(v, value_step);
    const int64_t tw = text_width(text), gap = 4;
    const int64_t dir = v >= 0 ? 1 : -1;  // the direction the bar grows in
    // where the text starts when placed beyond the bar's end, and when placed inside it
    const int64_t beyond = dir > 0 ? end + gap : end - gap - tw;
    const int64_t inside = dir > 0 ? end - gap - tw : end + gap;
    if (beyond >= 0 && beyond + tw < canvas.width)
      notes.push_back({beyond, text_y, text, kBlack});
    else if (std::abs(end - zero) >= tw + 2 * gap)
      notes.push_back({inside, text_y, text, kWhite});
    else
      notes.push_back({dir > 0 ? zero - gap - tw : zero + gap, text_y, text, kBlack});
  }
  for (const Note& note : notes) draw_text(canvas, note.x, note.y, note.text, note.color);
  paste(img, canvas, a.left, a.top);
  draw_axes(img, a, &xa, nullptr);
  draw_titles(img, a, no_y);
  return img;
}

}  // namespace fk::data
