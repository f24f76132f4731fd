// Face verification, LFW style (docs/reference/pipelines.md section 5): the pairs files and the
// 10-fold evaluation of "same person?" decisions made by thresholding a similarity score.
//  - Pairs files: LFW's pairs.txt (`name i j` = same person, `name1 i name2 j` = different; images
//    <images>/<name>/<name>_%04d.jpg, .png when no .jpg), CSV (`img1,img2,label`, deepface's
//    master.csv `file_x,file_y,Decision`), CALFW / CPLFW's pairs files and CFP's protocol folders.
//  - evaluate_verification: Sandberg's facenet calculate_roc / calculate_val, as egcode, facenet-pytorch
//    and insightface run it. Scores are cosine similarities of L2-normalised embeddings; the protocol
//    works on the squared L2 distance of unit vectors, d = |a - b|^2 = 2 - 2 cos, with thresholds
//    0.00, 0.01, ..., 3.99 (predict "same" iff d < thr). For each of 10 folds, the FIRST threshold with
//    the best accuracy on the other nine folds is applied to it; accuracy = mean +- std (ddof 0) over folds.
//    VAL (TAR) at FAR 1e-3 per fold: thresholds 0.000 .. 3.999, the threshold where the training
//    folds' FAR reaches 1e-3 by linear interpolation (facenet's interp1d 'slinear'), 0 when it is
//    never reached. FAR is a step function with long flat runs; the interpolation is the one older
//    scipy made of them: on the interval [far[m], far[m+1]) holding 1e-3, m the last index with
//    far[m] <= 1e-3 (scipy 1.10 refuses the repeated values outright). Two edge cases scipy did not
//    handle sensibly: FAR exactly 1e-3 at the last threshold gives that threshold (old scipy: 0), and
//    FAR above 1e-3 already at threshold 0 (pairs forced wrong) gives 0 (scipy: an error). Float64.
//  - The folds (VerificationOptions::folds_mode):
//    "contiguous": facenet's KFold(10, shuffle=False) over the pairs in file order: 10 contiguous blocks,
//      the first n % 10 one pair larger. On the official LFW pairs.txt (10 sets, each 300 same then 300
//      different pairs) the blocks are the 10 official sets. But files that list all same pairs before
//      all different ones (lfw_dev's dev_pairs.txt: ONE set of 140 same then 140 different; deepface's
//      master.csv) then give test folds holding one kind only: each fold's threshold is tuned on
//      training folds dominated by the other kind, and the fold-averaged ROC and its AUC mean little
//      (lfw_dev with MobileFaceNet: protocol AUC 0.25 against an exact AUC of 0.999).
//    "stratified" (default): fold k = the k-th of 10 contiguous blocks of the SAME pairs (in file
//      order) plus the k-th of 10 contiguous blocks of the DIFFERENT pairs, block sizes as KFold gives
//      them (the first n_kind % 10 one larger). On the official pairs.txt this is again exactly the 10
//      official sets (set k's 300 same pairs are the k-th same block, its 300 different pairs the k-th
//      different block), so the result equals facenet's; on files sorted by kind every fold is balanced.
//      Pairs stay in file order inside each kind, so people listed together still share a fold (lfw_dev:
//      George Clooney's hard same pairs all test in fold 2, which scores 85.7 %).
//      A kind with fewer pairs than folds leaves some folds without it (allowed; TPR/FPR guarded to 0).
// Tests: tests/models/evaluation/test_verification.cpp (against tests/fixtures/make_verification.py, a numpy
// re-implementation of the protocol), tests/apps/test_verify.cpp (real LFW and deepface pairs).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fk::models {

// ---- pairs files -------------------------------------------------------------------------------

struct VerificationPair {
  std::string image1, image2;  // paths, already joined with the images folder
  bool same = false;           // the ground truth: both images show the same person
  int64_t line = 0;            // 1-based line in the pairs file, for messages
};

