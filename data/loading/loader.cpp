// DataLoader (see loader.h). Workers claim whole batches in order (batch k may be claimed only while
// k < next_out + prefetch_batches, which bounds the memory held), build them, and park them in
// `ready_` keyed by batch number; next() waits for its batch number, so batches come out in order
// whatever the timing. start_epoch bumps `generation_`, so a worker finishing a batch of an older
// epoch throws its result away.
#include "data/loading/loader.h"

#include <algorithm>
#include <cstring>

#include "cuda/runtime.h"
#include "tensor/creation.h"
#include "tensor/error.h"

namespace fk::data {

namespace {
// distinct tags keep the order, sample and batch streams independent for the same (seed, epoch)
constexpr uint64_t kOrderTag = 0x6f72646572ULL;   // "order"
constexpr uint64_t kSampleTag = 0x73616d706cULL;  // "sampl"
constexpr uint64_t kBatchTag = 0x6261746368ULL;   // "batch"
}  // namespace

std::vector<size_t> epoch_order(size_t size, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<size_t> order(size);
  for (size_t i = 0; i < size; ++i) order[i] = i;
  if (!shuffle) return order;
  Rng rng(hash_seed({kOrderTag, seed, uint64_t(epoch)}));
  for (size_t i = size; i > 1; --i) std::swap(order[i - 1], order[size_t(rng.randint(0, int64_t(i)))]);  // Fisher-Yates
  return order;
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, size_t index) {
  return hash_seed({kSampleTag, seed, uint64_t(epoch), uint64_t(index)});
}

uint64_t batch_seed(uint64_t seed, int64_t epoch, int64_t batch) {
  return hash_seed({kBatchTag, seed, uint64_t(epoch), uint64_t(batch)});
}

// One batch as a worker made it: the stacked tensors (undefined when every sample failed), the
// failures in epoch order, and the error that makes the batch unusable (shape mismatch), if any.
struct DataLoader::Prepared {
  int64_t generation = 0;
  Batch batch;
  int64_t loaded = 0;
  std::vector<std::string> skipped;
  std::string error;
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, Pipeline pipeline, LoaderOptions opts)
    : dataset_(std::move(dataset)), pipeline_(std::move(pipeline)), opts_(opts) {
  FK_CHECK(dataset_ != nullptr, "DataLoader: no dataset");
  FK_CHECK(dataset_->size() > 0, "DataLoader: the dataset is empty");
  FK_CHECK(opts_.batch_size > 0, "DataLoader: batch_size ", opts_.batch_size, " must be positive");
  FK_CHECK(opts_.num_workers >= 0, "DataLoader: num_workers ", opts_.num_workers, " must be >= 0");
  FK_CHECK(opts_.prefetch_batches > 0, "DataLoader: prefetch_batches ", opts_.prefetch_batches, " must be positive");
  FK_CHECK(!opts_.pin_memory || cuda::device_count() > 0, "DataLoader: pin_memory needs a CUDA device (",
           cuda::describe(), ")");
  for (int64_t w = 0; w < opts_.num_workers; ++w) workers_.emplace_back([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = int64_t(dataset_->size()), B = opts_.batch_size;
  return opts_.drop_last ? n / B : (n + B - 1) / B;
}

void DataLoader::start_epoch(int64_t epoch, int64_t skip_batches) {
  FK_CHECK(epoch >= 0, "DataLoader::start_epoch: epoch ", epoch, " is negative");
  FK_CHECK(skip_batches >= 0 && skip_batches <= batches_per_epoch(), "DataLoader::start_epoch: skip_batches ",
           skip_batches, " is not in [0, ", batches_per_epoch(), "]");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    epoch_ = epoch;
    order_ = epoch_order(dataset_->size(), opts_.shuffle, opts_.seed, epoch);
    end_batch_ = batches_per_epoch();
    next_claim_ = skip_batches;
    next_out_ = skip_batches;
    ready_.clear();
  }
  loaded_this_epoch_ = 0;
  failed_this_epoch_ = 0;
  first_failure_.clear();
  work_cv_.notify_all();
}

// Reads and transforms the samples of batch `batch` (positions [batch*B, (batch+1)*B) of the epoch
// order), each with its own Rng, and stacks those that worked. Called with the mutex NOT held; the
// epoch state it reads (order_, epoch_) is stable while `generation` is current, and a stale result is
// discarded by the caller. Stops early (returning a partial result) when the loader is stopping or the
// generation has moved on.
DataLoader::Prepared DataLoader::make_batch(int64_t generation, int64_t batch) const {
  Prepared out;
  out.generation = generation;
  std::vector<size_t> order;
  int64_t epoch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_) return out;
    epoch = epoch_;
    const size_t begin = size_t(batch * opts_.batch_size);
    const size_t end = std::min(order_.size(), begin + size_t(opts_.batch_size));
    order.assign(order_.begin() + int64_t(begin), order_.begin() + int64_t(end));
  }

