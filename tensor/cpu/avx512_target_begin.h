// Compiles what follows, up to tensor/cpu/avx512_target_end.h, for AVX-512 whatever the build's
// baseline ISA. Include it after the standard headers, so that only the file's own functions use
// AVX-512, and call them only on a CPU that has it (cpu_has_avx512(), conv_blocked.h). Used by the
// per-ISA kernel files (conv_blocked_avx512.cpp, conv_pool_avx512.cpp, conv_weight_grad.cpp); once
// per translation unit, so no include guard.
#if defined(__x86_64__) || defined(__i386__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")
#define FK_AVX512_TARGET_PUSHED 1
#endif
