// Validation after each epoch of a training run: top-1 accuracy on a labelled folder (--val or a
// held-out split), or the 10-fold verification accuracy on a pairs file (--val-pairs), with the
// images through the evaluation pipeline and the model in eval mode; and besides either, the 10-fold
// accuracy on each insightface verification set (--val-bin, data/formats/verification_bin.h) as
// insightface's trainer measures it: the embeddings of each aligned crop and of its mirror image
// summed, contiguous folds, the first of the best thresholds. Tests: tests/apps/test_train.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/formats/verification_bin.h"
#include "data/loading/dataset.h"
#include "data/loading/transforms.h"
#include "models/evaluation/verification.h"
#include "models/training/config.h"
#include "models/zoo/zoo.h"

namespace fk::models {

// One insightface verification set, read once when training starts.
struct BinValidation {
  std::string name;  // the file's stem: "lfw", "cfp_fp", ...
  std::string path;
  std::shared_ptr<const data::VerificationBin> set;
};

struct Validation {
  std::string kind;  // "", "classification", "verification"
  std::shared_ptr<const data::Dataset> images;  // classification: the labelled images
  std::vector<VerificationPair> pairs;          // verification
  std::vector<std::string> pair_images;         // the distinct images of the pairs
  data::Pipeline pipeline;
  std::vector<BinValidation> bins;  // --val-bin sets
  data::Pipeline bin_pipeline;      // their crops are aligned already: resize and normalise, no face crop
};

// The validation the settings ask for (none, --val, --val-pairs, or --val-split of `all`, in which
// case `train_set` becomes the rest); throws fk::Error when --val's identities differ from the data's.
// The --val-bin sets are read here (a file that is not such a set stops the run before it starts;
// two sets with one stem are refused).
Validation make_validation(const TrainConfig& c, const std::shared_ptr<data::Dataset>& all,
                           std::shared_ptr<const data::Dataset>& train_set, data::Pipeline pipeline,
                           data::Pipeline bin_pipeline);

// The accuracy, or -1 when no validation image could be used. Margin heads score classes by s * cos
// (no labels, no margin); classifier architectures by their own logits. Unreadable images are
// reported through `message` and left out (with their pairs).
double validate(const Validation& v, Model& model, Module* head, bool classifier, int64_t batch, Device device,
                const std::function<void(const std::string&)>& message);

// The 10-fold accuracy on each of v.bins, in order (-1 for a set with fewer than 10 usable pairs). An
// image that cannot be decoded is reported through `message` and its pair left out.
std::vector<double> validate_bins(const Validation& v, Model& model, int64_t batch, Device device,
                                  const std::function<void(const std::string&)>& message);

}  // namespace fk::models