// LFW pairs.txt. A first line of two integers ("10 300": sets x pairs per kind, or "1 140") is a
// header and skipped; blank lines are skipped; fields are separated by spaces or tabs. Image i of
// `name` is <images_dir>/<name>/<name>_<i as %04d>.jpg, or the same name with .png when only that
// exists (the .jpg path is kept when neither does: reading it reports the missing file). `source` names
// the file in errors: "<source>:<line>: <problem>" for a line of another shape or a bad index.
std::vector<VerificationPair> parse_lfw_pairs(const std::string& text, const std::string& images_dir,
                                              const std::string& source);

// CSV of `image1,image2,label` (exactly three columns; fields may be quoted; CR LF accepted). The label
// is Yes/No, 1/0, true/false or same/different, any case. A first line whose third field is not a label
// is a header (deepface's `file_x,file_y,Decision`). Relative image paths are joined to images_dir,
// absolute ones kept. Errors: "<source>:<line>: <problem>".
std::vector<VerificationPair> parse_csv_pairs(const std::string& text, const std::string& images_dir,
                                              const std::string& source);

// CALFW's pairs_CALFW.txt / CPLFW's pairs_CPLFW.txt: consecutive lines form a pair, each
// '<relative path> <label>'; the pair is "same" iff the first line's label is not 0 (egcode's reader).
// Paths are joined to images_dir (absolute ones kept). Errors: "<source>:<line>: <problem>", an odd
// number of lines.
std::vector<VerificationPair> parse_calfw_pairs(const std::string& text, const std::string& images_dir,
                                                const std::string& source);

// CFP (frontal-frontal or frontal-profile): `split_dir` is Protocol/Split/FF or Protocol/Split/FP;
// Protocol/Pair_list_F.txt and Pair_list_P.txt hold '<index> <path>' (paths relative to Protocol/),
// and each sub-folder of the split (01 .. 10, in name order) same.txt and diff.txt with 'i,j' per line
// (i in the F list; j in the F list for FF, the P list for FP). The pairs come split by split, each
// split's same pairs then its different ones, so the 10 contiguous folds, and the stratified ones, are
// CFP's official splits (egcode walked them in os.walk's order instead).
std::vector<VerificationPair> read_cfp_pairs(const std::string& split_dir);

// Reads `path`: CFP's Split/FF or Split/FP folder (read_cfp_pairs); a file whose name ends in .csv
// (any case) as CSV; a file whose first line is '<path> <label>' as CALFW / CPLFW pairs; else as LFW
// pairs.txt. images_dir "" means the folder holding the pairs file. Throws when the file cannot be
// read or holds no pair.
std::vector<VerificationPair> read_pairs(const std::string& path, const std::string& images_dir = "");

// ---- the 10-fold evaluation --------------------------------------------------------------------

struct VerificationOptions {
  int64_t folds = 10;                     // KFold(n_splits=10, shuffle=False)
  std::string folds_mode = "stratified";  // "stratified" or "contiguous": see the top of this file
  double far_target = 1e-3;               // FAR at which VAL (TAR) is reported
  // Which of the thresholds with the best training accuracy a fold uses: "first" (facenet's
  // np.argmax, the smallest distance, so the strictest) or "middle" (the middle of the run of equally
  // good thresholds starting there: as far from the errors on both sides as the grid allows).
  // `facekit verify` and `facekit train` use "middle"; "first" reproduces facenet/insightface numbers.
  // lfw_dev with MobileFaceNet: first 98.57 %, middle 99.29 % (one fold of hard same pairs sits right
  // at the first threshold).
  std::string threshold_rule = "first";
};

// Squared L2 distance of two unit vectors from their cosine: |a - b|^2 = 2 - 2 cos.
inline double distance_of_cosine(double cos) { return 2.0 - 2.0 * cos; }
inline double cosine_of_distance(double d) { return 1.0 - d / 2.0; }

// The protocol's accuracy thresholds on the distance: i * 0.01 for i < 400 (numpy's arange(0, 4, 0.01)
// gives these exact doubles), and VAL's: i * 0.001 for i < 4000.
std::vector<double> accuracy_thresholds();
std::vector<double> val_thresholds();

