// `facekit embed` (apps/embed.cpp) on real photos (../shared/data/faces, MTCNN weights from
// ../shared/data/mtcnn, MobileFaceNet 068.ckpt; skipped with a message when absent): the gallery's
// contents and metadata, labels from the identity folders, images without a face and unreadable files
// listed while the rest is embedded, and flat memory on a folder of 1,000 faces (peak RSS of the
// process for 1,000 images against 100); the .h5 gallery: what the .npz holds, read by h5py
// (tests/fixtures/check_h5_gallery.py), and identify answering the same with either.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "data/formats/h5.h"
#include "data/image/image.h"
#include "models/recognition/gallery.h"
#include "test_util.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using fk::test::CliRun;

const fs::path kShared = fs::path(FK_SHARED_DATA_DIR);
const std::string kCkpt = (kShared / "weights" / "mobilefacenet_casia" / "068.ckpt").string();
const std::string kModel = " --arch mobilefacenet --weights " + kCkpt + " --weights-key net_state_dict";
const std::string kMtcnn = " --mtcnn-weights " + (kShared / "mtcnn").string();

using fk::test::has;
bool have_data() { return fs::exists(kCkpt) && fs::exists(kShared / "mtcnn" / "pnet.pt"); }

using fk::test::scratch;

// Anonymous resident memory (heap, stacks, no mapped files) of process `pid` in KiB, -1 when gone.
long rss_anon_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  return -1;
}

struct Measured {
  int code;
  long peak_anon_kib;  // the largest RssAnon seen, sampled every 2 ms
  long maxrss_kib;     // wait4's peak resident set, mapped files included
};

// Runs `facekit args...` with its output discarded; returns the exit code and its peak memory. The
// check uses anonymous memory: the peak resident set also counts the pages of the shared libraries
// mapped in, which for the CUDA build's cuBLAS/cuDNN (hundreds of MiB) vary by tens of MiB from run
// to run with what the page cache holds, whatever the program does.
Measured run_measured(const std::vector<std::string>& args) {
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
#ifdef FK_SANITIZED
  // ASan keeps freed blocks in a quarantine of up to 256 MiB. The CPU caching allocator reuses the large
  // blocks, so only small frees reach it and it fills in proportion to the work done: measured +104 MiB
  // from 20 to 200 images, all quarantine (+0 with quarantine_size_mb=16 or FK_CPU_CACHE_MB=0). A small
  // quarantine measures what the program keeps. The first ASAN_OPTIONS in the environment wins.
  const char* asan = std::getenv("ASAN_OPTIONS");
  env_s.insert(env_s.begin(), std::string("ASAN_OPTIONS=") + (asan ? std::string(asan) + ":" : "") + "quarantine_size_mb=16");
#endif
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
  long peak_anon = 0;
  while (true) {
    pid_t done = wait4(pid, &status, WNOHANG, &usage);
    REQUIRE(done >= 0);
    if (done == pid) break;
    peak_anon = std::max(peak_anon, rss_anon_kib(pid));
    usleep(2000);
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, peak_anon, usage.ru_maxrss};
}

}  // namespace

TEST_CASE("embed: --help names the options") {
  CliRun r = fk::test::run_cli("embed --help");
  CHECK_MESSAGE(r.code == 0, r.out);
  for (const char* opt : {"--arch", "--weights", "--weights-key", "--out", "--format", ".h5", "--flip", "--template", "--no-detect",
                          "--mtcnn-weights", "--batch"})
    CHECK_MESSAGE(has(r.out, opt), opt);
}

