% -- kernels/cpu/dot.c.lua: dot product of a float32 row with a weight row
% -- of args.dtype, length args.k; renders one static inline function named
% -- args.fn. With AVX2+FMA(+F16C) it uses 4 x 8-lane accumulators and
% -- converts f16/bf16 in registers; otherwise 16 scalar partial sums that
% -- the compiler vectorizes. Either way the order is fixed for a build.
% local load = ({f32 = "w[k + j]", bf16 = "llm_bf16_to_f32(w[k + j])", f16 = "llm_f16_to_f32(w[k + j])"})[args.dtype]
% local wtype = ({f32 = "float", bf16 = "uint16_t", f16 = "uint16_t"})[args.dtype]
% local vload = ({f32 = "_mm256_loadu_ps(w + (i))",
%                 bf16 = "_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(w + (i)))), 16))",
%                 f16 = "_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(w + (i))))"})[args.dtype]
% local k32 = args.k - args.k % 32
% local k16 = args.k - args.k % 16
static inline float $(args.fn)(const float *restrict x, const $(wtype) *restrict w) {
#if LLM_SIMD_$(string.upper(args.dtype))
#define $(args.fn)_W(i) $(vload)
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int k = 0; k < $(k32); k += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), $(args.fn)_W(k), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), $(args.fn)_W(k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 16), $(args.fn)_W(k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 24), $(args.fn)_W(k + 24), a3);
    }
#undef $(args.fn)_W
    float acc[16] = {0};
    _mm256_storeu_ps(acc, _mm256_add_ps(a0, a2));
    _mm256_storeu_ps(acc + 8, _mm256_add_ps(a1, a3));
% if k32 < args.k then
    for (int k = $(k32), j = 0; k + j < $(args.k); j++) acc[j] += x[k + j] * $(load);
% end
    return llm_sum16(acc);
#else
    float acc[16] = {0};
    for (int k = 0; k < $(k16); k += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[k + j] * $(load);
% if k16 < args.k then
    for (int k = $(k16), j = 0; k + j < $(args.k); j++) acc[j] += x[k + j] * $(load);
% end
    return llm_sum16(acc);
#endif
}
