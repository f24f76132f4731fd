// Pairs files and the LFW 10-fold verification protocol: see verification.h.
#include "models/evaluation/verification.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "data/formats/files.h"
#include "tensor/error.h"

namespace fk::models {

namespace fs = std::filesystem;

// ---- pairs files -------------------------------------------------------------------------------

namespace {

// The lines of `text` without their line ends ("\n" or "\r\n").
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> split_whitespace(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

bool is_blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](unsigned char c) { return std::isspace(c); });
}

// A non-negative integer filling the whole field, or -1.
int64_t parse_count(const std::string& field) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (ec != std::errc() || end != field.data() + field.size() || v < 0) return -1;
  return v;
}

std::string join_path(const std::string& dir, const std::string& file) {
  fs::path p(file);
  if (p.is_absolute() || dir.empty()) return p.string();
  return (fs::path(dir) / p).string();
}

// <dir>/<name>/<name>_%04d.jpg, or .png when only that exists.
std::string lfw_image(const std::string& dir, const std::string& name, int64_t index) {
  char number[32];
  std::snprintf(number, sizeof number, "_%04lld", (long long)index);
  fs::path base = fs::path(dir) / name / (name + number);
  fs::path jpg = fs::path(base).concat(".jpg"), png = fs::path(base).concat(".png");
  std::error_code ec;
  if (!fs::exists(jpg, ec) && fs::exists(png, ec)) return png.string();
  return jpg.string();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Comma-separated fields; a field may be enclosed in double quotes (then commas are part of it and ""
// is one quote). Spaces around a field are dropped. Returns false on an unclosed quote.
bool split_csv(const std::string& line, std::vector<std::string>& fields) {
  fields.clear();
  size_t i = 0;
  while (true) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += line[i++];
      }
      if (!closed) return false;
      size_t comma = line.find(',', i);
      i = comma == std::string::npos ? line.size() : comma;
    } else {
      size_t comma = line.find(',', i);
      size_t end = comma == std::string::npos ? line.size() : comma;
      field = trim(line.substr(i, end - i));
      i = end;
    }
    fields.push_back(field);
    if (i >= line.size()) return true;
    ++i;  // skip the comma
  }
}

// 1 = same, 0 = different, -1 = not a label.
int parse_label(const std::string& field) {
  std::string s = lower(field);
  if (s == "yes" || s == "1" || s == "true" || s == "same") return 1;
  if (s == "no" || s == "0" || s == "false" || s == "different") return 0;
  return -1;
}

std::string where(const std::string& source, size_t line_index) {
  return source + ":" + std::to_string(line_index + 1) + ": ";
}

}  // namespace

std::vector<VerificationPair> parse_lfw_pairs(const std::string& text, const std::string& images_dir,
                                              const std::string& source) {
  std::vector<std::string> lines = split_lines(text);
  std::vector<VerificationPair> pairs;
  for (size_t li = 0; li < lines.size(); ++li) {
    if (is_blank(lines[li])) continue;
    std::vector<std::string> f = split_whitespace(lines[li]);
    // "10 300" or "1 140": sets and pairs per kind, not a pair
    if (li == 0 && f.size() == 2 && parse_count(f[0]) >= 0 && parse_count(f[1]) >= 0) continue;
    VerificationPair p;
    p.line = int64_t(li + 1);
    if (f.size() == 3) {  // name i j: two images of one person
      int64_t i = parse_count(f[1]), j = parse_count(f[2]);
      FK_CHECK(i > 0 && j > 0, where(source, li), "image numbers must be positive integers, got '", f[1], "' and '",
               f[2], "'");
      p.image1 = lfw_image(images_dir, f[0], i);
      p.image2 = lfw_image(images_dir, f[0], j);
      p.same = true;
    } else if (f.size() == 4) {  // name1 i name2 j: two people
      int64_t i = parse_count(f[1]), j = parse_count(f[3]);
      FK_CHECK(i > 0 && j > 0, where(source, li), "image numbers must be positive integers, got '", f[1], "' and '",
               f[3], "'");
      p.image1 = lfw_image(images_dir, f[0], i);
      p.image2 = lfw_image(images_dir, f[2], j);
      p.same = false;
    } else {
      throw Error(where(source, li) + "expected 'name i j' (same person) or 'name1 i name2 j' (different), got " +
                  std::to_string(f.size()) + " fields");
    }
    pairs.push_back(std::move(p));
  }
  return pairs;
}

