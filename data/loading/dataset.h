// Datasets for training: an indexed list of (image path, label) samples and the class names.
//  - ImageFolder: torchvision.datasets.ImageFolder — classes are the sorted sub-folder names of the
//    root, label = the class's position in that list; within a class, folders in path order (the class
//    folder, then its sub-folders) and each folder's files by name, as sorted(os.walk(...)) gives; files
//    with extension .jpg/.jpeg/.png/.bmp (any case).
//  - ListDataset: a text list "<relative path> <label>" per line (VGGFace2 / FaceTechnologyTool
//    tutorial format, pipelines.md §9); paths are relative to `root`.
//  - split_per_class: a seeded per-class train/validation split (egcode's validation_set_split_ratio,
//    losses.md §7); Subset: a view on some indices of another dataset.
// Images are not opened here: the DataLoader (data/loading/loader.h) decodes them.
// Tests: tests/data/loading/test_dataset.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fk::data {

struct Sample {
  std::string path;   // the image file, ready to open (root already joined)
  int64_t label = 0;  // index into classes()
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual size_t size() const = 0;
  // The i-th sample, 0 <= i < size() (throws fk::Error otherwise). Must be safe to call from several
  // threads at once (the loader's workers do).
  virtual Sample sample(size_t i) const = 0;
  virtual const std::vector<std::string>& classes() const = 0;
};

// torchvision ImageFolder. Throws fk::Error naming `root` when it is not a folder, has no class
// sub-folders, or has a class folder without any image (torchvision 0.14 refuses that too, naming the
// empty classes).
class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(const std::string& root);
  size_t size() const override { return samples_.size(); }
  Sample sample(size_t i) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
};

// A list file: one sample per non-blank line, "<relative path> <label>" separated by white space
// (the path may not contain spaces); label a non-negative integer. classes() = "0" .. "<max label>".
// Errors name the file and line: "<list>:<line>: expected '<path> <label>', got '...'".
class ListDataset : public Dataset {
 public:
  ListDataset(const std::string& list_file, const std::string& root);
  size_t size() const override { return samples_.size(); }
  Sample sample(size_t i) const override;
  const std::vector<std::string>& classes() const override { return classes_; }

 private:
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
};

// A folder gives an ImageFolder; a file gives a ListDataset whose root is `root`, or the list file's
// folder when `root` is empty. A path that does not exist is an error naming it.
std::shared_ptr<Dataset> open_dataset(const std::string& dir_or_list, const std::string& root = "");

// Per-class split into (train, validation) dataset indices, both sorted ascending.
// For each class with n_c samples: n_val = ceil(val_ratio * n_c), but at most n_c - 1 so every class
// keeps one training image (a class with a single image goes to train). Which samples go to
// validation is a seeded random choice: the class's indices are shuffled (Fisher-Yates with
// Rng(hash(seed, label)), see data/loading/transforms.h) and the first n_val are taken. val_ratio 0 gives an
// empty validation set; val_ratio must be in [0, 1).
std::pair<std::vector<size_t>, std::vector<size_t>> split_per_class(const Dataset& dataset, double val_ratio,
                                                                    uint64_t seed);

// The samples `indices` of `base` (in that order); classes() are base's. Indices are checked here.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<Dataset> base, std::vector<size_t> indices);
  size_t size() const override { return indices_.size(); }
  Sample sample(size_t i) const override;
  const std::vector<std::string>& classes() const override { return base_->classes(); }
  const std::vector<size_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<Dataset> base_;
  std::vector<size_t> indices_;
};

}  // namespace fk::data
