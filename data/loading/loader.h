// The threaded, deterministic data loader (torch.utils.data.DataLoader for facekit training):
// worker threads read and transform the images of the coming batches while the consumer trains on the
// current one; batches come out in order through a bounded queue of prefetch_batches batches.
// Determinism (what `facekit train --resume` relies on):
//  - the order of epoch e is epoch_order(size, shuffle, seed, e): a Fisher-Yates shuffle with
//    Rng(hash(seed, e)), or 0..n-1 without shuffle; batch k holds positions [k*B, (k+1)*B) of it;
//  - the transform draws of a sample use Rng(sample_seed(seed, epoch, dataset index)) only;
//  so nothing depends on thread timing, num_workers, or whether an earlier epoch was consumed.
// A sample that fails (unreadable or corrupt file, a transform throwing, e.g. face_crop finding no
// face) is left out of its batch, which then comes out shorter (batch boundaries never move, so
// resuming at batch k needs no knowledge of earlier failures); a batch whose every sample failed is
// not returned at all. Failures are listed by take_skipped(), in epoch order. If a whole epoch ends
// without a single image decoded, next() throws fk::Error.
// pin_memory (torch's DataLoader(pin_memory=True)): the workers collate each batch straight into
// page-locked host memory, so the trainer's `.to(Device::cuda())` copies need no staging. It needs a
// CUDA device: without one the constructor throws (one line naming cuda::describe()) rather than
// silently loading into ordinary memory, so a misconfigured GPU run fails before its first batch.
// Tests: tests/data/loading/test_loader.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/loading/dataset.h"
#include "data/loading/transforms.h"
#include "tensor/tensor.h"

namespace fk::data {

struct Batch {
  Tensor images;                // (N, 3, H, W) float32
  Tensor labels;                // (N) int64
  std::vector<size_t> indices;  // dataset indices of the N samples
};

struct LoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  bool drop_last = false;       // drop the last, partial batch of each epoch
  int64_t num_workers = 2;      // 0: load on the consumer's thread inside next()
  int64_t prefetch_batches = 4; // at most this many batches are being prepared or waiting
  uint64_t seed = 0;
  bool pin_memory = false;      // batches in page-locked memory (needs a CUDA device; see above)
};

// The dataset order of epoch `epoch` (see the file comment).
std::vector<size_t> epoch_order(size_t size, bool shuffle, uint64_t seed, int64_t epoch);
// The seed of sample `index`'s transform Rng in epoch `epoch`.
uint64_t sample_seed(uint64_t seed, int64_t epoch, size_t index);
// A seed for batch-level randomness (sample_pairing) of batch `batch` in epoch `epoch`, so that it
// too survives a resume.
uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch);

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, Pipeline pipeline, LoaderOptions opts);
  ~DataLoader();  // stops and joins the workers, also mid-epoch (after at most one sample each)
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts (or restarts) epoch `epoch` at batch `skip_batches`; work of a previous epoch is dropped.
  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the epoch, or false at its end. Throws fk::Error when no epoch was started,
  // when samples of one batch differ in shape, or when the whole epoch failed to decode.
  bool next(Batch& out);
  // "path: reason" for each sample that failed since the last call.
  std::vector<std::string> take_skipped();

 private:
  struct Prepared;  // one batch made by a worker
  Prepared make_batch(int64_t generation, int64_t batch) const;
  void worker_loop();

  std::shared_ptr<const Dataset> dataset_;
  Pipeline pipeline_;
  LoaderOptions opts_;

  // Shared with the workers, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable work_cv_;   // workers wait for claimable batches
  std::condition_variable ready_cv_;  // the consumer waits for its batch
  std::atomic<bool> stop_{false};
  int64_t generation_ = 0;  // bumped by start_epoch: results of older generations are discarded
  int64_t epoch_ = -1;
  std::vector<size_t> order_;
  int64_t end_batch_ = 0;    // batches of this epoch
  int64_t next_claim_ = 0;   // next batch a worker may take
  int64_t next_out_ = 0;     // next batch the consumer returns
  std::map<int64_t, std::shared_ptr<Prepared>> ready_;

  // Consumer-side state.
  int64_t loaded_this_epoch_ = 0;
  int64_t failed_this_epoch_ = 0;
  std::vector<std::string> skipped_;
  std::string first_failure_;  // of this epoch, for the all-failed error
  std::vector<std::thread> workers_;
};

}  // namespace fk::data
