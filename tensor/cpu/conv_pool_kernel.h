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

// The same with C and K known at compile time (PNet: 3 and 3): the C*K*K weight vectors are loaded
// once per call and stay in registers, each tap one broadcast multiply-add.
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

inline void take_max(v16& m, v16 v) { m = ((v > m) | (v != v)) ? v : m; }

template <int C, int K>
inline void conv_pool_rows_fixed(const fk::cpu::ConvPoolGeometry& g, const float* x, const float* w,
                                 const float* bias, const float* slope, float* y, int64_t begin, int64_t end) {
  const int64_t OHc = g.conv_h(), OWc = g.conv_w(), PH = g.pooled_h(), PW = g.pooled_w();
  v16 wv[C * K * K];
  for (int t = 0; t < C * K * K; ++t) wv[t] = load16(w + t * 16);
  const v16 b = load16(bias);
  const v16 a = slope ? load16(slope) : v16{};
  auto act = [&](v16 v) { return slope ? (v > 0 ? v : v * a) : v; };
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / PH, py = i % PH, r = 2 * py;
    const float* xn = x + n * C * g.H * g.W;
    float* yr = y + i * PW * 16;
    const bool two_rows = r + 1 < OHc;
    for (int64_t px = 0; px < PW; ++px) {
      const int64_t c = 2 * px;
      const bool two_cols = c + 1 < OWc;
      v16 m = act(conv_fixed<C, K>(wv, xn, g.H, g.W, b, r, c));
      if (two_cols) take_max(m, act(conv_fixed<C, K>(wv, xn, g.H, g.W, b, r, c + 1)));
      if (two_rows) {
        take_max(m, act(conv_fixed<C, K>(wv, xn, g.H, g.W, b, r + 1, c)));
        if (two_cols) take_max(m, act(conv_fixed<C, K>(wv, xn, g.H, g.W, b, r + 1, c + 1)));
      }
      __builtin_memcpy(yr + px * 16, &m, sizeof m);
    }
  }
}

inline void conv_pool_rows(const fk::cpu::ConvPoolGeometry& g, const float* x, const float* w, const float* bias,
                           const float* slope, float* y, int64_t begin, int64_t end) {
  if (g.C == 3 && g.K == 3) return conv_pool_rows_fixed<3, 3>(g, x, w, bias, slope, y, begin, end);
  const int64_t OHc = g.conv_h(), OWc = g.conv_w(), PH = g.pooled_h(), PW = g.pooled_w();
  const v16 b = load16(bias);
  for (int64_t i = begin; i < end; ++i) {
    const int64_t n = i / PH, py = i % PH, r = 2 * py;
    const float* xn = x + n * g.C * g.H * g.W;
    float* yr = y + i * PW * 16;
    const bool two_rows = r + 1 < OHc;
    for (int64_t px = 0; px < PW; ++px) {
      const int64_t c = 2 * px;
      const bool two_cols = c + 1 < OWc;
      v16 m = conv_at(g, xn, w, b, slope, r, c);
      if (two_cols) take_max(m, conv_at(g, xn, w, b, slope, r, c + 1));
      if (two_rows) {
        take_max(m, conv_at(g, xn, w, b, slope, r + 1, c));
        if (two_cols) take_max(m, conv_at(g, xn, w, b, slope, r + 1, c + 1));
      }
      __builtin_memcpy(yr + px * 16, &m, sizeof m);
    }
  }
}
