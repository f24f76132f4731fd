// The per-ISA halves of conv2d_blocked (conv_blocked.h): conv_blocked_avx512.cpp and
// conv_blocked_generic.cpp each compile conv_blocked_kernel.h and export one function that runs the
// work items [begin, end) of one convolution on an already padded input. conv_blocked.cpp owns the
// padding, the OpenMP region and the choice between them.
#pragma once

#include <cstdint>

#include "tensor/cpu/conv_blocked.h"

namespace fk::cpu {

// The padded input: (N, Cb, Hp, Wp, 16).
struct PaddedInput {
  const float* data;
  int64_t Hp, Wp;
};

// Work items: dense convs (n, output-block pair, oh), depthwise convs (n, channel block, oh); oh fastest.
int64_t conv_blocked_items(const BlockedConvGeometry& g);

void conv_blocked_run_avx512(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                             float* y, int64_t begin, int64_t end);
void conv_blocked_run_generic(const BlockedConvGeometry& g, PaddedInput x, const float* w, const BlockedEpilogue& e,
                              float* y, int64_t begin, int64_t end);

}  // namespace fk::cpu
