/* gemm.h - the tensor-core matrix product the projection kernels use when a
 * step has many tokens (prefill, large batches): cuBLAS, linked
 * dynamically (libcublas.so and libcublasLt.so, part of the CUDA runtime
 * libraries).
 *
 * C[rows][ldc] (float32, row-major) = X[rows][ldx] W[n][k]^T, with X and W
 * of the same kind: f32 (cublasSgemm: IEEE float32 products and sums, no
 * TF32), bf16 or f16 (cublasGemmEx, float32 accumulation). The caller
 * decides how X is made (kernels/cuda/proj.cu.lua splits float32
 * activations into two bf16 rows, hi + lo, so the product keeps ~16 bits).
 * Enqueued on c->stream; graph-capturable (the handle has a fixed
 * workspace). A failure sets *c->status (first error wins) for the engine
 * to report after the step; nothing is launched after it.
 */
#ifndef LLMCC_GPU_GEMM_H
#define LLMCC_GPU_GEMM_H

#include "gpu/cuda_ctx.h"

#ifdef __cplusplus
extern "C" {
#endif

/* wkind: 0 f32, 1 bf16, 2 f16 (LLM_W_* of the kernel templates). */
void llm_gpu_gemm(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x, int ldx,
                  int rows, float *out, int ldc);

/* Output kinds of llm_gpu_gemm_ex. */
#define LLM_GEMM_OUT_F32 0
#define LLM_GEMM_OUT_BF16 1 /* the float32 sums rounded to bf16 (nearest even); bf16 X and W only */

/* As llm_gpu_gemm, with two options a projection's epilogue can leave to the
 * product: out_kind LLM_GEMM_OUT_BF16 writes out as bf16 rows (half the
 * bytes; --gemm-input single, where X is bf16 already); res != NULL
 * (float32 out only) gives out[rows][ldc] = res[rows][ldr] + X W^T in the
 * same product (cuBLASLt with C = res, D = out: one rounding of the float32
 * sum plus the residual, as an epilogue kernel would round it). The
 * residual products' cuBLASLt descriptors and algorithm are chosen on a
 * shape's first use and kept in the handle. */
void llm_gpu_gemm_ex(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x, int ldx,
                     int rows, void *out, int ldc, int out_kind, const float *res, int ldr);

/* Engine side: creates the handle bound to stream with a workspace of
 * workspace_bytes at workspace (device memory the engine owns). Returns 0 or
 * a message in msg. */
int llm_gpu_blas_create(void *stream, void *workspace, size_t workspace_bytes, void **handle, char *msg,
                        size_t cap);
void llm_gpu_blas_destroy(void *handle);

#ifdef __cplusplus
}
#endif

#endif