TEST_CASE("embed: a gallery of the face_recognition people, faceless and broken files listed") {
  if (!have_data()) {
    FK_SKIP("../shared/data (MobileFaceNet weights, MTCNN weights, faces) is absent");
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

TEST_CASE("embed: an .h5 gallery holds what the .npz holds, h5py reads it, identify answers the same") {
  if (!have_data()) {
    FK_SKIP("../shared/data (MobileFaceNet weights, MTCNN weights, faces) is absent");
  }
  fs::path d = scratch("embed_h5");
  const fs::path tree = kShared / "faces" / "face_recognition" / "knn_examples" / "train";
  const std::string common = "embed " + tree.string() + kModel + kMtcnn + " --flip concat --out ";
  CliRun npz = fk::test::run_cli(common + (d / "g.npz").string());
  REQUIRE_MESSAGE(npz.code == 0, npz.out);
  CliRun h5 = fk::test::run_cli(common + (d / "g.h5").string() + " --format h5");
  REQUIRE_MESSAGE(h5.code == 0, h5.out);
  const fk::models::Gallery a = fk::models::load_gallery((d / "g.npz").string());
  const fk::models::Gallery b = fk::models::load_gallery((d / "g.h5").string());
  CHECK_CLOSE(b.embeddings, a.embeddings, 0, 0, "embeddings");
  CHECK(b.labels == a.labels);
  CHECK(b.paths == a.paths);
  CHECK(b.meta == a.meta);
  // egcode's groups: one per person
  CHECK(fk::data::H5Reader((d / "g.h5").string()).members().size() == 3 + a.identities().size());

  // identify with either gallery: the same names and scores
  const fs::path photo = kShared / "faces" / "face_recognition" / "knn_examples" / "test" / "obama_and_biden.jpg";
  auto identify = [&](const std::string& gallery, const std::string& json) {
    CliRun r = fk::test::run_cli("identify " + photo.string() + " --gallery " + gallery + " --weights " + kCkpt +
                                 " --weights-key net_state_dict" + kMtcnn + " --json " + json);
    REQUIRE_MESSAGE(r.code == 0, r.out);
    std::ifstream f(json);
    return nlohmann::json::parse(f)["photos"];
  };
  const auto with_npz = identify((d / "g.npz").string(), (d / "npz.json").string());
  const auto with_h5 = identify((d / "g.h5").string(), (d / "h5.json").string());
  CHECK(with_h5 == with_npz);
  CHECK(with_npz[0]["faces"].size() >= 2);  // Obama, Biden (and people behind them)

  // --format must agree with --out; an HDF5 file without facekit's datasets is refused naming the file
  CliRun clash = fk::test::run_cli(common + (d / "x.npz").string() + " --format h5");
  CHECK(clash.code == 1);
  CHECK_MESSAGE(has(clash.out, "embed: --format h5 but --out " + (d / "x.npz").string() + " does not end in .h5"),
                clash.out);
  {
    fk::data::H5Writer w((d / "egcode.h5").string());
    w.dataset("obama/embedding", fk::zeros({256}, fk::DType::Float64));
    w.close();
  }
  CHECK_THROWS_WITH_AS(fk::models::load_gallery((d / "egcode.h5").string()),
                       doctest::Contains(((d / "egcode.h5").string() + ": not a facekit gallery").c_str()), fk::Error);

  // h5py, from the readers' venv, reads the same arrays
  const std::string python = fk::test::readers_python();
  if (python.empty()) {
    FK_SKIP("the readers' venv (~/.cache/facekit/readers, scripts/install-deps.sh) is absent: h5py not run (facekit "
            "read the .h5 back)");
  }
  CliRun py = fk::test::run_shell(python + " " + fk::test::fixture_path("check_h5_gallery.py") + " " +
                                  (d / "g.h5").string() + " " + (d / "g.npz").string() + " 2>" +
                                  (d / "stderr.txt").string());
  REQUIRE_MESSAGE(py.code == 0, py.out, fk::data::read_file((d / "stderr.txt").string()));
  const auto j = nlohmann::json::parse(py.out);
  CHECK(j["embeddings_dtype"] == "float32");
  CHECK(j["embeddings_shape"] == nlohmann::json::array({a.size(), 256}));
  CHECK(j["embeddings_equal"] == true);
  CHECK(j["labels_equal"] == true);
  CHECK(j["paths_equal"] == true);
  for (const auto& [key, same] : j["meta_equal"].items()) CHECK_MESSAGE(same == true, key);
  CHECK(j["people"].size() == a.identities().size());
  CHECK(j["person_mean_max_error"].get<double>() < 1e-6);
  fs::remove_all(d);
}

TEST_CASE("embed: memory stays flat on a folder of 1,000 faces") {
  if (!have_data()) {
    FK_SKIP("../shared/data (MobileFaceNet weights, faces) is absent");
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
  Measured m_small = run(small_tree, "small.npz");
  Measured m_big = run(big_tree, "big.npz");
  CHECK(m_small.code == 0);
  CHECK(m_big.code == 0);
  CHECK(fk::models::load_gallery((d / "big.npz").string()).size() == big);
  // holding every image would add ~200 KB per image (decoded chip + float input): > 170 MiB for the
  // more images (900); what must grow is only the embeddings, labels and paths (~1 KB per image)
  long growth_kib = m_big.peak_anon_kib - m_small.peak_anon_kib;
  CHECK(m_small.peak_anon_kib > 0);
  MESSAGE("peak anonymous memory: " << m_small.peak_anon_kib / 1024 << " MiB for " << small << " images, "
                                    << m_big.peak_anon_kib / 1024 << " MiB for " << big << " (peak RSS with the mapped "
                                    << "libraries: " << m_small.maxrss_kib / 1024 << " and " << m_big.maxrss_kib / 1024 << " MiB)");
  // Bound: well under the 170 MiB that holding the images would add. Measured with the CUDA build:
  // +1.4 MiB when the same two commands run from a shell, but +25 MiB when spawned from this test
  // (not yet understood; the CPU-only build gave +0.4 MiB here), hence 48 and not 16 MiB.
  CHECK_MESSAGE(growth_kib < 48 * 1024, "peak memory grew by " << growth_kib / 1024 << " MiB");
  fs::remove_all(d);
}
