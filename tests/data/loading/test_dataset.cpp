// data/dataset: ImageFolder (torchvision class order and sample order), ListDataset (labels, errors
// naming file:line), open_dataset, split_per_class, Subset. Uses a temporary folder tree.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/loading/dataset.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace {

// A fresh empty folder under the system temp dir, removed when the object goes away.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("fk_dataset_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& rel, const std::string& text = "x") const {
    fs::path p = path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fk::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("dataset: ImageFolder sorts classes and samples like torchvision") {
  TempDir d("folder");
  d.file("zeta/b.png");
  d.file("zeta/a.JPG");
  d.file("zeta/notes.txt");  // not an image: ignored
  d.file("Alpha/x.jpeg");
  d.file("beta/sub/y.bmp");  // sub-folders of a class are searched
  d.file("beta/c.png");
  d.file("beta/z.png");      // the class folder's own files come before its sub-folders' (os.walk)
  fk::data::ImageFolder ds(d.path.string());
  // byte order: upper case before lower case, as Python's sorted()
  CHECK(ds.classes() == std::vector<std::string>{"Alpha", "beta", "zeta"});
  REQUIRE(ds.size() == 6);
  CHECK(ds.sample(0).path == (d.path / "Alpha/x.jpeg").string());
  CHECK(ds.sample(0).label == 0);
  CHECK(ds.sample(1).path == (d.path / "beta/c.png").string());
  CHECK(ds.sample(2).path == (d.path / "beta/z.png").string());
  CHECK(ds.sample(3).path == (d.path / "beta/sub/y.bmp").string());
  CHECK(ds.sample(3).label == 1);
  CHECK(ds.sample(4).path == (d.path / "zeta/a.JPG").string());
  CHECK(ds.sample(4).label == 2);
  CHECK(ds.sample(5).path == (d.path / "zeta/b.png").string());
  CHECK_THROWS_AS(ds.sample(6), fk::Error);
  // open_dataset on a folder gives the same
  auto opened = fk::data::open_dataset(d.path.string());
  CHECK(opened->size() == 6);
  CHECK(opened->classes().size() == 3);
  // a class folder without images is refused, naming it
  fs::create_directories(d.path / "empty_class");
  std::string msg = error_of([&] { fk::data::ImageFolder x(d.path.string()); });
  CHECK(msg.find(d.path.string()) != std::string::npos);
  CHECK(msg.find("class folder(s) empty_class") != std::string::npos);
}

TEST_CASE("dataset: ImageFolder errors name the root") {
  TempDir d("bad_folder");
  std::string msg = error_of([&] { fk::data::ImageFolder x(d.path.string()); });
  CHECK(msg.find(d.path.string()) != std::string::npos);
  CHECK(msg.find("no class sub-folders") != std::string::npos);
  d.file("a/readme.txt");
  msg = error_of([&] { fk::data::ImageFolder x(d.path.string()); });
  CHECK(msg.find(d.path.string()) != std::string::npos);
  CHECK(msg.find("no image files") != std::string::npos);
  msg = error_of([&] { fk::data::ImageFolder x((d.path / "nope").string()); });
  CHECK(msg.find("not a folder") != std::string::npos);
  msg = error_of([&] { fk::data::open_dataset((d.path / "nope").string()); });
  CHECK(msg.find("no such folder or list file") != std::string::npos);
}

TEST_CASE("dataset: ListDataset reads path label lines relative to the root") {
  TempDir d("list");
  std::string list = d.file("lists/train.txt", "n001/0001_01.jpg 0\r\n\n  n002/a.jpg   3\nn001/0002.jpg 0\n");
  fk::data::ListDataset ds(list, "/data/vgg");
  REQUIRE(ds.size() == 3);
  CHECK(ds.sample(0).path == "/data/vgg/n001/0001_01.jpg");
  CHECK(ds.sample(0).label == 0);
  CHECK(ds.sample(1).path == "/data/vgg/n002/a.jpg");
  CHECK(ds.sample(1).label == 3);
  CHECK(ds.classes() == std::vector<std::string>{"0", "1", "2", "3"});
  // open_dataset: a file is a list whose root defaults to the list's folder
  auto opened = fk::data::open_dataset(list);
  CHECK(opened->sample(2).path == (d.path / "lists" / "n001/0002.jpg").string());
  CHECK(fk::data::open_dataset(list, "/r")->sample(2).path == "/r/n001/0002.jpg");
}

TEST_CASE("dataset: ListDataset errors name the file and line") {
  TempDir d("bad_list");
  struct Case {
    std::string text;
    int line;
  };
  for (const Case& c : {Case{"a.jpg 0\nb.jpg\n", 2}, Case{"a.jpg 0\n\nb.jpg x1\n", 3}, Case{"a.jpg -1\n", 1},
                        Case{"a.jpg 1 2\n", 1}, Case{"a.jpg 1.5\n", 1}}) {
    std::string list = d.file("l.txt", c.text);
    std::string msg = error_of([&] { fk::data::ListDataset x(list, "."); });
    CAPTURE(c.text);
    CHECK(msg.find(list + ":" + std::to_string(c.line) + ": expected") != std::string::npos);
  }
  std::string empty = d.file("empty.txt", "\n\n");
  CHECK(error_of([&] { fk::data::ListDataset x(empty, "."); }).find("no samples") != std::string::npos);
  CHECK(error_of([&] { fk::data::ListDataset x((d.path / "missing.txt").string(), "."); }).find("cannot open") !=
        std::string::npos);
}

TEST_CASE("dataset: split_per_class is per class, seeded and complete") {
  TempDir d("split");
  std::string text;
  // class 0: 10 images, class 1: 3 images, class 2: 1 image
  for (int i = 0; i < 10; ++i) text += "c0/" + std::to_string(i) + ".png 0\n";
  for (int i = 0; i < 3; ++i) text += "c1/" + std::to_string(i) + ".png 1\n";
  text += "c2/0.png 2\n";
  auto ds = std::make_shared<fk::data::ListDataset>(d.file("l.txt", text), ".");
  auto [train, val] = fk::data::split_per_class(*ds, 0.25, 7);
  // ceil(0.25*10) = 3, ceil(0.25*3) = 1, the single image stays in train
  CHECK(val.size() == 4);
  CHECK(train.size() == 10);
  std::set<size_t> all(train.begin(), train.end());
  all.insert(val.begin(), val.end());
  CHECK(all.size() == 14);  // disjoint and complete
  int val_c0 = 0, val_c1 = 0;
  for (size_t i : val) (ds->sample(i).label == 0 ? val_c0 : val_c1)++;
  CHECK(val_c0 == 3);
  CHECK(val_c1 == 1);
  CHECK(std::is_sorted(val.begin(), val.end()));
  // the same seed gives the same split; some other seed a different one
  CHECK(fk::data::split_per_class(*ds, 0.25, 7).second == val);
  bool differs = false;
  for (uint64_t s = 8; s < 20 && !differs; ++s) differs = fk::data::split_per_class(*ds, 0.25, s).second != val;
  CHECK(differs);
  CHECK(fk::data::split_per_class(*ds, 0.0, 7).second.empty());
  CHECK_THROWS_AS(fk::data::split_per_class(*ds, 1.0, 7), fk::Error);
  // Subset views the chosen samples
  fk::data::Subset sub(ds, val);
  CHECK(sub.size() == 4);
  CHECK(sub.sample(3).path == ds->sample(val[3]).path);
  CHECK(sub.classes().size() == 3);
  CHECK_THROWS_AS(fk::data::Subset(ds, {14}), fk::Error);
}
