// data/formats/verification_bin.h: insightface's verification sets read by facekit's pickle VM, from the
// fixtures of tests/fixtures/make_verification_bin.py: the same content written as Python 2 wrote it
// (BINSTRING / SHORT_BINSTRING, APPENDS in batches of 1000) and by Python 3's pickle in protocols 2
// (bytes as _codecs.encode), 3, 4 and 5; files that are not such a set refused in one line naming the
// file and the problem. `facekit verify --bin` on real crops: tests/apps/test_verify.cpp.
#include <string>
#include <vector>

#include "data/formats/files.h"
#include "data/formats/verification_bin.h"
#include "test_util.h"

using namespace fk;

namespace {

std::string bin_fixture(const std::string& name) { return test::fixture_path("verification_bin/" + name); }

// The content every parser fixture holds (make_verification_bin.py's parser_fixtures).
std::vector<std::string> expected_images() {
  std::string long_one;
  for (int r = 0; r < 2; ++r)
    for (int b = 0; b < 256; ++b) long_one.push_back(char(b));
  return {std::string("\xff\xd8\xff\xe0 crop 0"), long_one, std::string(1, '\0'), std::string("crop 3 \x80\x81")};
}

}  // namespace

TEST_CASE("verification_bin: Python 2's layout and Python 3's protocols 2 to 5 give the same set") {
  for (const char* name : {"python2.bin", "python3_protocol2.bin", "python3_protocol3.bin", "python3_protocol4.bin",
                           "python3_protocol5.bin"}) {
    INFO(name);
    data::VerificationBin b = data::read_verification_bin(bin_fixture(name));
    CHECK(b.images == expected_images());
    CHECK(b.same == std::vector<bool>{true, false});
    CHECK(b.pairs() == 2);
  }
}

TEST_CASE("verification_bin: 2100 images appended in batches of 1000") {
  data::VerificationBin b = data::read_verification_bin(bin_fixture("python2_2100_images.bin"));
  REQUIRE(b.images.size() == 2100);
  REQUIRE(b.pairs() == 1050);
  for (size_t i : {size_t(0), size_t(999), size_t(1000), size_t(2099)}) CHECK(b.images[i] == "img " + std::to_string(i));
  for (size_t k = 0; k < b.same.size(); ++k) CHECK_MESSAGE(b.same[k] == (k % 3 == 0), "pair ", k);
}

TEST_CASE("verification_bin: what is not a verification set is refused naming the file and the problem") {
  auto refused = [](const std::string& name, const std::string& message) {
    const std::string path = bin_fixture(name);
    CHECK_THROWS_WITH_AS(data::read_verification_bin(path), doctest::Contains((path + ": " + message).c_str()), Error);
  };
  refused("odd_count.bin", "3 images for 2 pairs");
  refused("bad_flag.bin", "is-same flag 1 is a str, not a boolean");
  refused("dict.bin", "expected insightface's (list of image byte strings, list of is-same booleans), got a dict");
  refused("os_system.bin", "global os.system is not allowed");
  // not a pickle at all, empty, truncated
  const auto dir = test::scratch("verification_bin");
  data::write_file_atomic((dir / "zip.bin").string(), std::string("PK\x03\x04", 4) + std::string(40, '\0'));
  CHECK_THROWS_WITH_AS(data::read_verification_bin((dir / "zip.bin").string()),
                       doctest::Contains("not an insightface verification .bin (a pickle)"), Error);
  data::write_file_atomic((dir / "empty.bin").string(), "");
  CHECK_THROWS_WITH_AS(data::read_verification_bin((dir / "empty.bin").string()), doctest::Contains("empty file"),
                       Error);
  const std::string whole = data::read_file(bin_fixture("python2.bin"));
  for (size_t cut : {size_t(3), size_t(40), whole.size() / 2, whole.size() - 1}) {
    INFO("cut at ", cut);
    CHECK_THROWS_AS(data::parse_verification_bin(whole.substr(0, cut), "cut.bin"), Error);
  }
  CHECK_THROWS_WITH_AS(data::read_verification_bin((dir / "absent.bin").string()), doctest::Contains("absent.bin: cannot open"),
                       Error);
}
