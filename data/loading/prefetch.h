// ImagePrefetcher: decodes the next images while the caller works on the current one. `workers`
// threads read the files in order into a window of at most `ahead` decoded images past the one the
// caller holds; next() hands them out in the order of `paths`, each the image or the one-line error
// read_image gave for it (a bad file does not stop the others). The destructor stops the workers
// after their current file. `facekit detect`, `align` and `embed` read their folders through it.
// Tests: tests/data/loading/test_prefetch.cpp.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "data/image/image.h"

namespace fk::data {

class ImagePrefetcher {
 public:
  struct Item {
    Image image;
    std::string error;  // empty when the image was read
  };
  explicit ImagePrefetcher(std::vector<std::string> paths, int workers = 1, size_t ahead = 4);
  ~ImagePrefetcher();
  ImagePrefetcher(const ImagePrefetcher&) = delete;
  ImagePrefetcher& operator=(const ImagePrefetcher&) = delete;

  size_t size() const { return paths_.size(); }
  // The next image in order (blocks until it is decoded); throws fk::Error past the last one.
  Item next();

 private:
  void work();

  std::vector<std::string> paths_;
  std::vector<Item> items_;
  std::vector<char> ready_;
  size_t ahead_;
  size_t claimed_ = 0, consumed_ = 0;  // files handed to workers; items handed to the caller
  bool stop_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace fk::data
