// fk_cuda_tests: CUDA-vs-CPU tests (label "cuda"). With no usable device it prints why and exits
// with 77, which CTest reports as skipped, not passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "cuda/runtime.h"

int main(int argc, char** argv) {
  if (fk::cuda::device_count() == 0) {
    std::printf("skipped: no CUDA device (%s)\n", fk::cuda::describe());
    return 77;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
