/* cuda_ctx.h - what a generated cuda kernel launcher receives.
 *
 * Plain C (no CUDA types) so host code can hold it; the stream is a
 * cudaStream_t stored as void *. All pointers are device pointers owned by
 * the cuda engine (runtime/gpu/engine_cuda.cu) and stay at fixed addresses
 * for the life of the engine, so a captured CUDA graph that reads them stays
 * valid: each step the engine copies the batch's metadata into these
 * buffers before launching (or replaying) the forward pass.
 *
 * Launchers must be graph-capturable: no allocation, no synchronisation, no
 * host reads of device memory; every launch on `stream`.
 */
#ifndef LLMCC_GPU_CUDA_CTX_H
#define LLMCC_GPU_CUDA_CTX_H

#include <stdint.h>

typedef struct LlmCudaCtx {
    void *stream;                /* cudaStream_t every kernel is launched on */
    const int32_t *tokens;       /* [T] token ids of the step */
    const int32_t *positions;    /* [T] position of each token in its sequence */
    const int32_t *seq_index;    /* [T] block-table row of each token */
    const int32_t *block_tables; /* [max_seqs][max_blocks_per_seq] block ids, -1 unused */
    const int32_t *logit_rows;   /* [L] token indices whose logits are produced */
    float *logits;               /* [max_tokens][vocab] float32 output of the step */
    void *k;                     /* K pool: [n_layers][n_blocks][block_size][n_kv_heads][head_dim] */
    void *v;                     /* V pool, same layout */
    int n_blocks;                /* blocks in the pool */
    int max_seqs;                /* rows of block_tables */
    int sm_count;                /* multiprocessors of the device (for grid sizing) */
    void *blas;                  /* cublasHandle_t bound to stream (gpu/gemm.h), or NULL */
    int *status;                 /* host int: first cuBLAS failure of the step (0 = none) */
} LlmCudaCtx;

#endif
