// `facekit embed` (apps/embed.cpp) on real photos (../shared/data/faces, MTCNN weights from
// ../shared/data/mtcnn, MobileFaceNet 068.ckpt; skipped with a message when absent): the gallery's
// contents and metadata, labels from the identity folders, images without a face and unreadable files
// listed while the rest is embedded, and flat memory on a folder of 1,000 faces (peak RSS of the
// process for 1,000 images against 100).
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/image.h"
#include "models/gallery.h"
#include "test_util.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using fk::test::CliRun;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const std::string kCkpt = (kShared / "weights" / "mobilefacenet_casia" / "068.ckpt").string();
const std::string kModel = " --arch mobilefacenet --weights " + kCkpt + " --weights-key net_state_dict";
const std::string kMtcnn = " --mtcnn-weights " + (kShared / "mtcnn").string();

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool have_data() { return fs::exists(kCkpt) && fs::exists(kShared / "mtcnn" / "pnet.pt"); }

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("facekit_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// Runs `facekit args...` with its output discarded; returns the exit code and the peak resident
// memory of that process alone (wait4's rusage), in KiB.
std::pair<int, long> run_measured(const std::vector<std::string>& args) {
  std::vector<std::string> argv_s = {FK_CLI_PATH};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // glibc raises its mmap threshold as large blocks are freed, after which big tensors land in the
  // heap and its peak depends on allocation history (measured: +63 MiB from 100 to 1,000 images, then
  // +31 MiB to 3,000, all fragmentation). A fixed threshold, one arena and one thread make the peak
  // reflect what the program actually keeps (+0.4 MiB from 100 to 1,000).
  std::vector<std::string> env_s = {"MALLOC_MMAP_THRESHOLD_=131072", "MALLOC_ARENA_MAX=1", "OMP_NUM_THREADS=1"};
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  int status = 0;
  rusage usage{};
  REQUIRE(wait4(pid, &status, 0, &usage) == pid);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, usage.ru_maxrss};
}

}  // namespace

TEST_CASE("embed: --help names the options") {
  CliRun r = fk::test::run_cli("embed --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--arch", "--weights", "--weights-key", "--out", "--flip", "--template", "--no-detect",
                          "--mtcnn-weights", "--batch"})
    CHECK_MESSAGE(has(r.out, opt), opt);
}

TEST_CASE("embed: a gallery of the face_recognition people, faceless and broken files listed") {
  if (!have_data()) {
    MESSAGE("skipped: ../shared/data (MobileFaceNet weights, MTCNN weights, faces) is absent");
    return;
  }
  fs::path d = scratch("embed");
  fs::path tree = d / "people";
  fs::copy(kShared / "faces" / "face_recognition" / "knn_examples" / "train", tree, fs::copy_options::recursive);
  { std::ofstream(tree / "obama" / "broken.jpg") << "not a jpeg"; }
  // a picture without a face: a plain grey PNG
  fk::data::Image grey(64, 64);
  std::fill(grey.pixels.begin(), grey.pixels.end(), uint8_t(128));
  fk::data::write_png((tree / "biden" / "grey.png").string(), grey);

  fs::path out = d / "g.npz";
  CliRun r = fk::test::run_cli("embed " + tree.string() + kModel + kMtcnn + " --flip concat --out " + out.string());
  CHECK_MESSAGE(r.code == 1, r.out);  // the broken file
  CHECK_MESSAGE(has(r.out, "broken.jpg"), r.out);
  CHECK_MESSAGE(has(r.out, "no face: " + (tree / "biden" / "grey.png").string()), r.out);
  CHECK_MESSAGE(has(r.out, "embedded 9 faces of 5 identities from 11 images"), r.out);
  fk::models::Gallery g = fk::models::load_gallery(out.string());
  CHECK(g.size() == 9);
  CHECK(g.embeddings.shape() == fk::Shape{9, 256});
  CHECK(g.identities() == std::vector<std::string>{"alex_lacamoire", "biden", "kit_harington", "obama", "rose_leslie"});
  CHECK(g.meta.arch == "mobilefacenet");
  CHECK(g.meta.flip == "concat");
  CHECK(g.meta.crop == "sphereface");
  CHECK(g.meta.weights_sha256 == "e839247cdbdfc023fb7cadeaf53a4549d50c8fc24ad154c02e35920ea8910d99");
  // paths point at the images, labels are their folders; same person closer than different people
  for (int64_t i = 0; i < g.size(); ++i) CHECK(fs::path(g.paths[size_t(i)]).parent_path().filename() == g.labels[size_t(i)]);
  fk::Tensor s = fk::models::cosine_scores(g.embeddings, g.embeddings);
  double worst_same = 1, best_different = -1;
  for (int64_t i = 0; i < g.size(); ++i)
    for (int64_t j = 0; j < g.size(); ++j) {
      if (i == j) continue;
      double v = fk::select(fk::select(s, 0, i), 0, j).item();
      if (g.labels[size_t(i)] == g.labels[size_t(j)]) worst_same = std::min(worst_same, v);
      else best_different = std::max(best_different, v);
    }
  CHECK_MESSAGE(worst_same > best_different, "same " << worst_same << " vs different " << best_different);

  // an existing gallery is replaced atomically; a bad folder leaves it alone
  CliRun bad = fk::test::run_cli("embed " + (d / "missing").string() + kModel + kMtcnn + " --out " + out.string());
  CHECK(bad.code == 1);
  CHECK_MESSAGE(has(bad.out, "missing: not a folder"), bad.out);
  CHECK(fk::models::load_gallery(out.string()).size() == 9);
  fs::remove_all(d);
}