std::vector<VerificationPair> parse_csv_pairs(const std::string& text, const std::string& images_dir,
                                              const std::string& source) {
  std::vector<std::string> lines = split_lines(text);
  std::vector<VerificationPair> pairs;
  bool first = true;
  std::vector<std::string> f;
  for (size_t li = 0; li < lines.size(); ++li) {
    if (is_blank(lines[li])) continue;
    bool was_first = first;
    first = false;
    FK_CHECK(split_csv(lines[li], f), where(source, li), "unclosed double quote");
    FK_CHECK(f.size() == 3, where(source, li), "expected 3 comma-separated fields (image1,image2,label), got ",
             f.size());
    int label = parse_label(f[2]);
    if (label < 0 && was_first) continue;  // a header such as file_x,file_y,Decision
    FK_CHECK(label >= 0, where(source, li), "label '", f[2],
             "' is not one of Yes/No, 1/0, true/false, same/different");
    FK_CHECK(!f[0].empty() && !f[1].empty(), where(source, li), "empty image name");
    VerificationPair p;
    p.image1 = join_path(images_dir, f[0]);
    p.image2 = join_path(images_dir, f[1]);
    p.same = label == 1;
    p.line = int64_t(li + 1);
    pairs.push_back(std::move(p));
  }
  return pairs;
}

std::vector<VerificationPair> parse_calfw_pairs(const std::string& text, const std::string& images_dir,
                                                const std::string& source) {
  std::vector<std::string> lines = split_lines(text);
  struct Entry {
    std::string path, label;
    size_t line;
  };
  std::vector<Entry> entries;
  for (size_t li = 0; li < lines.size(); ++li) {
    if (is_blank(lines[li])) continue;
    std::vector<std::string> f = split_whitespace(lines[li]);
    FK_CHECK(f.size() == 2 && parse_count(f[1]) >= 0, where(source, li),
             "expected '<image path> <label>' (CALFW / CPLFW pairs: two consecutive lines per pair), got '",
             trim(lines[li]), "'");
    entries.push_back({f[0], f[1], li});
  }
  FK_CHECK(entries.size() % 2 == 0, source, ": ", entries.size(),
           " image lines, an odd count: CALFW / CPLFW pairs are two consecutive lines, the last is left without a partner");
  std::vector<VerificationPair> pairs;
  for (size_t k = 0; k + 1 < entries.size(); k += 2) {
    VerificationPair p;
    p.image1 = join_path(images_dir, entries[k].path);
    p.image2 = join_path(images_dir, entries[k + 1].path);
    p.same = parse_count(entries[k].label) != 0;  // the first line's label: 0 marks a different pair
    p.line = int64_t(entries[k].line + 1);
    pairs.push_back(std::move(p));
  }
  return pairs;
}

namespace {

// CFP's Pair_list_F.txt / Pair_list_P.txt: "<index> <path>", paths relative to the Protocol folder.
std::vector<std::string> read_cfp_list(const fs::path& file) {
  const std::string source = file.string();
  std::vector<std::string> lines = split_lines(data::read_file(source));
  std::vector<std::string> paths;  // paths[index], index from 1
  for (size_t li = 0; li < lines.size(); ++li) {
    if (is_blank(lines[li])) continue;
    std::vector<std::string> f = split_whitespace(lines[li]);
    const int64_t index = f.size() == 2 ? parse_count(f[0]) : -1;
    FK_CHECK(index >= 1 && index <= 1'000'000, where(source, li), "expected '<index> <image path>', got '",
             trim(lines[li]), "'");
    if (paths.size() <= size_t(index)) paths.resize(size_t(index) + 1);
    paths[size_t(index)] = join_path(file.parent_path().string(), f[1]);
  }
  return paths;
}

}  // namespace

