// Ends the AVX-512 region that tensor/cpu/avx512_target_begin.h opened.
#ifdef FK_AVX512_TARGET_PUSHED
#pragma GCC pop_options
#undef FK_AVX512_TARGET_PUSHED
#endif
