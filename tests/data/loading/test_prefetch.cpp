// data::ImagePrefetcher (data/loading/prefetch.h): images come back in the order of the paths whatever the
// workers' timing, a bad file gives its error in its place and the others still come, asking past
// the end throws, and destroying it early (images left undecoded or unclaimed) neither hangs nor leaks.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "data/image/image.h"
#include "data/loading/prefetch.h"
#include "test_util.h"

using namespace fk;

namespace {

// an image whose width tells which file it is
data::Image numbered(int i) {
  data::Image img;
  img.width = 3 + i;
  img.height = 2;
  img.pixels.assign(size_t(img.width * img.height * 3), uint8_t(i));
  return img;
}

}  // namespace

TEST_CASE("prefetch: in order, errors in place, past the end refused") {
  std::filesystem::path d = test::scratch("prefetch");
  std::vector<std::string> paths;
  for (int i = 0; i < 23; ++i) {
    std::string p = (d / (std::to_string(i) + ".png")).string();
    if (i == 5) std::ofstream(p) << "not a png";   // unreadable
    else if (i != 9) data::write_png(p, numbered(i));  // 9: missing
    paths.push_back(p);
  }
  for (int workers : {1, 3}) {
    CAPTURE(workers);
    data::ImagePrefetcher pf(paths, workers, 4);
    CHECK(pf.size() == 23);
    for (int i = 0; i < 23; ++i) {
      data::ImagePrefetcher::Item item = pf.next();
      if (i == 5 || i == 9) {
        CHECK_MESSAGE(item.error.find(paths[size_t(i)]) != std::string::npos, item.error);
      } else {
        CHECK(item.error.empty());
        CHECK(item.image.width == 3 + i);
        CHECK(item.image.pixels.front() == uint8_t(i));
      }
    }
    CHECK_THROWS_WITH_AS(pf.next(), doctest::Contains("all 23 images were already taken"), std::exception);
  }
  {  // stopped early: the destructor returns
    data::ImagePrefetcher pf(paths, 2, 3);
    CHECK(pf.next().image.width == 3);
  }
  { data::ImagePrefetcher none(std::vector<std::string>{}, 2, 3); }
  std::filesystem::remove_all(d);
}