std::vector<VerificationPair> read_cfp_pairs(const std::string& split_dir) {
  fs::path split = fs::path(split_dir).lexically_normal();
  if (split.filename().empty()) split = split.parent_path();  // a trailing slash
  std::string kind = split.filename().string();
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  FK_CHECK(kind == "FF" || kind == "FP", split_dir, ": expected CFP's Protocol/Split/FF or Protocol/Split/FP folder");
  const fs::path protocol = split.parent_path().parent_path();
  const std::vector<std::string> frontal = read_cfp_list(protocol / "Pair_list_F.txt");
  const std::vector<std::string> second = kind == "FP" ? read_cfp_list(protocol / "Pair_list_P.txt") : frontal;
  std::vector<fs::path> folds;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(split, ec))
    if (e.is_directory()) folds.push_back(e.path());
  FK_CHECK(!ec, split_dir, ": cannot list the folder: ", ec.message());
  std::sort(folds.begin(), folds.end());  // 01 .. 10
  std::vector<VerificationPair> pairs;
  for (const fs::path& fold : folds)
    for (const char* name : {"same.txt", "diff.txt"}) {
      const std::string source = (fold / name).string();
      std::vector<std::string> lines = split_lines(data::read_file(source));
      for (size_t li = 0; li < lines.size(); ++li) {
        if (is_blank(lines[li])) continue;
        std::vector<std::string> f;
        FK_CHECK(split_csv(lines[li], f) && f.size() == 2, where(source, li), "expected 'i,j', got '", trim(lines[li]),
                 "'");
        const int64_t i = parse_count(f[0]), j = parse_count(f[1]);
        FK_CHECK(i >= 1 && size_t(i) < frontal.size() && !frontal[size_t(i)].empty(), where(source, li), "index ",
                 f[0], " is not in Pair_list_F.txt");
        FK_CHECK(j >= 1 && size_t(j) < second.size() && !second[size_t(j)].empty(), where(source, li), "index ",
                 f[1], " is not in ", kind == "FP" ? "Pair_list_P.txt" : "Pair_list_F.txt");
        VerificationPair p;
        p.image1 = frontal[size_t(i)], p.image2 = second[size_t(j)];
        p.same = std::string(name) == "same.txt";
        p.line = int64_t(li + 1);
        pairs.push_back(std::move(p));
      }
    }
  FK_CHECK(!pairs.empty(), split_dir, ": no pairs found (expected sub-folders 01..10 with same.txt and diff.txt)");
  return pairs;
}

std::vector<VerificationPair> read_pairs(const std::string& path, const std::string& images_dir) {
  std::string dir = images_dir;
  if (dir.empty()) {
    dir = fs::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
  }
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::string name = fs::path(path).lexically_normal().filename().string();
    if (name.empty()) name = fs::path(path).lexically_normal().parent_path().filename().string();
    FK_CHECK(lower(name) == "ff" || lower(name) == "fp", path,
             ": is a folder, expected a pairs file (pairs.txt, CALFW / CPLFW pairs, or .csv) or CFP's "
             "Protocol/Split/FF or FP folder");
    return read_cfp_pairs(path);
  }
  std::string text = data::read_file(path);
  bool csv = lower(fs::path(path).extension().string()) == ".csv";
  // CALFW / CPLFW: lines of '<path> <label>' (a path where LFW's first line has two counts)
  bool calfw = false;
  for (const std::string& line : split_lines(text)) {
    if (is_blank(line)) continue;
    std::vector<std::string> f = split_whitespace(line);
    calfw = f.size() == 2 && parse_count(f[0]) < 0 && parse_count(f[1]) >= 0;
    break;
  }
  std::vector<VerificationPair> pairs = csv     ? parse_csv_pairs(text, dir, path)
                                        : calfw ? parse_calfw_pairs(text, dir, path)
                                                : parse_lfw_pairs(text, dir, path);
  FK_CHECK(!pairs.empty(), path, ": no pairs found");
  return pairs;
}

