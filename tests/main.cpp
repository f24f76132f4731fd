// doctest's main for fk_tests, with the skipped cases (FK_SKIP, test_util.h) reported: a case selected
// alone by its full name, as ctest runs every case, exits 77 (ctest: skipped); in a run of several
// cases the skipped ones are listed after doctest's summary.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "test_util.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    for (const std::string flag : {"--test-case=", "-tc="})
      if (a.rfind(flag, 0) == 0 && a.find_first_of("*?", flag.size()) == std::string::npos)
        fk::test::single_case_run() = true;
  }
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;
  const auto& skipped = fk::test::skipped_cases();
  if (!skipped.empty()) {
    std::printf("[facekit] %zu test case(s) skipped, not run:\n", skipped.size());
    for (const auto& s : skipped) std::printf("  %s\n", s.c_str());
  }
  return rc;
}