// KFold(folds, shuffle=False) on n items: [begin, end) of each test block. Throws when n < folds.
struct Block {
  int64_t begin = 0, end = 0;
};
std::vector<Block> kfold_blocks(int64_t n, int64_t folds);

// The test fold of every pair (fold_of[k] in [0, folds)) for folds_mode "contiguous" (kfold_blocks over
// all pairs) or "stratified" (kfold_blocks over the same pairs and over the different pairs separately,
// block k of each joining fold k; a kind with fewer pairs than folds has empty blocks). Throws on another
// mode, fewer pairs than folds, or (stratified) a fold left without any pair.
std::vector<int64_t> assign_folds(const std::vector<bool>& same, int64_t folds, const std::string& mode);

// The score that makes a pair misclassified at every threshold (a pair whose image has no face, with
// --no-face wrong): -inf for a same pair (distance +inf: never accepted), +inf for a different one.
double always_wrong_score(bool same);

struct FoldResult {
  std::vector<int64_t> test;        // the pairs tested in this fold (ascending); the others train
  int64_t same = 0, different = 0;  // pairs of each kind in the test fold
  double threshold = 0;            // distance threshold chosen on the training folds
  double threshold_cosine = 0;     // the same threshold as a cosine: same iff cos > 1 - thr/2
  double accuracy = 0;             // on the test fold
  bool far_reachable = false;      // the training folds reach FAR >= far_target below distance 4
  double val_threshold = 0;        // distance threshold for VAL (0 when not reachable)
  double val = 0, far = 0;         // on the test fold (0 when it holds no same / no different pair)
};

struct VerificationResult {
  int64_t pairs = 0, same = 0, different = 0;
  std::string folds_mode;              // the options' folds_mode
  std::vector<int64_t> fold_of;        // per pair: the fold that tests it
  std::vector<FoldResult> folds;
  double accuracy_mean = 0, accuracy_std = 0;  // over the folds' test accuracies (std: ddof 0)

  // The protocol's ROC: per accuracy threshold, the test folds' TPR and FPR averaged over folds
  // (a fold without same pairs contributes TPR 0, without different pairs FPR 0).
  std::vector<double> thresholds, tpr, fpr;
  // Trapezoid area under that ROC (sklearn.metrics.auc(fpr, tpr)): no end points are added and folds
  // holding one kind of pair only pull it down, so it can be far from the true AUC.
  double auc = 0;
  // The exact AUC of the raw scores (Mann-Whitney): the probability that a same pair scores higher
  // than a different pair, ties counting one half. 0 when either kind is absent.
  double auc_exact = 0;

  double val_mean = 0, val_std = 0, far_mean = 0;  // VAL/TAR at far_target over the folds
  int64_t far_reachable_folds = 0;                   // folds whose training folds reach far_target

  // The first threshold with the best accuracy on all pairs at once (what a deployment would use).
  double best_threshold = 0, best_threshold_cosine = 0, best_accuracy = 0;
  int64_t folds_one_kind = 0;  // test folds holding only same or only different pairs
};

// scores[k]: cosine similarity of pair k (infinities allowed, see always_wrong_score; NaN refused);
// same[k]: its ground truth. Throws when the sizes differ, the folds cannot be made (assign_folds) or
// folds_mode is neither "stratified" nor "contiguous".
VerificationResult evaluate_verification(const std::vector<double>& scores, const std::vector<bool>& same,
                                         const VerificationOptions& opts = {});

// The exact ROC of the raw scores: one point (FPR, TPR) per distinct score, from (0, 0) to (1, 1),
// as the threshold on the cosine goes down (for plotting; a kind with no pairs gives rates 0).
struct RocCurve {
  std::vector<double> fpr, tpr;
};
RocCurve exact_roc(const std::vector<double>& scores, const std::vector<bool>& same);

}  // namespace fk::models
