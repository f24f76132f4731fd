// `facekit lookalike PHOTO --gallery G.npz --weights W [--weights-key K] [--top K] [--out SIDE.png]
// [--json]`: which gallery identities does the largest face of PHOTO look most like? (The KIT project's
// "which celebrity do you look like" app, pipelines.md §8, here by embedding similarity instead of a
// classifier.) The face is embedded as the gallery was made (check_compatible refuses other weights or
// settings); each identity's score is its nearest image's cosine; the top K are printed (a table, or
// JSON {path, box, prob, top: [{identity, score, image}]} with --json). --out writes a side-by-side
// PNG: the query face, then the best image of each top identity (its face cropped the same way, or
// the whole image resized when no face is found in it), names and scores under them, and a bar chart.
// Tests: tests/apps/test_identify.cpp.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/commands.h"
#include "apps/face_inputs.h"
#include "data/viz/draw.h"
#include "data/image/image.h"
#include "data/viz/plot.h"
#include "models/recognition/face_embedder.h"
#include "models/recognition/gallery.h"

namespace fk::apps {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct LookalikeArgs {
  std::string photo, out;
  GalleryFlags in;  // --gallery, --weights, --weights-key, --allow-nonfinite
  int64_t top = 5;
  bool json = false;
  DetectorFlags detector;
};

constexpr int64_t kTile = 160, kGap = 12;

// `img` scaled to fit a kTile square (aspect kept), centred on white.
data::Image fit_tile(const data::Image& img) {
  data::Image tile(kTile, kTile);
  data::fill_rect(tile, 0, 0, kTile - 1, kTile - 1, {255, 255, 255});
  if (img.empty()) return tile;
  double s = double(kTile) / double(std::max(img.width, img.height));
  int64_t w = std::max<int64_t>(1, std::lround(img.width * s)), h = std::max<int64_t>(1, std::lround(img.height * s));
  data::Image r = data::resize_bilinear(img, w, h);
  int64_t x0 = (kTile - w) / 2, y0 = (kTile - h) / 2;
  for (int64_t y = 0; y < h; ++y) std::copy_n(r.at(0, y), size_t(w * 3), tile.at(x0, y0 + y));
  return tile;
}

// The face of a gallery image, cropped as the embedder crops; the whole image when MTCNN finds no
// face; a blank tile with the reason when the image cannot be read.
data::Image gallery_tile(const std::string& path, const models::mtcnn::Detector& detector,
                         const models::FacePreprocess& prep) {
  try {
    data::Image img = data::read_image(path);
    auto faces = detector.detect(data::image_to_tensor(img));
    return fit_tile(faces.empty() ? img : models::crop_face(img, faces[0], prep));
  } catch (const std::exception&) {
    data::Image tile = fit_tile({});
    data::draw_text(tile, 8, kTile / 2 - 4, "unreadable", {200, 0, 0});
    return tile;
  }
}

std::string similarity_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// Tiles left to right with two text lines under each, and the bar chart of all scores below.
data::Image side_by_side(const data::Image& query, const std::vector<data::Image>& tiles,
                         const std::vector<models::IdentityScore>& top) {
  const int64_t n = int64_t(tiles.size()) + 1;
  const int64_t width = std::max<int64_t>(n * kTile + (n + 1) * kGap, 320);
  const int64_t text_h = 2 * data::text_height(2) + 8;
  const int64_t row_h = kGap + kTile + 6 + text_h;
  std::vector<std::string> names;
  std::vector<double> values;
  for (const auto& m : top) {
    names.push_back(m.identity);
    values.push_back(m.score);
  }
  data::PlotOptions po;
  po.title = "cosine similarity";
  po.width = width;
  po.height = std::max<int64_t>(48, 60 + 28 * int64_t(top.size()));
  po.x_range = std::pair<double, double>{std::min(0.0, values.empty() ? 0.0 : *std::min_element(values.begin(), values.end())), 1.0};
  data::Image chart = data::bar_chart(names, values, po);

  data::Image out(width, row_h + chart.height);
  data::fill_rect(out, 0, 0, width - 1, out.height - 1, {255, 255, 255});
  auto paste = [&](const data::Image& tile, int64_t x0, int64_t y0) {
    for (int64_t y = 0; y < tile.height; ++y) std::copy_n(tile.at(0, y), size_t(tile.width * 3), out.at(x0, y0 + y));
  };
  auto caption = [&](int64_t x0, const std::string& line1, const std::string& line2) {
    int64_t y = kGap + kTile + 6;
    // Names longer than the tile are cut to what fits at scale 2 (13 characters of 12 px).
    std::string shown = line1.size() > 13 ? line1.substr(0, 12) + "." : line1;
    data::draw_text(out, x0, y, shown, {0, 0, 0}, 2);
    data::draw_text(out, x0, y + data::text_height(2) + 4, line2, {60, 60, 60}, 2);
  };
  paste(query, kGap, kGap);
  caption(kGap, "query", "");
  for (size_t i = 0; i < tiles.size(); ++i) {
    int64_t x0 = kGap + int64_t(i + 1) * (kTile + kGap);
    paste(tiles[i], x0, kGap);
    caption(x0, top[i].identity, similarity_text(top[i].score));
  }
  paste(chart, 0, row_h);
  return out;
}

int run_lookalike(const LookalikeArgs& args) {
  OpenedGallery opened = open_gallery(args.in);
  const models::Gallery& g = opened.gallery;
  models::Embedder& embedder = *opened.embedder;
  auto detector = make_detector(args.detector);

  data::Image img = data::read_image(args.photo);
  auto faces = detector->detect(data::image_to_tensor(img));  // largest first
  FK_CHECK(!faces.empty(), args.photo, ": no face found");
  data::Image crop = models::crop_face(img, faces[0], embedder.preprocess());
  // per identity, its nearest image's score; highest first (ties: identities in sorted order)
  std::vector<models::IdentityScore> top = models::rank_identities(g, embedder.embed(crop))[0];
  if (int64_t(top.size()) > args.top) top.resize(size_t(args.top));

  if (args.json) {
    json out;
    out["path"] = args.photo;
    const auto& f = faces[0];
    out["box"] = {f.box[0], f.box[1], f.box[2], f.box[3]};
    out["prob"] = f.prob;
    out["top"] = json::array();
    for (const auto& m : top)
      out["top"].push_back({{"identity", m.identity}, {"score", std::round(m.score * 1e4) / 1e4}, {"image", g.paths[size_t(m.row)]}});
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("%-4s %-30s %7s  %s\n", "rank", "identity", "score", "nearest image");
    for (size_t i = 0; i < top.size(); ++i)
      std::printf("%-4zu %-30s %7.3f  %s\n", i + 1, top[i].identity.c_str(), top[i].score, g.paths[size_t(top[i].row)].c_str());
  }

  if (!args.out.empty()) {
    std::vector<data::Image> tiles;
    for (const auto& m : top) tiles.push_back(gallery_tile(g.paths[size_t(m.row)], *detector, embedder.preprocess()));
    fs::path parent = fs::path(args.out).parent_path();
    if (!parent.empty()) fs::create_directories(parent);
    data::write_png(args.out, side_by_side(fit_tile(crop), tiles, top));
  }
  return 0;
}

}  // namespace

void add_lookalike_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("lookalike", "Which gallery identities the largest face of a photo looks most like");
  auto args = std::make_shared<LookalikeArgs>();
  cmd->add_option("photo", args->photo, "The photo (JPEG, PNG, BMP); its largest face is used")->required();
  add_gallery_flags(cmd, args->in);
  cmd->add_option("--top", args->top, "How many identities to list")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--out", args->out,
                  "Write a side-by-side PNG: the query face, the best image of each top identity, scores and a bar chart");
  cmd->add_flag("--json", args->json, "Print JSON instead of a table: {path, box, prob, top: [{identity, score, image}]}");
  add_detector_flags(cmd, args->detector, "--mtcnn-weights");
  on_run(cmd, [args]() { return run_lookalike(*args); });
}

}  // namespace fk::apps