// ---- the 10-fold evaluation --------------------------------------------------------------------

std::vector<double> accuracy_thresholds() {
  std::vector<double> t(400);
  for (size_t i = 0; i < t.size(); ++i) t[i] = double(i) * 0.01;  // numpy arange: start + i * step
  return t;
}

std::vector<double> val_thresholds() {
  std::vector<double> t(4000);
  for (size_t i = 0; i < t.size(); ++i) t[i] = double(i) * 0.001;
  return t;
}

std::vector<Block> kfold_blocks(int64_t n, int64_t folds) {
  FK_CHECK(folds >= 2, "verification: need at least 2 folds, got ", folds);
  FK_CHECK(n >= folds, "verification: ", n, " pairs cannot be split into ", folds,
           " folds (each fold needs at least one pair)");
  std::vector<Block> blocks;
  int64_t begin = 0;
  for (int64_t k = 0; k < folds; ++k) {
    int64_t size = n / folds + (k < n % folds ? 1 : 0);  // sklearn KFold: the first n % folds one larger
    blocks.push_back({begin, begin + size});
    begin += size;
  }
  return blocks;
}

std::vector<int64_t> assign_folds(const std::vector<bool>& same, int64_t folds, const std::string& mode) {
  const int64_t n = int64_t(same.size());
  FK_CHECK(mode == "stratified" || mode == "contiguous", "verification: folds mode '", mode,
           "' is neither 'stratified' nor 'contiguous'");
  std::vector<int64_t> fold_of(same.size(), -1);
  if (mode == "contiguous") {  // facenet: KFold over the pairs in file order
    std::vector<Block> blocks = kfold_blocks(n, folds);
    for (int64_t k = 0; k < folds; ++k)
      for (int64_t i = blocks[size_t(k)].begin; i < blocks[size_t(k)].end; ++i) fold_of[size_t(i)] = k;
    return fold_of;
  }
  FK_CHECK(folds >= 2, "verification: need at least 2 folds, got ", folds);
  FK_CHECK(n >= folds, "verification: ", n, " pairs cannot be split into ", folds,
           " folds (each fold needs at least one pair)");
  // each kind on its own: the i-th pair of that kind (in file order) goes to the KFold block holding i
  for (bool kind : {true, false}) {
    std::vector<size_t> members;  // the pairs of this kind, in file order
    for (size_t k = 0; k < same.size(); ++k)
      if (same[k] == kind) members.push_back(k);
    const int64_t m = int64_t(members.size());
    int64_t begin = 0;
    for (int64_t f = 0; f < folds; ++f) {
      int64_t size = m / folds + (f < m % folds ? 1 : 0);  // KFold sizes; 0 when the kind has < folds pairs
      for (int64_t i = begin; i < begin + size; ++i) fold_of[members[size_t(i)]] = f;
      begin += size;
    }
  }
  std::vector<int64_t> count(size_t(folds), 0);
  for (int64_t f : fold_of) ++count[size_t(f)];
  for (int64_t f = 0; f < folds; ++f)
    FK_CHECK(count[size_t(f)] > 0, "verification: stratified folds need at least ", folds,
             " pairs of one kind, got ", std::count(same.begin(), same.end(), true), " same and ",
             std::count(same.begin(), same.end(), false), " different: fold ", f, " would be empty (use fewer folds)");
  return fold_of;
}

double always_wrong_score(bool same) {
  return same ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
}

