// The CUDA runtime of cuda/runtime.h: the caching allocator (a warm loop of the same sizes makes no
// new cudaMalloc, `allocated` returns to its level, empty_cache gives the cached blocks back), an
// out-of-memory request (an fk::Error naming the size, and the process keeps working), streams
// (work under a StreamGuard on a created stream gives the same result) and pinned host memory.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/runtime.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/random.h"

using namespace fk;

namespace {

// A few elementwise ops and a matmul: the work whose blocks the allocator recycles.
Tensor some_work(const Tensor& a, const Tensor& b) {
  Tensor c = ops::add(ops::mul(a, b), 1.0);
  return ops::matmul(c, ops::transpose(b, 0, 1));
}

}  // namespace

TEST_CASE("caching allocator: a warm loop of the same sizes makes no new driver mallocs") {
  const Device gpu = Device::cuda();
  Tensor a = randn({64, 96}).to(gpu), b = randn({64, 96}).to(gpu);
  cuda::synchronize();
  // warm-up: the loop's block sizes are taken from the driver once
  for (int i = 0; i < 2; ++i) some_work(a, b);
  cuda::synchronize();
  const cuda::MemoryStats before = cuda::memory_stats(0);
  for (int i = 0; i < 20; ++i) {
    Tensor y = some_work(a, b);
    CHECK(y.device() == gpu);
  }
  cuda::synchronize();
  const cuda::MemoryStats after = cuda::memory_stats(0);
  CHECK_MESSAGE(after.driver_mallocs == before.driver_mallocs,
                "driver mallocs went from " << before.driver_mallocs << " to " << after.driver_mallocs);
  CHECK(after.allocated == before.allocated);  // every temporary went back to the cache
  CHECK(after.reserved == before.reserved);
  CHECK(after.peak_allocated >= after.allocated);
  CHECK(after.reserved >= after.allocated);
}

TEST_CASE("caching allocator: allocated counts live tensors, empty_cache returns the cached blocks") {
  cuda::empty_cache();
  const cuda::MemoryStats base = cuda::memory_stats(0);
  const size_t bytes = size_t(8) << 20;  // 8 MiB: a multiple of the 2 MiB rounding step
  {
    Tensor t = empty({int64_t(bytes / 4)}, DType::Float32, Device::cuda());
    const cuda::MemoryStats live = cuda::memory_stats(0);
    CHECK(live.allocated == base.allocated + bytes);
    CHECK(live.reserved >= base.reserved + bytes);
    CHECK(live.peak_allocated >= live.allocated);
  }
  const cuda::MemoryStats freed = cuda::memory_stats(0);
  CHECK(freed.allocated == base.allocated);
  CHECK(freed.reserved >= base.reserved + bytes);  // kept in the cache
  {
    // the same size again comes from the cache
    Tensor t = empty({int64_t(bytes / 4)}, DType::Float32, Device::cuda());
    CHECK(cuda::memory_stats(0).driver_mallocs == freed.driver_mallocs);
  }
  cuda::empty_cache();
  const cuda::MemoryStats emptied = cuda::memory_stats(0);
  CHECK(emptied.reserved == emptied.allocated);  // nothing cached any more
  CHECK(emptied.reserved + bytes <= freed.reserved);
}

TEST_CASE("caching allocator: out of memory throws a one-line error with the size, and the device still works") {
  const int64_t n = int64_t(1) << 38;  // 2^38 float32 = 1 TiB, more than any GPU holds
  std::string message;
  try {
    Tensor t = empty({n}, DType::Float32, Device::cuda());
    FAIL("allocating 1 TiB on the GPU did not throw");
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK_MESSAGE(message.find("out of memory") != std::string::npos, message);
  CHECK_MESSAGE(message.find("1048576.0 MiB") != std::string::npos, message);  // 2^40 bytes
  CHECK_MESSAGE(message.find('\n') == std::string::npos, message);
  // the failure left no sticky error behind: ordinary work goes on
  Tensor x = arange(0, 100, 1, DType::Float32);
  Tensor y = ops::mul(x.to(Device::cuda()), 2.0).to(Device::cpu());
  std::vector<double> got = y.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i] == 2.0 * double(i));
}

TEST_CASE("streams: work under a StreamGuard on a created stream gives the same result") {
  manual_seed(3);
  Tensor a = randn({48, 80}), b = randn({48, 80});
  Tensor on_default = some_work(a.to(Device::cuda()), b.to(Device::cuda())).to(Device::cpu());
  const cuda::StreamHandle before = cuda::current_stream(0);
  cuda::StreamHandle side = cuda::create_stream(0);
  CHECK(side != before);
  Tensor on_side;
  {
    cuda::StreamGuard guard(side);
    CHECK(cuda::current_stream(0) == side);
    on_side = some_work(a.to(Device::cuda()), b.to(Device::cuda())).to(Device::cpu());
    cuda::synchronize(0);
  }
  CHECK(cuda::current_stream(0) == before);  // the guard restored the previous stream
  CHECK(on_side.to_vector<double>() == on_default.to_vector<double>());  // same kernels, same order
}

TEST_CASE("pinned memory: pin_memory then to(cuda) round trip is exact") {
  manual_seed(4);
  Tensor x = randn({3, 5, 7});
  Tensor pinned = x.pin_memory();
  CHECK(pinned.is_pinned());
  CHECK_FALSE(x.is_pinned());
  CHECK(pinned.pin_memory().impl() == pinned.impl());  // already pinned: itself
  CHECK(pinned.to_vector<double>() == x.to_vector<double>());
  Tensor back = pinned.to(Device::cuda()).to(Device::cpu());
  CHECK(back.to_vector<double>() == x.to_vector<double>());
  // a non-contiguous view is pinned as a contiguous copy
  Tensor t = ops::transpose(x, 0, 2);
  Tensor tp = t.pin_memory();
  CHECK(tp.is_pinned());
  CHECK(tp.is_contiguous());
  CHECK(tp.to(Device::cuda()).to(Device::cpu()).to_vector<double>() == t.to_vector<double>());
}
