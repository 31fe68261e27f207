% -- kernels/cuda/gemv.cu.lua: the memory-bound GEMV core shared by every
% -- projection kernel (kernels/cuda/proj.cu.lua; one copy per program).
$(include("kernels/cuda/common.cu.lua"))
#ifndef LLMCC_CUDA_GEMV
#define LLMCC_CUDA_GEMV
/* ---- GEMV core (templates/kernels/cuda/gemv.cu.lua) ----------------------
 * One warp computes R weight rows (w[r], each K elements of kind WK) dotted
 * with up to TT input rows x[t] (float32, row stride XS), accumulating into
 * acc[r][t] (per-lane partial sums; the caller reduces across the warp).
 * NORM: x is multiplied elementwise by the gain g (float32 [K]) on the way
 * in and ss[t] accumulates the sum of squares of x[t] in double (each lane
 * sees each of its elements once), so the caller can apply RMSNorm's
 * 1/rms after the dot product.
 *
 * Vector path: lane l reads 16-byte vectors v = l, l + 32, ... of each row
 * (8 bf16/f16 or 4 f32 weights per vector), U vectors per row issued before
 * the first use (R * U loads in flight per lane), weights through the
 * non-coherent path with no L1 allocation; x (small, shared by every warp of
 * the SM) through L1. Preconditions: K % EPV == 0, XS % 4 == 0, w and x
 * 16-byte aligned (checked by the launcher, which uses the scalar path
 * otherwise). Scalar path: element k = l, l + 32, ...; any K and alignment.
 *
 * pre: this call is the kernel's first and the kernel has not yet waited
 * for its predecessor (programmatic dependent launch): the first step's
 * weight loads (which depend on nothing the predecessor writes) are issued,
 * then LLM_PDL_ENTER() waits, then x is read. So the weight stream of this
 * kernel starts while the previous kernel drains.
 * Summation order is fixed for a given (K, WK) but differs from the cpu
 * template's order (float32 rounding only). */
