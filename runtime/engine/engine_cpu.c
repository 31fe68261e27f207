/* engine_cpu.c - the cpu target's engine: weights read in place from the
 * mapped payload, a host arena, host K/V pools, a thread pool, and
 * sampling on the host from the logits the step produced.
 *
 * The step always computes logits into its own buffer when a caller wants
 * logits or tokens, then copies and/or samples; the generated forward()
 * never sees the caller's buffers. Sampling is the host sampler itself
 * (sampler_pick) on each row with the step's penalty table and logprobs
 * output, so the cpu engine is the reference the device sampler is
 * checked against. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/engine_sample.h"
#include "kv/kv_cache.h"
#include "sample/sampler.h"

struct LlmEngine {
    const LlmProgram *prog;  /* not owned */
    const uint8_t *weights;  /* the payload's weight section (mapped, not owned) */
    LlmThreadPool *pool;     /* worker threads */
    uint8_t *arena;          /* [prog->arena_bytes] activations, 64-byte aligned */
    float *logits;           /* [max_tokens][vocab] step output */
    SampleCandidate *cands;  /* [vocab] sampling scratch */
    void *k, *v;             /* K and V pools, NULL until alloc_kv */
    int n_blocks;            /* blocks in the pools */
};

static void *alloc64(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

static void cpu_close(LlmEngine *e) {
    if (e == NULL) return;
    if (e->pool != NULL) threadpool_destroy(e->pool);
    free(e->arena);
    free(e->logits);
    free(e->cands);
    free(e->k);
    free(e->v);
    free(e);
}

static int cpu_open(const LlmProgram *prog, const uint8_t *weights, const LlmEngineConfig *cfg,
                    LlmEngine **out, LlmError *err) {
    LlmEngine *e = llm_xcalloc(1, sizeof *e);
    e->prog = prog;
    e->weights = weights;
    e->pool = threadpool_create(cfg->n_threads);
    e->arena = alloc64(prog->arena_bytes);
    e->logits = alloc64((size_t)prog->max_tokens * (size_t)prog->vocab_size * sizeof(float));
    e->cands = llm_xcalloc((size_t)prog->vocab_size, sizeof(SampleCandidate));
    if (e->arena == NULL || e->logits == NULL) {
        cpu_close(e);
        return llm_errorf(err, "cannot allocate the %zu-byte activation arena", prog->arena_bytes);
    }
    *out = e;
    return LLM_OK;
}

static size_t cpu_kv_capacity(const LlmEngine *e) {
    (void)e;
    return 0;
}

static int cpu_alloc_kv(LlmEngine *e, int n_blocks, LlmError *err) {
    const LlmProgram *p = e->prog;
    KvCacheShape shape = kv_shape_from_program(p);
    size_t bytes = kv_cache_block_bytes(&shape) / 2 * (size_t)n_blocks; /* K (or V) of all layers */
    e->k = alloc64(bytes);
    e->v = alloc64(bytes);
    if (e->k == NULL || e->v == NULL)
        return llm_errorf(err, "KV cache: cannot allocate 2 x %zu bytes (%d blocks); lower "
                          "--kv-memory", bytes, n_blocks);
    e->n_blocks = n_blocks;
    return LLM_OK;
}

static int cpu_step(LlmEngine *e, const LlmBatch *b, const LlmStepSample *sample,
                    LlmError *err) {
    const LlmProgram *p = e->prog;
    if (sample != NULL && engine_sample_check(sample, b->n_logits, p->vocab_size, err) != LLM_OK)
        return LLM_ERR;
    LlmBatch inner = *b;
    inner.logits = e->logits;
    LlmForwardCtx ctx = {.weights = e->weights, .arena = e->arena,
                         .kv = {.k = e->k, .v = e->v, .n_blocks = e->n_blocks}, .pool = e->pool};
    p->forward(&ctx, &inner);
    size_t row = (size_t)p->vocab_size;
    if (b->logits != NULL) memcpy(b->logits, e->logits, (size_t)b->n_logits * row * sizeof(float));
    if (sample == NULL) return LLM_OK;
    for (int i = 0; i < b->n_logits; i++) {
        LlmTokenLogprobs *lp = sample->logprobs != NULL ? &sample->logprobs[i] : NULL;
        sample->ids[i] = sampler_pick(&sample->rows[i], sample->counts,
                                      e->logits + (size_t)i * row, p->vocab_size, e->cands, lp);
    }
    return LLM_OK;
}

/* K and V of every layer, block src -> block dst, for each copy. Layout
 * [n_layers][n_blocks][block bytes of one layer] per tensor (program.h). */
static int cpu_copy_blocks(LlmEngine *e, const KvCopy *copies, int n, LlmError *err) {
    KvCacheShape shape = kv_shape_from_program(e->prog);
    size_t layer_block = kv_cache_layer_block_bytes(&shape);
    if (kv_copies_check(copies, n, e->n_blocks, err) != LLM_OK) return LLM_ERR;
    for (int l = 0; l < shape.n_layers; l++) {
        size_t layer = (size_t)l * (size_t)e->n_blocks;
        for (int i = 0; i < n; i++) {
            size_t src = (layer + (size_t)copies[i].src) * layer_block;
            size_t dst = (layer + (size_t)copies[i].dst) * layer_block;
            memcpy((char *)e->k + dst, (const char *)e->k + src, layer_block);
            memcpy((char *)e->v + dst, (const char *)e->v + src, layer_block);
        }
    }
    return LLM_OK;
}

static void cpu_describe(const LlmEngine *e, char *buf, size_t cap) {
    snprintf(buf, cap, "cpu, %d threads, built for %s", threadpool_size(e->pool),
             e->prog->arch ? e->prog->arch : "?");
}

/* memcpy bandwidth over buffers far larger than the caches (read + write). */
static double cpu_copy_bandwidth(LlmEngine *e) {
    (void)e;
    size_t n = (size_t)256 << 20;
    char *a = malloc(n), *b = malloc(n);
    double best = 0.0;
    if (a != NULL && b != NULL) {
        memset(a, 1, n);
        memset(b, 2, n);
        for (int i = 0; i < 5; i++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            memcpy(b, a, n);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
            if (s > 0 && 2.0 * (double)n / s > best) best = 2.0 * (double)n / s;
        }
    }
    free(a);
    free(b);
    return best;
}

const LlmEngineOps llm_engine_cpu = {
    .target = "cpu",
    .open = cpu_open,
    .kv_capacity = cpu_kv_capacity,
    .alloc_kv = cpu_alloc_kv,
    .step = cpu_step,
    .describe = cpu_describe,
    .copy_bandwidth = cpu_copy_bandwidth,
    .close = cpu_close,
    .copy_blocks = cpu_copy_blocks,
};
