// Winograd F(2x2, 3x3)'s input transform V = B^T d B of a 4x4 tile d, shared by the forward
// (conv_blocked_kernel.h) and the weight gradient (conv_weight_grad_winograd_kernel.h). Included by
// those per-ISA headers after v16_helpers.h, inside their namespace (no translation unit includes
// both), hence no include guard.
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]

// Row r of B^T d times B: tile positions (r, 0..3), stored pos_stride floats apart from `out`.
static FK_ALWAYS_INLINE void winograd_input_transform_row(const v16 (&d)[4][4], int r, float* out,
                                                          int64_t pos_stride) {
  v16 s[4];  // row r of B^T d
  for (int c = 0; c < 4; ++c)
    s[c] = r == 0 ? d[0][c] - d[2][c] : r == 1 ? d[1][c] + d[2][c] : r == 2 ? d[2][c] - d[1][c] : d[1][c] - d[3][c];
  store16(out, s[0] - s[2]);
  store16(out + pos_stride, s[1] + s[2]);
  store16(out + 2 * pos_stride, s[2] - s[1]);
  store16(out + 3 * pos_stride, s[1] - s[3]);
}