template <int WK, int K, int XS, int R, int TT, int U, bool NORM>
__device__ __forceinline__ void llm_gemv_vec(const void *const (&w)[R], const float *x,
                                             const float *__restrict__ g, int tn, float (&acc)[R][TT],
                                             double (&ss)[TT], int lane, bool pre) {
    constexpr int EPV = WK == LLM_W_F32 ? 4 : 8;
    constexpr int NV = K / EPV;
    int v = lane;
    uint4 wv[R][U];
    bool have = false;
    if (pre) {
        if (v + 32 * (U - 1) < NV) {
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int r = 0; r < R; r++) wv[r][u] = llm_ld_stream((const uint4 *)w[r] + v + 32 * u);
            have = true;
        }
        LLM_PDL_ENTER();
    }
    for (; v + 32 * (U - 1) < NV; v += 32 * U) {
        if (!have) {
#pragma unroll
            for (int u = 0; u < U; u++)
#pragma unroll
                for (int r = 0; r < R; r++) wv[r][u] = llm_ld_stream((const uint4 *)w[r] + v + 32 * u);
        }
        have = false;
#pragma unroll
        for (int u = 0; u < U; u++) {
#pragma unroll
            for (int t = 0; t < TT; t++) {
                if (TT > 1 && t >= tn) break;
                const float *xp = x + (size_t)t * XS + (size_t)(v + 32 * u) * EPV;
                if (WK == LLM_W_F32) {
                    float4 a = __ldca((const float4 *)xp);
                    if (NORM) {
                        ss[t] += (double)a.x * a.x + (double)a.y * a.y + (double)a.z * a.z + (double)a.w * a.w;
                        const float4 gg = __ldg((const float4 *)(g + (size_t)(v + 32 * u) * EPV));
                        a.x *= gg.x; a.y *= gg.y; a.z *= gg.z; a.w *= gg.w;
                    }
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        float s = acc[r][t];
                        s = fmaf(__uint_as_float(wv[r][u].x), a.x, s);
                        s = fmaf(__uint_as_float(wv[r][u].y), a.y, s);
                        s = fmaf(__uint_as_float(wv[r][u].z), a.z, s);
                        s = fmaf(__uint_as_float(wv[r][u].w), a.w, s);
                        acc[r][t] = s;
                    }
                } else {
                    float4 a = __ldca((const float4 *)xp), b = __ldca((const float4 *)xp + 1);
                    if (NORM) {
                        ss[t] += (double)a.x * a.x + (double)a.y * a.y + (double)a.z * a.z + (double)a.w * a.w +
                                 (double)b.x * b.x + (double)b.y * b.y + (double)b.z * b.z + (double)b.w * b.w;
                        const float *gp = g + (size_t)(v + 32 * u) * EPV;
                        const float4 ga = __ldg((const float4 *)gp), gb = __ldg((const float4 *)gp + 1);
                        a.x *= ga.x; a.y *= ga.y; a.z *= ga.z; a.w *= ga.w;
                        b.x *= gb.x; b.y *= gb.y; b.z *= gb.z; b.w *= gb.w;
                    }
#pragma unroll
                    for (int r = 0; r < R; r++) {
                        const float2 p0 = llm_w_pair<WK>(wv[r][u].x), p1 = llm_w_pair<WK>(wv[r][u].y);
                        const float2 p2 = llm_w_pair<WK>(wv[r][u].z), p3 = llm_w_pair<WK>(wv[r][u].w);
                        float s = acc[r][t];
                        s = fmaf(p0.x, a.x, s);
                        s = fmaf(p0.y, a.y, s);
                        s = fmaf(p1.x, a.z, s);
                        s = fmaf(p1.y, a.w, s);
                        s = fmaf(p2.x, b.x, s);
                        s = fmaf(p2.y, b.y, s);
                        s = fmaf(p3.x, b.z, s);
                        s = fmaf(p3.y, b.w, s);
                        acc[r][t] = s;
                    }
                }
            }
        }
    }
    for (; v < NV; v += 32) {
#pragma unroll
        for (int r = 0; r < R; r++) {
            const uint4 q = llm_ld_stream((const uint4 *)w[r] + v);
#pragma unroll
            for (int t = 0; t < TT; t++) {
                if (TT > 1 && t >= tn) break;
                const float *xp = x + (size_t)t * XS + (size_t)v * EPV;
                float s = acc[r][t];
                if (WK == LLM_W_F32) {
                    float4 a = __ldca((const float4 *)xp);
                    if (NORM) {
                        if (r == 0) ss[t] += (double)a.x * a.x + (double)a.y * a.y + (double)a.z * a.z + (double)a.w * a.w;
                        const float4 gg = __ldg((const float4 *)(g + (size_t)v * EPV));
                        a.x *= gg.x; a.y *= gg.y; a.z *= gg.z; a.w *= gg.w;
                    }
                    s = fmaf(__uint_as_float(q.x), a.x, s);
                    s = fmaf(__uint_as_float(q.y), a.y, s);
                    s = fmaf(__uint_as_float(q.z), a.z, s);
                    s = fmaf(__uint_as_float(q.w), a.w, s);
                } else {
                    float4 a = __ldca((const float4 *)xp), b = __ldca((const float4 *)xp + 1);
                    if (NORM) {
                        if (r == 0)
                            ss[t] += (double)a.x * a.x + (double)a.y * a.y + (double)a.z * a.z + (double)a.w * a.w +
                                     (double)b.x * b.x + (double)b.y * b.y + (double)b.z * b.z + (double)b.w * b.w;
                        const float *gp = g + (size_t)v * EPV;
                        const float4 ga = __ldg((const float4 *)gp), gb = __ldg((const float4 *)gp + 1);
                        a.x *= ga.x; a.y *= ga.y; a.z *= ga.z; a.w *= ga.w;
                        b.x *= gb.x; b.y *= gb.y; b.z *= gb.z; b.w *= gb.w;
                    }
                    const float2 p0 = llm_w_pair<WK>(q.x), p1 = llm_w_pair<WK>(q.y);
                    const float2 p2 = llm_w_pair<WK>(q.z), p3 = llm_w_pair<WK>(q.w);
                    s = fmaf(p0.x, a.x, s);
                    s = fmaf(p0.y, a.y, s);
                    s = fmaf(p1.x, a.z, s);
                    s = fmaf(p1.y, a.w, s);
                    s = fmaf(p2.x, b.x, s);
                    s = fmaf(p2.y, b.y, s);
                    s = fmaf(p3.x, b.z, s);
                    s = fmaf(p3.y, b.w, s);
                }
                acc[r][t] = s;
            }
        }
    }
}

/* Scalar path: any K, stride and alignment. The caller has already waited
 * for its predecessor. */
template <int WK, int K, int XS, int R, int TT, bool NORM>
__device__ __forceinline__ void llm_gemv_scalar(const void *const (&w)[R], const float *x,
                                                const float *__restrict__ g, int tn, float (&acc)[R][TT],
                                                double (&ss)[TT], int lane) {
    for (int k = lane; k < K; k += 32) {
#pragma unroll
        for (int t = 0; t < TT; t++) {
            if (TT > 1 && t >= tn) break;
            float a = __ldca(x + (size_t)t * XS + k);
            if (NORM) {
                ss[t] += (double)a * a;
                a *= __ldg(g + k);
            }
#pragma unroll
            for (int r = 0; r < R; r++) acc[r][t] = fmaf(llm_w_scalar<WK>(w[r], (size_t)k), a, acc[r][t]);
        }
    }
}

/* Reduces acc (and, with NORM, ss) across the warp; afterwards every lane
 * holds the totals. */
template <int R, int TT, bool NORM>
__device__ __forceinline__ void llm_gemv_reduce(float (&acc)[R][TT], double (&ss)[TT]) {
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int t = 0; t < TT; t++) acc[r][t] = llm_warp_sum(acc[r][t]);
    if (NORM) {
#pragma unroll
        for (int t = 0; t < TT; t++)
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) ss[t] += __shfl_xor_sync(0xffffffffu, ss[t], o);
    }
}

static inline bool llm_aligned16(const void *a, const void *b) {
    return (((uintptr_t)a | (uintptr_t)b) & 15u) == 0;
}
#endif