TEST_CASE("embed: memory stays flat on a folder of 1,000 faces") {
  if (!have_data()) {
    MESSAGE("skipped: ../shared/data (MobileFaceNet weights, faces) is absent");
    return;
  }
#ifdef FK_SANITIZED
  const int big = 200, small = 20;  // the sanitizers make every forward pass ~10x slower
#else
  const int big = 1000, small = 100;
#endif
  // dlib's 150x150 face chips (5 people x 11), hard-linked over and over into two trees
  std::vector<fs::path> chips;
  for (const auto& e : fs::recursive_directory_iterator(kShared / "faces" / "dlib" / "johns"))
    if (e.path().extension() == ".jpg") chips.push_back(e.path());
  std::sort(chips.begin(), chips.end());
  REQUIRE(chips.size() == 55);
  fs::path d = scratch("embed_flat");
  auto make_tree = [&](const std::string& name, int n) {
    fs::path root = d / name;
    for (int i = 0; i < n; ++i) {
      const fs::path& src = chips[size_t(i) % chips.size()];
      fs::path dst = root / src.parent_path().filename() / (std::to_string(i) + ".jpg");
      fs::create_directories(dst.parent_path());
      std::error_code ec;
      fs::create_hard_link(src, dst, ec);
      if (ec) fs::copy_file(src, dst);
    }
    return root;
  };
  fs::path small_tree = make_tree("small", small), big_tree = make_tree("big", big);
  auto run = [&](const fs::path& tree, const std::string& out) {
    return run_measured({"embed", tree.string(), "--arch", "mobilefacenet", "--weights", kCkpt, "--weights-key",
                         "net_state_dict", "--no-detect", "--batch", "16", "--out", (d / out).string()});
  };
  auto [code_small, rss_small] = run(small_tree, "small.npz");
  auto [code_big, rss_big] = run(big_tree, "big.npz");
  CHECK(code_small == 0);
  CHECK(code_big == 0);
  CHECK(fk::models::load_gallery((d / "big.npz").string()).size() == big);
  // holding every image would add ~200 KB per image (decoded chip + float input): > 170 MiB for the
  // more images (900); what must grow is only the embeddings, labels and paths (~1 KB per image)
  long growth_kib = rss_big - rss_small;
  MESSAGE("peak RSS: " << rss_small / 1024 << " MiB for " << small << " images, " << rss_big / 1024 << " MiB for " << big);
  CHECK_MESSAGE(growth_kib < 16 * 1024, "peak memory grew by " << growth_kib / 1024 << " MiB");
  fs::remove_all(d);
}
