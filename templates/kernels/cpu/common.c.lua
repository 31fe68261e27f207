% -- kernels/cpu/common.c.lua: helpers every cpu kernel may use.
/* ---- helpers (templates/kernels/cpu/common.c.lua) ---------------------- */

/* Explicit SIMD for the dot products where the build targets it
 * (--cpu-arch x86-64-v3 or better); the portable loops otherwise. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LLM_SIMD_F32 1
#define LLM_SIMD_BF16 1
#if defined(__F16C__)
#define LLM_SIMD_F16 1
#else
#define LLM_SIMD_F16 0
#endif
#else
#define LLM_SIMD_F32 0
#define LLM_SIMD_BF16 0
#define LLM_SIMD_F16 0
#endif

/* bf16 -> f32 is exact: the top 16 bits of the float32 pattern. */
static inline float llm_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* f32 -> bf16, round to nearest even (NaN stays a quiet NaN); the KV cache
 * in bf16 (--kv-dtype bf16) is stored this way by every target. */
static inline uint16_t llm_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* IEEE half -> f32, exact (normals, subnormals, inf, nan). */
#if defined(__F16C__)
static inline float llm_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
#else
static inline float llm_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0x1fu) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp != 0) {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    } else if (man == 0) {
        u = sign;
    } else { /* subnormal: value = man * 2^-24 */
        float f = (float)man * 5.9604644775390625e-08f;
        memcpy(&u, &f, sizeof u);
        u |= sign;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
#endif

static inline float llm_silu(float x) { return x / (1.0f + expf(-x)); }

/* Sum of 16 partial sums in a fixed pairwise order. */
static inline float llm_sum16(const float *a) {
    float s8[8];
    for (int i = 0; i < 8; i++) s8[i] = a[i] + a[i + 8];
    for (int i = 0; i < 4; i++) s8[i] += s8[i + 4];
    return (s8[0] + s8[2]) + (s8[1] + s8[3]);
}
