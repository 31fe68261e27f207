% -- kernels/cuda/common.cu.lua: helpers every cuda kernel may use. Each
% -- kernel template includes it; the guard keeps one copy per program.
#ifndef LLMCC_CUDA_COMMON
#define LLMCC_CUDA_COMMON
/* ---- helpers (templates/kernels/cuda/common.cu.lua) --------------------- */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "gpu/gemm.h"

/* Programmatic dependent launch (sm_90): LLM_PDL_MODE 0 = plain launches;
 * 1 ("wait") = every launch lets the next kernel be scheduled before this
 * one ends; each kernel first does the work that depends on nothing the
 * previous kernel writes (a projection issues its first weight loads), then
 * waits with griddepcontrol.wait (which returns once the previous grid has
 * completed and its memory is visible, so ordering is as strict as without
 * PDL), and signals its own dependents (LLM_PDL_TRIGGER) once it has issued
 * its last weight loads (projections) or right after the wait (small
 * kernels): the next kernel's blocks then take SM slots as this kernel's
 * blocks retire and start their own weight stream; 2 ("early") = as 1, but
 * each kernel signals at entry. The program template defines the mode
 * (llmcc compile --pdl). */
#ifndef LLM_PDL_MODE
#define LLM_PDL_MODE 0
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && LLM_PDL_MODE == 2
#define LLM_PDL_ENTER()                                          \
    do {                                                         \
        asm volatile("griddepcontrol.launch_dependents;");       \
        asm volatile("griddepcontrol.wait;" ::: "memory");       \
    } while (0)
#define LLM_PDL_TRIGGER() do { } while (0)
#elif defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900 && LLM_PDL_MODE == 1
#define LLM_PDL_ENTER() asm volatile("griddepcontrol.wait;" ::: "memory")
#define LLM_PDL_TRIGGER() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#else
#define LLM_PDL_ENTER() do { } while (0)
#define LLM_PDL_TRIGGER() do { } while (0)
#endif

/* Every generated launch goes through here: cudaLaunchKernelEx, with the
 * programmatic-stream-serialization attribute when PDL is on. */
template <typename... KArgs, typename... Args>
static void llm_launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                       Args... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = attr;
    cfg.numAttrs = LLM_PDL_MODE > 0 ? 1 : 0;
    cudaLaunchKernelEx(&cfg, kernel, static_cast<KArgs>(args)...);
}

/* Weight storage kinds (template parameter of the GEMV core). */
#define LLM_W_F32 0
#define LLM_W_BF16 1
#define LLM_W_F16 2

/* bf16 -> f32 is exact: the top 16 bits of the float32 pattern. */
__device__ __forceinline__ float llm_bf16_to_f32(uint16_t h) { return __uint_as_float((uint32_t)h << 16); }
/* Two floats rounded to bf16 (nearest even) in one 32-bit word, the first in the low half
 * (the order of a bf16 row in memory). */
__device__ __forceinline__ uint32_t llm_bf16x2(float a, float b) {
    return (uint32_t)__bfloat16_as_ushort(__float2bfloat16_rn(a)) |
           ((uint32_t)__bfloat16_as_ushort(__float2bfloat16_rn(b)) << 16);
}
/* IEEE half -> f32, exact. */
__device__ __forceinline__ float llm_f16_to_f32(uint16_t h) { return __half2float(__ushort_as_half(h)); }

template <int WK> __device__ __forceinline__ float llm_w_scalar(const void *w, size_t i) {
    if (WK == LLM_W_F32) return ((const float *)w)[i];
    if (WK == LLM_W_BF16) return llm_bf16_to_f32(((const uint16_t *)w)[i]);
    return llm_f16_to_f32(((const uint16_t *)w)[i]);
}

/* Two 16-bit weights packed in one 32-bit word -> two floats (low first). */
template <int WK> __device__ __forceinline__ float2 llm_w_pair(uint32_t u) {
    if (WK == LLM_W_BF16) return make_float2(__uint_as_float(u << 16), __uint_as_float(u & 0xffff0000u));
    return __half22float2(*reinterpret_cast<const __half2 *>(&u));
}

/* 16-byte streaming load of weights: read once, keep out of L1 (x lives
 * there), ask L2 to fetch the whole 256-byte line. Volatile: a plain asm
 * counts as free of side effects, and nvcc then hoists loads above the
 * bound checks that guard them (a row's tail read past the end of the
 * matrix); volatile keeps each load where the code puts it, and the loads
 * of a step are still issued back to back before their first use. */
__device__ __forceinline__ uint4 llm_ld_stream(const void *p) {
    uint4 r;
    asm volatile("ld.global.nc.L1::no_allocate.L2::256B.v4.u32 {%0, %1, %2, %3}, [%4];"
                 : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
                 : "l"(p));
    return r;
}

/* Activations (x, the residual, q/k/v) are read with plain coherent loads,
 * never ld.global.nc / __ldg and never through const __restrict__
 * pointers (which nvcc turns into ld.global.nc): under programmatic
 * dependent launch a kernel runs while its predecessor still writes them,
 * and non-coherent loads may be scheduled above griddepcontrol.wait. */

__device__ __forceinline__ float llm_warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float llm_warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ __forceinline__ float llm_silu_dev(float x) { return x / (1.0f + expf(-x)); }

static inline unsigned llm_cdiv(long long a, long long b) { return (unsigned)((a + b - 1) / b); }
#endif
