// The body of conv_prelu_maxpool2 (conv_pool.h), included inside an ISA namespace by
// conv_pool_avx512.cpp and conv_pool_generic.cpp (a v16 is one zmm register in the first).
typedef float v16 __attribute__((vector_size(64)));

inline v16 load16(const float* p) {
  v16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

// one conv output (16 channels) at conv row r, column c, PReLU applied
inline v16 conv_at(const fk::cpu::ConvPoolGeometry& g, const float* xn, const float* w, v16 bias, const float* slope,
                   int64_t r, int64_t c) {
  v16 acc = bias;
  const int64_t K = g.K;
  for (int64_t ci = 0; ci < g.C; ++ci)
    for (int64_t kh = 0; kh < K; ++kh) {
      const float* xr = xn + (ci * g.H + r + kh) * g.W + c;
      const float* wr = w + (ci * K + kh) * K * 16;
      for (int64_t kw = 0; kw < K; ++kw) acc += xr[kw] * load16(wr + kw * 16);
    }
  if (slope) acc = acc > 0 ? acc : acc * load16(slope);
  return acc;
}

inline void take_max(v16& m, v16 v) { m = ((v > m) | (v != v)) ? v : m; }

// The pooled rows [begin, end) of (image, pooled row); conv(xn, r, c) gives the activated conv
// output at conv row r, column c of the image at xn. Partial windows at the bottom / right edge
// (ceil mode) take the outputs that exist.
template <class Conv>
inline void pool_rows(const fk::cpu::ConvPoolGeometry& g, const float* x, float* y, int64_t begin, int64_t end,
                      Conv&& conv) {
  const int64_t OHc = g.conv_h(), OWc = g.conv_w(), PH = g.pooled_h(), PW = g.pooled_w();
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / PH, r = 2 * (i % PH);
    const float* xn = x + n * g.C * g.H * g.W;
    float* yr = y + i * PW * 16;
    const bool two_rows = r + 1 < OHc;
    for (int64_t px = 0; px < PW; ++px) {
      const int64_t c = 2 * px;
      const bool two_cols = c + 1 < OWc;
      v16 m = conv(xn, r, c);
      if (two_cols) take_max(m, conv(xn, r, c + 1));
      if (two_rows) {
        take_max(m, conv(xn, r + 1, c));
        if (two_cols) take_max(m, conv(xn, r + 1, c + 1));
      }
      __builtin_memcpy(yr + px * 16, &m, sizeof m);
    }
  }
}

// C and K known at compile time (PNet: 3 and 3): the C*K*K weight vectors are loaded once per call
// and stay in registers, each tap one broadcast multiply-add.
template <int C, int K>
inline v16 conv_fixed(const v16* wv, const float* xn, int64_t H, int64_t W, v16 bias, int64_t r, int64_t c) {
  v16 acc = bias;
#pragma GCC unroll 64
  for (int t = 0; t < C * K * K; ++t) {
    const int ci = t / (K * K), kh = (t / K) % K, kw = t % K;
    acc += xn[(ci * H + r + kh) * W + c + kw] * wv[t];
  }
  return acc;
}

inline void conv_pool_rows(const fk::cpu::ConvPoolGeometry& g, const float* x, const float* w, const float* bias,
                           const float* slope, float* y, int64_t begin, int64_t end) {
  const v16 b = load16(bias);
  if (g.C == 3 && g.K == 3) {
    v16 wv[27];
    for (int t = 0; t < 27; ++t) wv[t] = load16(w + t * 16);
    const v16 a = slope ? load16(slope) : v16{};
    pool_rows(g, x, y, begin, end, [&](const float* xn, int64_t r, int64_t c) {
      const v16 v = conv_fixed<3, 3>(wv, xn, g.H, g.W, b, r, c);
      return slope ? (v > 0 ? v : v * a) : v;
    });
    return;
  }
  pool_rows(g, x, y, begin, end, [&](const float* xn, int64_t r, int64_t c) { return conv_at(g, xn, w, b, slope, r, c); });
}
