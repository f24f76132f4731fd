// The stem's micro-kernel: a dense conv on an image's 3 colour channels (conv_blocked.h's
// conv_blocked_stem). Included after conv_blocked_kernel.h inside each per-ISA namespace.
//
// In the blocked layout 3 channels fill 3 of a pixel's 16 lanes, and the dense tile spends a loop
// over kernel taps, with its pointer work, on 3 FMAs a pixel (IR-50's 3 -> 64 conv ran at ~55 % of
// the FMA peak while the other 3x3 convs ran above 80 %). Here the input is packed (N, Hp, Wp, C):
// the KW taps x C channels an output pixel reads from one input row are J = KW*C consecutive floats,
// so a tile runs KH loops of J fully unrolled steps, each OB weight loads, T broadcasts and OB*T FMAs
// (oneDNN packs its first convolution the same way). Weights: (OCb, KH, J, 16).
//   acc[ob][t] += w[ob][kh][j] * x[row oh*SH + kh][(ow0 + t)*SW*C + j]

// (GCC's predictive commoning would keep the inputs a step shares with the next, (t+1)*XS + j - XS, in
// scalar registers and spill them: 2x slower than broadcasting each from L1. Clang has neither the pass
// nor the attribute.)
#if defined(__clang__)
#define FK_NO_PREDICTIVE_COMMONING
#else
#define FK_NO_PREDICTIVE_COMMONING __attribute__((optimize("no-predictive-commoning")))
#endif
template <int OB, int T, int XS, int J>
FK_NO_PREDICTIVE_COMMONING static void stem_tile(const TileArgs& a) {
  v16 acc[OB][T];
#pragma GCC unroll 4
  for (int ob = 0; ob < OB; ++ob)
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) acc[ob][t] = v16{};
  for (int64_t kh = 0; kh < a.KH; ++kh) {
    const float* xp = a.x + kh * a.x_row;
    const float* wp = a.w + kh * J * 16;
#pragma GCC unroll 3
    for (int j = 0; j < J; ++j) {
      v16 wv[OB];
#pragma GCC unroll 4
      for (int ob = 0; ob < OB; ++ob) wv[ob] = load16(wp + ob * a.w_ob + j * 16);
#pragma GCC unroll 16
      for (int t = 0; t < T; ++t) {
        const v16 xv = splat16(xp[t * XS + j]);
#pragma GCC unroll 4
        for (int ob = 0; ob < OB; ++ob) acc[ob][t] += wv[ob] * xv;
      }
    }
  }
  store_tile<OB, T>(acc, a);
}

// XS: input floats from one output pixel to the next (SW*C); J: KW*C
template <int XS, int J>
struct StemTile {
  template <int OB, int T>
  static void run(const TileArgs& a) { stem_tile<OB, T, XS, J>(a); }
};

// One output row of a stem conv (conv_blocked_stem_kind in conv_blocked_isa.h says which are taken):
// a.x at the packed input row oh*SH of image n.
// Tiles of kStemTile pixels for 4 output blocks, wider for fewer (as many accumulators).
static void stem_row(int ob, int64_t OW, fk::cpu::StemKind kind, const TileArgs& a) {
  const int64_t max_tile = ob >= 4 ? fk::cpu::kStemTile : ob == 3 ? 9 : 14;
  switch (kind) {
    case fk::cpu::StemKind::C3K3S1: return tile_row<StemTile<3, 9>>(ob, OW, 3, max_tile, a);
    case fk::cpu::StemKind::C3K3S2: return tile_row<StemTile<6, 9>>(ob, OW, 6, max_tile, a);
    case fk::cpu::StemKind::C3K7S2: return tile_row<StemTile<6, 21>>(ob, OW, 6, max_tile, a);
    case fk::cpu::StemKind::None: break;
  }
}
