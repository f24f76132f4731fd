// Element types. Float32 and Float64 are computed with; Float16 and BFloat16 are storage types that
// published checkpoints contain and that convert to Float32 (`t.to(DType::Float32)`); Int64, UInt8 and
// Bool hold indices, images and masks. Matches torch.float32, torch.float64, torch.half, ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fk {

enum class DType : uint8_t { Float32, Float64, Float16, BFloat16, Int64, UInt8, Bool };

inline constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Float16: return 2;
    case DType::BFloat16: return 2;
    case DType::Int64: return 8;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
  }
  return 0;
}

inline constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  return "?";
}

// Float32/Float64: the types ops compute in.
inline constexpr bool is_compute_float(DType t) { return t == DType::Float32 || t == DType::Float64; }

// C++ type -> DType, for templated kernels and data_ptr<T>() checks.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };

// IEEE half and bfloat16 <-> float, bit-exact round-to-nearest-even (as torch's .float()/.half()).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
inline float bfloat16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bfloat16(float f);

}  // namespace fk
