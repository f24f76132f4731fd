// The `facekit` command: --help/--version, exit codes (2 for bad usage: no command, non-finite numbers,
// unknown devices; 1 for output that cannot be written), and a short demo run whose loss must fall and
// whose accuracy must beat chance.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>

#include "test_util.h"

namespace {

using Run = fk::test::CliRun;
Run run(const std::string& args) { return fk::test::run_cli(args); }

}  // namespace

TEST_CASE("cli: --help and --version") {
  Run h = run("--help");
  CHECK(h.code == 0);
  CHECK(h.out.find("demo") != std::string::npos);
  Run v = run("--version");
  CHECK(v.code == 0);
  CHECK(v.out.find("facekit 0.1.0") != std::string::npos);
  Run dh = run("demo --help");
  CHECK(dh.code == 0);
  CHECK(dh.out.find("--epochs") != std::string::npos);
}

TEST_CASE("cli: bad usage exits 2 with a message") {
  Run r = run("--no-such-flag");
  CHECK(r.code == 2);
  Run e = run("demo --epochs 0");
  CHECK(e.code == 2);
  CHECK(e.out.find("epochs") != std::string::npos);
  Run u = run("no-such-command");
  CHECK(u.code == 2);
}

TEST_CASE("cli: demo trains (loss falls, accuracy beats chance)") {
  Run r = run("demo --epochs 4 --train 1024 --test 256 --seed 3");
  REQUIRE_MESSAGE(r.code == 0, r.out);
  std::regex line(R"(epoch\s+(\d+)\s+loss ([0-9.]+))");
  std::vector<double> losses;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), line), end; it != end; ++it)
    losses.push_back(std::stod((*it)[2]));
  REQUIRE(losses.size() == 4);
  CHECK(losses.back() < losses.front());
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(final held-out accuracy: ([0-9.]+) %)")));
  CHECK(std::stod(m[1]) > 30.0);  // chance is 16.7 % (six classes)
}

TEST_CASE("cli: no command, a number option that is not finite, an unknown device: usage errors, exit 2") {
  Run none = run("");
  CHECK(none.code == 2);
  CHECK(fk::test::has(none.out, "Subcommands:"));
  CHECK(fk::test::has(none.out, "facekit: a command is required"));
  // NaN passes every range check (comparisons with NaN are false): refused before any work
  for (const std::string args : {"detect --factor nan x.jpg", "detect --thresholds nan,0.7,0.7 x.jpg",
                                 "detect --min-face nan x.jpg", "identify --threshold nan --gallery g.npz x.jpg",
                                 "train --margin-s nan --out o", "train --weight-decay nan --out o",
                                 "train --clip-grad inf --out o", "train --lr -nan --out o"}) {
    Run r = run(args);
    CHECK_MESSAGE(r.code == 2, args << ": " << r.out);
    CHECK_MESSAGE(fk::test::has(r.out, "must be a finite number"), args << ": " << r.out);
  }
  Run inf = run("detect --min-face inf x.jpg");  // out of its range as well: either check may speak
  CHECK(inf.code == 2);
  CHECK(fk::test::has(inf.out, "--min-face"));
  Run d = run("train --device tpu --out o");
  CHECK(d.code == 2);
  CHECK(fk::test::has(d.out, "--device: unknown device 'tpu' (expected cpu, cuda or cuda:N)"));
}

TEST_CASE("cli: output that cannot be written is an error (exit 1, named), not lost silently") {
  const std::filesystem::path d = fk::test::scratch("cli_dev_full");
  const std::string err = (d / "err.txt").string();
  const char* moved = std::getenv("FK_CLI_PATH");
  const std::string exe = moved && *moved ? moved : FK_CLI_PATH;
  for (const std::string args : {"--help", "detect --help", "inspect --help"}) {
    const int status = std::system((exe + " " + args + " > /dev/full 2> " + err).c_str());
    CHECK_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 1), args);
    std::ifstream in(err);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_MESSAGE(fk::test::has(text, "facekit: cannot write to standard output: No space left on device"),
                  args << ": " << text);
  }
  std::filesystem::remove_all(d);
}