  std::vector<Tensor> images;
  for (size_t index : order) {
    if (stop_) return out;  // the loader is being destroyed: end the work early
    Sample s;
    try {
      s = dataset_->sample(index);
      Rng rng(sample_seed(opts_.seed, epoch, index));
      Tensor t = pipeline_(read_image(s.path), rng);
      if (!images.empty() && t.shape() != images.front().shape()) {
        out.error = "DataLoader: sample " + s.path + " gives shape " + shape_str(t.shape()) +
                    " but the batch's first sample gives " + shape_str(images.front().shape()) +
                    "; end the pipeline with a resize or crop to a fixed size";
        return out;
      }
      images.push_back(std::move(t));
      out.batch.indices.push_back(index);
      out.loaded += 1;
    } catch (const std::exception& e) {
      const std::string what = e.what(), who = s.path.empty() ? "sample " + std::to_string(index) : s.path;
      out.skipped.push_back(what.rfind(who + ": ", 0) == 0 ? what : who + ": " + what);  // the path once
    } catch (...) {  // not a std::exception (a Dataset subclass's own): an error of the run, not a skip
      out.error = "DataLoader: sample " + (s.path.empty() ? std::to_string(index) : s.path) +
                  ": the dataset threw something that is not a std::exception";
      return out;
    }
  }
  if (images.empty()) return out;

  // stack into (N, 3, H, W) float32 and the labels into (N) int64, in page-locked memory with
  // pin_memory (allocated pinned directly: no second copy)
  const int64_t N = int64_t(images.size());
  Shape shape = images.front().shape();
  shape.insert(shape.begin(), N);
  auto host_tensor = [&](const Shape& s, DType dtype) {
    if (!opts_.pin_memory) return empty(s, dtype);
    auto storage = std::make_shared<Storage>(size_t(numel_of(s)) * dtype_size(dtype), Device::cpu(), /*pinned=*/true);
    return Tensor(storage, s, contiguous_strides(s), 0, dtype);
  };
  out.batch.images = host_tensor(shape, DType::Float32);
  const int64_t per = images.front().numel();
  float* dst = out.batch.images.data<float>();
  for (int64_t n = 0; n < N; ++n) {
    Tensor c = images[size_t(n)].contiguous();
    std::memcpy(dst + n * per, c.data<float>(), size_t(per) * sizeof(float));
  }
  out.batch.labels = host_tensor({N}, DType::Int64);
  int64_t* lab = out.batch.labels.data<int64_t>();
  for (int64_t n = 0; n < N; ++n) lab[n] = dataset_->sample(out.batch.indices[size_t(n)]).label;
  return out;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    // a batch is claimable when the epoch has one left and it is within the prefetch window
    work_cv_.wait(lock, [this] {
      return stop_ || (next_claim_ < end_batch_ && next_claim_ < next_out_ + opts_.prefetch_batches);
    });
    if (stop_) return;
    const int64_t batch = next_claim_++;
    const int64_t generation = generation_;
    lock.unlock();
    auto result = std::make_shared<Prepared>();
    try {
      *result = make_batch(generation, batch);
    } catch (const std::exception& e) {  // not a sample's fault (e.g. out of memory): next() rethrows it
      result->generation = generation;
      result->error = std::string("DataLoader: batch ") + std::to_string(batch) + ": " + e.what();
    } catch (...) {  // anything else escaping a worker thread would call std::terminate (exit 134)
      result->generation = generation;
      result->error = std::string("DataLoader: batch ") + std::to_string(batch) +
                      ": an exception that is not a std::exception";
    }
    lock.lock();
    if (stop_) return;
    if (result->generation == generation_) {
      ready_[batch] = std::move(result);
      ready_cv_.notify_all();
    }
  }
}

bool DataLoader::next(Batch& out) {
  while (true) {
    std::shared_ptr<Prepared> p;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      FK_CHECK(epoch_ >= 0, "DataLoader::next: call start_epoch first");
      if (next_out_ >= end_batch_) {
        FK_CHECK(!(loaded_this_epoch_ == 0 && failed_this_epoch_ > 0), "DataLoader: not one of the ",
                 failed_this_epoch_, " images of epoch ", epoch_, " could be loaded (first: ",
                 first_failure_, ")");
        return false;
      }
      const int64_t batch = next_out_;
      if (workers_.empty()) {
        // no workers: make the batch here, on the consumer's thread
        const int64_t generation = generation_;
        lock.unlock();
        p = std::make_shared<Prepared>(make_batch(generation, batch));
        lock.lock();
      } else {
        ready_cv_.wait(lock, [&] { return ready_.count(batch) > 0; });
        p = ready_[batch];
        ready_.erase(batch);
      }
      ++next_out_;
    }
    work_cv_.notify_all();  // the prefetch window moved on

    FK_CHECK(p->error.empty(), p->error);
    loaded_this_epoch_ += p->loaded;
    failed_this_epoch_ += int64_t(p->skipped.size());
    if (first_failure_.empty() && !p->skipped.empty()) first_failure_ = p->skipped.front();
    skipped_.insert(skipped_.end(), p->skipped.begin(), p->skipped.end());
    if (p->loaded == 0) continue;  // every sample of this batch failed: go on to the next one
    out = std::move(p->batch);
    return true;
  }
}

std::vector<std::string> DataLoader::take_skipped() {
  std::vector<std::string> s;
  s.swap(skipped_);
  return s;
}

}  // namespace fk::data