namespace {

// The distances of a set of pairs, split by kind and sorted, so that the number of pairs predicted
// "same" at threshold t (distance < t) is a binary search.
struct SortedDistances {
  std::vector<double> same, diff;

  int64_t size() const { return int64_t(same.size() + diff.size()); }
  static int64_t below(const std::vector<double>& v, double t) {
    return int64_t(std::lower_bound(v.begin(), v.end(), t) - v.begin());  // elements < t
  }
  int64_t same_below(double t) const { return below(same, t); }  // true accepts
  int64_t diff_below(double t) const { return below(diff, t); }  // false accepts
};

// The pairs of fold `fold` (inside = true) or of all other folds (inside = false: the training folds).
// fold -1 with inside = false: every pair.
SortedDistances collect(const std::vector<double>& dist, const std::vector<bool>& same,
                        const std::vector<int64_t>& fold_of, int64_t fold, bool inside) {
  SortedDistances s;
  for (size_t k = 0; k < dist.size(); ++k) {
    bool in = fold_of[k] == fold;
    if (in != inside) continue;
    (same[k] ? s.same : s.diff).push_back(dist[k]);
  }
  std::sort(s.same.begin(), s.same.end());
  std::sort(s.diff.begin(), s.diff.end());
  return s;
}

// facenet's calculate_accuracy: TPR = TP / (TP + FN), FPR = FP / (FP + TN) (0 when the kind is absent),
// accuracy = (TP + TN) / pairs.
struct Rates {
  double tpr = 0, fpr = 0, accuracy = 0;
};
Rates rates_at(const SortedDistances& s, double thr) {
  int64_t tp = s.same_below(thr), fp = s.diff_below(thr);
  int64_t tn = int64_t(s.diff.size()) - fp;
  Rates r;
  r.tpr = s.same.empty() ? 0.0 : double(tp) / double(s.same.size());
  r.fpr = s.diff.empty() ? 0.0 : double(fp) / double(s.diff.size());
  r.accuracy = double(tp + tn) / double(s.size());
  return r;
}

// The index of the threshold with the best accuracy: the first one (numpy argmax, rule "first"), or
// the middle of the run of consecutive thresholds that starts there and keeps that accuracy (rule
// "middle": the threshold farthest from both ends of the plateau, rounded down).
size_t best_threshold_index(const SortedDistances& s, const std::vector<double>& thresholds, const std::string& rule) {
  size_t best = 0;
  double best_acc = -1;
  std::vector<double> acc(thresholds.size());
  for (size_t i = 0; i < thresholds.size(); ++i) {
    acc[i] = rates_at(s, thresholds[i]).accuracy;
    if (acc[i] > best_acc) best_acc = acc[i], best = i;
  }
  if (rule != "middle") return best;
  size_t end = best;
  while (end + 1 < thresholds.size() && acc[end + 1] == best_acc) ++end;
  return best + (end - best) / 2;
}

// facenet's interp1d(far, thresholds, kind='slinear')(target) for a non-decreasing `far` with repeated
// values: the linear interpolation on the one interval [far[m], far[m+1]) that holds the target, with m
// the last index where far[m] <= target (this is how older scipy evaluated the degree-1 spline with
// repeated knots; scipy 1.10 refuses repeats). When m is the last index (target == the largest FAR)
// the threshold is thresholds[m]; old scipy gave 0 there when that FAR repeats (a degenerate interval).
// When even the first threshold (0) exceeds the target FAR (pairs forced wrong have distance -inf), scipy
// would raise "below the interpolation range"; the threshold is then thresholds[0].
double slinear_at(const std::vector<double>& far, const std::vector<double>& thr, double target) {
  if (far[0] > target) return thr[0];
  size_t m = 0;
  for (size_t i = 0; i < far.size(); ++i)
    if (far[i] <= target) m = i;
  if (m + 1 == far.size()) return thr[m];
  double xa = far[m], xb = far[m + 1];
  double w = 1.0 / (xb - xa);  // the two hat functions of the linear B-spline, as scipy evaluates them
  return thr[m] * (w * (xb - target)) + thr[m + 1] * (w * (target - xa));
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// numpy std (ddof 0): sqrt(mean((x - mean)^2)).
double stddev(const std::vector<double>& v) {
  double m = mean(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

// Mann-Whitney U / (n_same n_diff): P(same score > different score) + P(tie) / 2.
double exact_auc(const std::vector<double>& scores, const std::vector<bool>& same) {
  std::vector<double> diff;
  for (size_t k = 0; k < scores.size(); ++k)
    if (!same[k]) diff.push_back(scores[k]);
  std::sort(diff.begin(), diff.end());
  int64_t n_same = 0, greater = 0, ties = 0;
  for (size_t k = 0; k < scores.size(); ++k) {
    if (!same[k]) continue;
    ++n_same;
    auto lo = std::lower_bound(diff.begin(), diff.end(), scores[k]);
    auto hi = std::upper_bound(diff.begin(), diff.end(), scores[k]);
    greater += int64_t(lo - diff.begin());
    ties += int64_t(hi - lo);
  }
  if (n_same == 0 || diff.empty()) return 0.0;
  return (double(greater) + 0.5 * double(ties)) / (double(n_same) * double(diff.size()));
}

// The accuracy protocol (facenet calculate_roc) for one fold: threshold from the training folds,
// accuracy and the ROC rates on the test fold.
void roc_fold(const SortedDistances& train, const SortedDistances& test, const std::vector<double>& thresholds,
              const std::string& rule, FoldResult& fold, std::vector<double>& tpr_sum, std::vector<double>& fpr_sum) {
  size_t best = best_threshold_index(train, thresholds, rule);
  fold.threshold = thresholds[best];
  fold.threshold_cosine = cosine_of_distance(fold.threshold);
  fold.accuracy = rates_at(test, fold.threshold).accuracy;
  for (size_t i = 0; i < thresholds.size(); ++i) {
    Rates r = rates_at(test, thresholds[i]);
    tpr_sum[i] += r.tpr;
    fpr_sum[i] += r.fpr;
  }
}

// The VAL protocol (facenet calculate_val) for one fold: the threshold where the training FAR reaches
// the target, then VAL = TA / n_same and FAR = FA / n_diff on the test fold.
void val_fold(const SortedDistances& train, const SortedDistances& test, const std::vector<double>& thresholds,
              double far_target, FoldResult& fold) {
  std::vector<double> far(thresholds.size());
  for (size_t i = 0; i < thresholds.size(); ++i) far[i] = rates_at(train, thresholds[i]).fpr;
  fold.far_reachable = *std::max_element(far.begin(), far.end()) >= far_target;
  fold.val_threshold = fold.far_reachable ? slinear_at(far, thresholds, far_target) : 0.0;
  Rates r = rates_at(test, fold.val_threshold);
  fold.val = r.tpr;
  fold.far = r.fpr;
}

}  // namespace

VerificationResult evaluate_verification(const std::vector<double>& scores, const std::vector<bool>& same,
                                         const VerificationOptions& opts) {
  FK_CHECK(opts.threshold_rule == "first" || opts.threshold_rule == "middle", "verification: unknown threshold rule '",
           opts.threshold_rule, "' (expected first or middle)");
  FK_CHECK(scores.size() == same.size(), "verification: ", scores.size(), " scores but ", same.size(),
           " ground-truth flags");
  for (size_t k = 0; k < scores.size(); ++k)
    FK_CHECK(!std::isnan(scores[k]), "verification: the score of pair ", k, " is NaN");
  VerificationResult res;
  res.pairs = int64_t(scores.size());
  res.same = int64_t(std::count(same.begin(), same.end(), true));
  res.different = res.pairs - res.same;

  std::vector<double> dist(scores.size());
  for (size_t k = 0; k < scores.size(); ++k) dist[k] = distance_of_cosine(scores[k]);

  res.thresholds = accuracy_thresholds();
  std::vector<double> vthr = val_thresholds();
  res.tpr.assign(res.thresholds.size(), 0.0);
  res.fpr.assign(res.thresholds.size(), 0.0);
  res.folds_mode = opts.folds_mode;
  res.fold_of = assign_folds(same, opts.folds, opts.folds_mode);
  std::vector<double> accuracies, vals, fars;
  for (int64_t f = 0; f < opts.folds; ++f) {
    SortedDistances train = collect(dist, same, res.fold_of, f, false);
    SortedDistances test = collect(dist, same, res.fold_of, f, true);
    FoldResult fold;
    for (size_t k = 0; k < res.fold_of.size(); ++k)
      if (res.fold_of[k] == f) fold.test.push_back(int64_t(k));
    fold.same = int64_t(test.same.size());
    fold.different = int64_t(test.diff.size());
    roc_fold(train, test, res.thresholds, opts.threshold_rule, fold, res.tpr, res.fpr);
    val_fold(train, test, vthr, opts.far_target, fold);
    accuracies.push_back(fold.accuracy);
    vals.push_back(fold.val);
    fars.push_back(fold.far);
    res.far_reachable_folds += fold.far_reachable ? 1 : 0;
    res.folds_one_kind += (fold.same == 0 || fold.different == 0) ? 1 : 0;
    res.folds.push_back(fold);
  }
  for (size_t i = 0; i < res.thresholds.size(); ++i) {
    res.tpr[i] /= double(opts.folds);
    res.fpr[i] /= double(opts.folds);
  }
  res.accuracy_mean = mean(accuracies);
  res.accuracy_std = stddev(accuracies);
  res.val_mean = mean(vals);
  res.val_std = stddev(vals);
  res.far_mean = mean(fars);

  // trapezoid rule over the ROC points in threshold order (np.trapz(tpr, fpr))
  for (size_t i = 1; i < res.thresholds.size(); ++i)
    res.auc += (res.fpr[i] - res.fpr[i - 1]) * (res.tpr[i] + res.tpr[i - 1]) / 2.0;
  res.auc_exact = exact_auc(scores, same);

  SortedDistances all = collect(dist, same, res.fold_of, -1, false);
  size_t best = best_threshold_index(all, res.thresholds, opts.threshold_rule);
  res.best_threshold = res.thresholds[best];
  res.best_threshold_cosine = cosine_of_distance(res.best_threshold);
  res.best_accuracy = rates_at(all, res.best_threshold).accuracy;
  return res;
}

RocCurve exact_roc(const std::vector<double>& scores, const std::vector<bool>& same) {
  FK_CHECK(scores.size() == same.size(), "exact_roc: ", scores.size(), " scores but ", same.size(), " flags");
  std::vector<size_t> order(scores.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  int64_t n_same = std::count(same.begin(), same.end(), true);
  int64_t n_diff = int64_t(same.size()) - n_same;
  auto rate = [](int64_t count, int64_t total) { return total ? double(count) / double(total) : 0.0; };
  RocCurve roc;
  roc.fpr.push_back(0.0);
  roc.tpr.push_back(0.0);
  int64_t tp = 0, fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (same[order[i]] ? tp : fp) += 1;
    // one point per distinct score: accepting a score accepts all pairs tied with it
    if (i + 1 < order.size() && scores[order[i + 1]] == scores[order[i]]) continue;
    roc.fpr.push_back(rate(fp, n_diff));
    roc.tpr.push_back(rate(tp, n_same));
  }
  if (roc.fpr.back() != 1.0 || roc.tpr.back() != 1.0) {  // a kind with no pairs: close the curve anyway
    roc.fpr.push_back(1.0);
    roc.tpr.push_back(1.0);
  }
  return roc;
}

}  // namespace fk::models
