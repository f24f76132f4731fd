// ImageFolder, ListDataset, open_dataset, split_per_class and Subset (see dataset.h).
#include "data/loading/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "data/loading/transforms.h"
#include "tensor/error.h"

namespace fk::data {

namespace fs = std::filesystem;

namespace {

// torchvision's IMG_EXTENSIONS restricted to the formats data::read_image decodes.
bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

void check_index(size_t i, size_t n, const char* what) {
  FK_CHECK(i < n, what, ": sample index ", i, " out of range (size ", n, ")");
}

}  // namespace

// ---- ImageFolder

ImageFolder::ImageFolder(const std::string& root) : root_(root) {
  std::error_code ec;
  FK_CHECK(fs::is_directory(root, ec), "ImageFolder: ", root, ": not a folder");
  for (const auto& entry : fs::directory_iterator(root)) {
    if (entry.is_directory()) classes_.push_back(entry.path().filename().string());
  }
  FK_CHECK(!classes_.empty(), "ImageFolder: ", root, ": no class sub-folders");
  std::sort(classes_.begin(), classes_.end());  // byte order, as Python's sorted() on names

  std::vector<std::string> empty_classes;
  for (size_t label = 0; label < classes_.size(); ++label) {
    // torchvision: for root, _, files in sorted(os.walk(class_dir, followlinks=True)), files sorted;
    // i.e. folders in path order, each folder's files by name
    std::map<std::string, std::vector<std::string>> by_folder;
    auto opts = fs::directory_options::follow_directory_symlink;
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(root) / classes_[label], opts)) {
      if (entry.is_regular_file() && is_image_file(entry.path()))
        by_folder[entry.path().parent_path().string()].push_back(entry.path().string());
    }
    if (by_folder.empty()) empty_classes.push_back(classes_[label]);
    for (auto& [folder, files] : by_folder) {
      std::sort(files.begin(), files.end());
      for (auto& f : files) samples_.push_back({std::move(f), int64_t(label)});
    }
  }
  if (!empty_classes.empty()) {
    std::string names;
    for (const auto& c : empty_classes) names += (names.empty() ? "" : ", ") + c;
    FK_CHECK(false, "ImageFolder: ", root, ": no image files (.jpg, .jpeg, .png, .bmp) in the class folder(s) ",
             names);
  }
}

Sample ImageFolder::sample(size_t i) const {
  check_index(i, samples_.size(), "ImageFolder");
  return samples_[i];
}

// ---- ListDataset

ListDataset::ListDataset(const std::string& list_file, const std::string& root) {
  std::ifstream in(list_file);
  FK_CHECK(in.good(), "ListDataset: ", list_file, ": cannot open the list file");
  std::string line;
  int64_t line_no = 0;
  int64_t max_label = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // lists written on Windows
    std::istringstream fields(line);
    std::string path, label_text, extra;
    if (!(fields >> path)) continue;  // blank line
    bool ok = bool(fields >> label_text) && !(fields >> extra);
    int64_t label = -1;
    if (ok) {
      size_t used = 0;
      try {
        label = std::stoll(label_text, &used);
      } catch (const std::exception&) {
        ok = false;
      }
      ok = ok && used == label_text.size() && label >= 0;
    }
    FK_CHECK(ok, list_file, ":", line_no, ": expected '<relative path> <label>' with a label >= 0, got '", line,
             "'");
    samples_.push_back({(fs::path(root) / path).string(), label});
    max_label = std::max(max_label, label);
  }
  FK_CHECK(!samples_.empty(), "ListDataset: ", list_file, ": the list holds no samples");
  for (int64_t c = 0; c <= max_label; ++c) classes_.push_back(std::to_string(c));
}

Sample ListDataset::sample(size_t i) const {
  check_index(i, samples_.size(), "ListDataset");
  return samples_[i];
}

// ---- open_dataset

std::shared_ptr<Dataset> open_dataset(const std::string& dir_or_list, const std::string& root) {
  std::error_code ec;
  if (fs::is_directory(dir_or_list, ec)) return std::make_shared<ImageFolder>(dir_or_list);
  FK_CHECK(fs::is_regular_file(dir_or_list, ec), "open_dataset: ", dir_or_list,
           ": no such folder or list file");
  if (!root.empty()) return std::make_shared<ListDataset>(dir_or_list, root);
  fs::path list_dir = fs::path(dir_or_list).parent_path();  // "" for a bare file name
  return std::make_shared<ListDataset>(dir_or_list, list_dir.empty() ? fs::current_path().string() : list_dir.string());
}

// ---- split_per_class

std::pair<std::vector<size_t>, std::vector<size_t>> split_per_class(const Dataset& dataset, double val_ratio,
                                                                    uint64_t seed) {
  FK_CHECK(val_ratio >= 0 && val_ratio < 1, "split_per_class: val_ratio ", val_ratio, " is not in [0, 1)");
  // indices of each label, ascending
  std::map<int64_t, std::vector<size_t>> by_label;
  for (size_t i = 0; i < dataset.size(); ++i) by_label[dataset.sample(i).label].push_back(i);

  std::vector<size_t> train, val;
  for (auto& [label, idx] : by_label) {
    size_t n = idx.size();
    size_t n_val = size_t(std::ceil(val_ratio * double(n)));
    n_val = std::min(n_val, n - 1);  // every class keeps at least one training image
    Rng rng(hash_seed({seed, uint64_t(label)}));
    for (size_t i = n; i > 1; --i) std::swap(idx[i - 1], idx[size_t(rng.randint(0, int64_t(i)))]);
    val.insert(val.end(), idx.begin(), idx.begin() + int64_t(n_val));
    train.insert(train.end(), idx.begin() + int64_t(n_val), idx.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {train, val};
}

// ---- Subset

Subset::Subset(std::shared_ptr<Dataset> base, std::vector<size_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  FK_CHECK(base_ != nullptr, "Subset: no base dataset");
  for (size_t i : indices_)
    FK_CHECK(i < base_->size(), "Subset: index ", i, " out of range (base size ", base_->size(), ")");
}

Sample Subset::sample(size_t i) const {
  check_index(i, indices_.size(), "Subset");
  return base_->sample(indices_[i]);
}

}  // namespace fk::data
