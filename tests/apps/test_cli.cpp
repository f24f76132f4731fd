// The `facekit` command: --help/--version, exit codes (2 for bad usage), and a short demo run whose
// loss must fall and whose accuracy must beat chance.
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
