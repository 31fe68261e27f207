/* gemm.h - the tensor-core matrix product the projection kernels use when a
 * step has many tokens (prefill, large batches): cuBLAS, linked
 * dynamically (libcublas.so, part of the CUDA runtime libraries).
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
