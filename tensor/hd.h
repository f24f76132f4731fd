// FK_HD marks a function that compiles for both the CPU and the GPU (__host__ __device__ under
// nvcc, nothing under a plain C++ compiler). The per-element math that a CPU kernel and its CUDA
// twin share lives in such functions, so the CPU tests exercise the GPU's arithmetic too.
#pragma once

#if defined(__CUDACC__)
#define FK_HD __host__ __device__
#define FK_HD_INLINE __host__ __device__ __forceinline__
#else
#define FK_HD
#define FK_HD_INLINE inline
#endif
