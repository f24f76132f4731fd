// The margin transform of the margin heads (layers/heads.h), one logit at a time, shared by the CPU
// loops (tensor/cpu/margin.cpp) and the CUDA kernels (cuda/heads_kernels.h). Given the cosine c of logit
// (n, j) and whether j is row n's label:
//   logit = s * phi(c)  for the target,   s * c  otherwise
//   dlogit/dc = s * phi'(c)  for the target,   s  otherwise
// phi per head (reference: docs/reference/losses.md):
//   ArcFace insightface:  sin = sqrt(clamp(1 - c^2, 1e-12, 1)); phi = c cos(m) - sin sin(m)
//                         = cos(theta + m), kept where c > cos(pi - m) (else c - sin(pi - m) m),
//                         or, with easy_margin, where c > 0 (else c)
//   ArcFace egcode:       phi = cos(acos(clamp(c, -1 + 1e-4, 1 - 1e-4)) + m)
//   CosFace:              phi = c - m
//   SphereFace:           phi = (lambda c + psi) / (1 + lambda), psi = (-1)^k T_m(c) - 2k,
//                         k = floor(m acos(c) / pi), T_m the Chebyshev polynomial (c already in [-1, 1])
// The derivatives follow the composed-op graph the heads used before (clamp passes the gradient on
// its closed interval, as PyTorch). Tests: tests/layers/test_heads.cpp (PyTorch fixtures),
// tests/layers/test_cuda_kernels_optim_heads.cpp (functors emulated), tests/cuda/test_heads.cpp.
#pragma once

#include <cmath>
#include <cstdint>

#include "tensor/hd.h"

namespace fk {

enum class MarginKind : int { ArcFace = 0, ArcFaceEgcode = 1, CosFace = 2, SphereFace = 3 };

// Everything the transform needs, plain values so a kernel can take it by value.
struct MarginParams {
  MarginKind kind = MarginKind::CosFace;
  double s = 1;  // scale of every logit
  double m = 0;  // margin (SphereFace: the integer m, as a double)
  bool easy_margin = false;             // ArcFace insightface
  double cos_m = 1, sin_m = 0;          // ArcFace insightface: cos(m), sin(m)
  double th = -1, mm = 0;               // ArcFace insightface: cos(pi - m), sin(pi - m) * m
  double lambda = 0;                    // SphereFace: the blending weight
};

// ArcFace (insightface): phi(c) and dphi/dc.
template <class T>
FK_HD_INLINE void arcface_phi(T c, const MarginParams& p, T* phi, T* dphi) {
  const T u = T(1) - c * c;
  const bool inside = u >= T(1e-12) && u <= T(1);  // clamp's gradient mask
  const T sin_t = std::sqrt(u < T(1e-12) ? T(1e-12) : (u > T(1) ? T(1) : u));
  T f = c * T(p.cos_m) - sin_t * T(p.sin_m);
  // d sin/dc = -c / sin inside the clamp, 0 outside
  T df = T(p.cos_m) + (inside ? T(p.sin_m) * c / sin_t : T(0));
  const bool keep = p.easy_margin ? c > T(0) : c > T(p.th);
  if (!keep) {  // easy_margin: phi = c; else past theta = pi - m: the linear c - sin(pi - m) m
    f = p.easy_margin ? c : c - T(p.mm);
    df = T(1);
  }
  *phi = f;
  *dphi = df;
}

// ArcFace (egcode): phi = cos(std::acos(cc) + m), cc = clamp(c, -1 + 1e-4, 1 - 1e-4); dphi = sin(acos(cc) + m) / sqrt(1 - cc^2)
template <class T>
FK_HD_INLINE void arcface_egcode_phi(T c, const MarginParams& p, T* phi, T* dphi) {
  const T lo = T(-1.0 + 1e-4), hi = T(1.0 - 1e-4);
  const bool inside = c >= lo && c <= hi;
  const T cc = c < lo ? lo : (c > hi ? hi : c);
  const T a = std::acos(cc) + T(p.m);
  *phi = std::cos(a);
  *dphi = inside ? std::sin(a) / std::sqrt(T(1) - cc * cc) : T(0);
}

// SphereFace: phi = (lambda c + psi) / (1 + lambda), dphi = (lambda + (-1)^k T_m'(c)) / (1 + lambda)
template <class T>
FK_HD_INLINE void sphereface_phi(T c, const MarginParams& p, T* phi, T* dphi) {
  const int m = int(p.m);
  // T_m(c) and T_m'(c): T_{n+1} = 2c T_n - T_{n-1},  T'_{n+1} = 2 T_n + 2c T'_n - T'_{n-1}
  T t_prev = T(1), t_cur = c, d_prev = T(0), d_cur = T(1);
  for (int n = 1; n < m; ++n) {
    T t_next = c * t_cur * T(2) - t_prev;
    T d_next = T(2) * t_cur + T(2) * c * d_cur - d_prev;
    t_prev = t_cur;
    t_cur = t_next;
    d_prev = d_cur;
    d_cur = d_next;
  }
  // k = #{j in 1..m : m theta / pi >= j} (a constant: no gradient), sign = (-1)^k
  const T mt = std::acos(c) * T(double(m) / 3.14159265358979323846);
  T k = T(0), sign = T(1);
  for (int j = 1; j <= m; ++j)
    if (mt >= T(j)) {
      k = k + T(1);
      sign = -sign;
    }
  const T psi = t_cur * sign - k * T(2);
  const T lam = T(p.lambda);
  *phi = (c * lam + psi) / T(1.0 + p.lambda);
  *dphi = (lam + sign * d_cur) / T(1.0 + p.lambda);
}

// phi(c) and dphi/dc of the target logit, before scaling.
template <class T>
FK_HD_INLINE void margin_phi(T c, const MarginParams& p, T* phi, T* dphi) {
  switch (p.kind) {
    case MarginKind::ArcFace: arcface_phi(c, p, phi, dphi); return;
    case MarginKind::ArcFaceEgcode: arcface_egcode_phi(c, p, phi, dphi); return;
    case MarginKind::SphereFace: sphereface_phi(c, p, phi, dphi); return;
    case MarginKind::CosFace: break;
  }
  *phi = c - T(p.m);
  *dphi = T(1);
}

// The logit of cosine c: s * phi(c) for the target, s * c otherwise.
template <class T>
FK_HD_INLINE T margin_logit(T c, bool is_target, const MarginParams& p) {
  if (!is_target) return c * T(p.s);
  T phi, dphi;
  margin_phi(c, p, &phi, &dphi);
  return phi * T(p.s);
}

// The gradient reaching cosine c from dlogit: dlogit * s * (target ? phi'(c) : 1).
template <class T>
FK_HD_INLINE T margin_logit_grad(T dlogit, T c, bool is_target, const MarginParams& p) {
  T ds = dlogit * T(p.s);
  if (!is_target) return ds;
  T phi, dphi;
  margin_phi(c, p, &phi, &dphi);
  return ds * dphi;
}

}  // namespace fk

namespace fk::cpu {

// The CPU loops of ops::margin_logits (tensor/margin.h) over contiguous (N, C) arrays, labels (N) each
// in [-1, C) (checked by the op): out = the logits; dcos = the gradient reaching the cosines.
template <class T>
void margin_logits_forward(const T* cos, const int64_t* labels, int64_t N, int64_t C, const MarginParams& p, T* out);
template <class T>
void margin_logits_backward(const T* dlogits, const T* cos, const int64_t* labels, int64_t N, int64_t C,
                            const MarginParams& p, T* dcos);

}  // namespace fk::cpu
