// Cases for the matrix products: torch.matmul's 1-d/2-d/batched forms with broadcast batch dims, bmm,
// and F.linear over any number of leading dims. Read by the PyTorch fixture test
// (tests/tensor/test_linalg.cpp, fixtures made by tests/fixtures/make_linalg.py from the same names and
// shapes) and the float64 gradchecks (tests/autograd/test_linalg_grad.cpp).
#pragma once

#include <vector>

#include "tensor/shape.h"

namespace fk::test {

// Fixture tolerance in float32 (inner dims <= 7, values ~N(0, 1)).
inline constexpr double kLinalgAtol = 1e-5, kLinalgRtol = 1e-5;

struct MatmulCase {
  const char* name;  // also the fixture file stem: linalg/matmul_<name>_{a,b,out}.npy
  Shape a, b;
};

inline const std::vector<MatmulCase> kMatmulCases = {
    {"dot", {5}, {5}},                             // 1-d x 1-d -> 0-d
    {"mv", {3, 5}, {5}},                           // (M,K) x (K) -> (M)
    {"vm", {5}, {5, 4}},                           // (K) x (K,N) -> (N)
    {"mm", {3, 5}, {5, 4}},                        // plain matrix product
    {"outer", {4, 1}, {1, 3}},                     // K = 1
    {"batched_mv", {2, 3, 5}, {5}},                // (B,M,K) x (K) -> (B,M)
    {"vec_batched", {5}, {2, 5, 4}},               // (K) x (B,K,N) -> (B,N)
    {"batched_shared", {2, 3, 5}, {5, 4}},         // one right matrix for every batch: one folded gemm
    {"shared_batched", {3, 5}, {2, 5, 4}},         // one left matrix for every batch
    {"batched", {2, 3, 5}, {2, 5, 4}},             // same batch dims
    {"broadcast", {2, 1, 3, 5}, {4, 5, 2}},        // batch [2,1] x [4] -> [2,4]
    {"broadcast_ones", {1, 3, 5}, {3, 5, 2}},      // batch [1] x [3] -> [3]
    {"broadcast_4d", {2, 1, 2, 3}, {1, 3, 3, 7}},  // batch [2,1] x [1,3] -> [2,3]
};

struct BmmCase {
  const char* name;  // linalg/bmm_<name>_{a,b,out}.npy
  Shape a, b;
};

inline const std::vector<BmmCase> kBmmCases = {
    {"basic", {2, 3, 5}, {2, 5, 4}},
    {"ones", {1, 1, 1}, {1, 1, 1}},
    {"column", {3, 4, 2}, {3, 2, 1}},
};

struct LinearCase {
  const char* name;  // linalg/linear_<name>_{x,w,b,out}.npy (no _b without bias)
  Shape x;
  int64_t out_features;
  bool bias;
};

inline const std::vector<LinearCase> kLinearCases = {
    {"vector", {5}, 3, true},              // x (in) -> (out)
    {"rows", {4, 5}, 3, true},             // x (N, in)
    {"no_bias", {4, 5}, 2, false},         //
    {"3d", {2, 3, 5}, 4, true},            // leading dims folded into rows
    {"4d_no_bias", {2, 1, 3, 4}, 6, false},
    {"one_feature", {3, 1}, 1, true},      // in = out = 1
};

}  // namespace fk::test
