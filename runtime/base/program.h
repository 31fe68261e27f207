/* program.h - the interface between a generated model and the runtime.
 *
 * The compiler emits model.c (or model.cu) defining `llm_program`, a const
 * LlmProgram. The runtime (CLI, scheduler, server) drives the model only
 * through it: one forward step over a batch of tokens from any number of
 * sequences, reading and writing a paged KV cache through per-sequence block
 * tables, producing logits for selected rows. Everything model-specific
 * (shapes, weight offsets, arena offsets) is a constant inside the generated
 * code; everything request-specific arrives in LlmBatch.
 */
#ifndef LLMCC_BASE_PROGRAM_H
#define LLMCC_BASE_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/threadpool.h"

#define LLM_PROGRAM_ABI 3

/* One forward step. Tokens of a sequence appear in position order; the KV
 * entries of earlier positions of every sequence must already be in the
 * cache (written by earlier steps). The step first writes K/V of all its
 * tokens, then each token attends to positions 0..pos of its sequence. */
typedef struct LlmBatch {
    int n_tokens;                /* T, 1..program.max_tokens */
    const int32_t *tokens;       /* [T] token ids, 0..vocab-1 */
    const int32_t *positions;    /* [T] position in its sequence, < max_context */
    const int32_t *seq_index;    /* [T] row of block_tables for each token */
    int n_seqs;                  /* rows of block_tables */
    const int32_t *block_tables; /* [n_seqs][program.max_blocks_per_seq] */
    int n_logits;                /* rows of logits wanted, 0..T */
    const int32_t *logit_rows;   /* [n_logits] indices into tokens */
    float *logits;               /* [n_logits][vocab] output, float32 */
} LlmBatch;

struct LlmEngineOps;

/* The KV pool as the generated code sees it. Element type is the program's
 * kv dtype (float32 on the cpu target). Layout, per tensor (K and V alike):
 *   [n_layers][n_blocks][block_size][n_kv_heads][head_dim]                */
typedef struct LlmKvView {
    void *k;      /* base of the K pool */
    void *v;      /* base of the V pool */
    int n_blocks; /* blocks in the pool (all layers have the same count) */
} LlmKvView;

typedef struct LlmForwardCtx {
    const uint8_t *weights; /* packed weight blob, program.weight_align aligned */
    uint8_t *arena;         /* program.arena_bytes of scratch, 64-byte aligned */
    LlmKvView kv;
    LlmThreadPool *pool;    /* worker threads for the cpu target */
} LlmForwardCtx;

typedef struct LlmProgram {
    int abi_version;          /* LLM_PROGRAM_ABI */
    const char *target;       /* "cpu" or "cuda" */
    const char *manifest_json; /* what `info` prints: arch, hyper-parameters,
                                  dtype, passes, weight bytes, source path */
    int vocab_size;
    int hidden_size;
    int n_layers;
    int n_kv_heads;
    int head_dim;
    int max_context;          /* positions 0..max_context-1 */
    int max_tokens;           /* T per forward step (prefill is chunked) */
    int block_size;           /* tokens per KV block */
    int max_blocks_per_seq;   /* ceil(max_context / block_size) */
    size_t kv_elem_bytes;     /* bytes per K or V element */
    size_t arena_bytes;       /* scratch needed by forward() */
    size_t weight_bytes;      /* size of the packed weight section */
    size_t weight_align;      /* alignment the weight section needs */
    uint64_t weight_hash;     /* xor-fold of the weight section, checked at load */
    const struct LlmEngineOps *engine; /* the target's engine (runtime/engine/engine.h) */
    const char *arch;         /* what the code was built for: "x86-64-v3", "sm_90" */
    /* cpu target: one step on host buffers. */
    void (*forward)(const LlmForwardCtx *ctx, const LlmBatch *batch);
    /* cuda target: one step enqueued on the stream of cuda_ctx (an
     * LlmCudaCtx, runtime/gpu/cuda_ctx.h) with T tokens and L logits rows;
     * weights and arena are device pointers. */
    void (*forward_cuda)(const void *cuda_ctx, const uint8_t *weights, uint8_t *arena, int T, int L);
    size_t decode_bytes;      /* weight bytes one decode token reads (the
                                 embedding contributes one row unless tied) */
    const char *kernels;      /* one line per generated kernel: op, name, launches
                                 per step (what `info` prints) */
} LlmProgram;

/* Defined by the generated code. */
extern const LlmProgram llm_program;

#endif
