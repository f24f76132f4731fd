// ImagePrefetcher (prefetch.h).
#include "data/loading/prefetch.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "tensor/error.h"

namespace fk::data {

ImagePrefetcher::ImagePrefetcher(std::vector<std::string> paths, int workers, size_t ahead)
    : paths_(std::move(paths)), items_(paths_.size()), ready_(paths_.size(), 0), ahead_(std::max<size_t>(1, ahead)) {
  const size_t n = std::min<size_t>(size_t(std::max(1, workers)), paths_.size());
  for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
}

ImagePrefetcher::~ImagePrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ImagePrefetcher::work() {
  while (true) {
    size_t i;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || claimed_ >= paths_.size() || claimed_ < consumed_ + ahead_; });
      if (stop_ || claimed_ >= paths_.size()) return;
      i = claimed_++;
    }
    Item item;
    try {
      item.image = read_image(paths_[i]);
    } catch (const std::exception& e) {
      item.error = e.what();
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_[i] = std::move(item);
      ready_[i] = 1;
    }
    cv_.notify_all();
  }
}

ImagePrefetcher::Item ImagePrefetcher::next() {
  std::unique_lock<std::mutex> lock(mu_);
  FK_CHECK(consumed_ < paths_.size(), "ImagePrefetcher: all ", paths_.size(), " images were already taken");
  const size_t i = consumed_;
  cv_.wait(lock, [&] { return ready_[i] != 0; });
  Item item = std::move(items_[i]);
  items_[i] = Item();
  ++consumed_;
  lock.unlock();
  cv_.notify_all();  // a worker may claim one more
  return item;
}

}  // namespace fk::data
