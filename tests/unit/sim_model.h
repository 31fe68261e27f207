/* sim_model.h - a simulated model for the scheduler and batch CLI tests,
 * and its reference generator. Test-only, header-only.
 *
 * The simulated forward() writes each token (id + 1) into its K slot and
 * its position + 1 into its V slot through the batch's block table, then
 * for every logits row reads the whole history of that token's sequence
 * back out of the paged cache (checking every V slot) and turns a hash of
 * it into a row of pseudo-random logits (EOS strongly favoured for some
 * histories). So a block-table, copy-on-write, prefix-cache, preemption or
 * recomputation mistake changes the tokens, and sim.kv_errors counts
 * positions that were not where they should be.
 *
 * The reference is a plain loop with no KV cache and no batching at all:
 * logits of hash(tokens so far), sampled with the request's own Sampler
 * (seed + sample index), stopped by EOS, stop ids and max_tokens.
 */
#ifndef LLMCC_TESTS_SIM_MODEL_H
#define LLMCC_TESTS_SIM_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "sched/sched.h"

enum { VOCAB = 2048, CTX = 64, BS = 4, MAXT = 16, EOS = 2 };

static struct {
    int kv_errors;  /* positions whose K/V were not where the table says */
    int max_t;      /* largest T seen */
    int steps;      /* forward calls */
    int mixed;      /* steps that fed a decode token and a longer chunk together */
    int logit_rows; /* logits rows produced */
} sim;

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t history_hash(const int32_t *tokens, int n) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) h = (h ^ (uint64_t)(tokens[i] + 1)) * 1099511628211ull;
    return mix64(h);
}

/* The model: logits of the next token after a history with hash h. */
static inline void sim_logits(uint64_t h, float *row) {
    for (int v = 0; v < VOCAB; v++) {
        uint64_t x = mix64(h + (uint64_t)v * 0x9e3779b97f4a7c15ull);
        row[v] = (float)(x >> 40) / (float)(1u << 24) * 8.0f;
    }
    if (h % 31 == 0) row[EOS] = 100.0f;
}

static inline float *sim_slot(const LlmForwardCtx *ctx, const LlmBatch *b, float *base, int t, int pos) {
    const int32_t *table = b->block_tables + (size_t)b->seq_index[t] * (CTX / BS);
    int32_t block = table[pos / BS];
    if (block < 0 || block >= ctx->kv.n_blocks) return NULL;
    return base + block * BS + pos % BS;
}

/* Tokens 0..pos of token t's sequence, read back from K (checked by V). */
static inline int sim_history(const LlmForwardCtx *ctx, const LlmBatch *b, int t, int32_t *out) {
    int pos = b->positions[t];
    for (int p = 0; p <= pos; p++) {
        float *k = sim_slot(ctx, b, ctx->kv.k, t, p), *v = sim_slot(ctx, b, ctx->kv.v, t, p);
        if (k == NULL || v == NULL || *v != (float)(p + 1)) {
            sim.kv_errors++;
            out[p] = 0;
            continue;
        }
        out[p] = (int32_t)*k - 1;
    }
    return pos + 1;
}

static inline void sim_note_shape(const LlmBatch *b) {
    int decode = 0, chunk = 0;
    for (int t = 0; t < b->n_tokens;) {
        int u = t;
        while (u < b->n_tokens && b->seq_index[u] == b->seq_index[t]) u++;
        if (u - t == 1) decode = 1;
        else chunk = 1;
        t = u;
    }
    sim.mixed += decode && chunk;
    if (b->n_tokens > sim.max_t) sim.max_t = b->n_tokens;
    sim.steps++;
    sim.logit_rows += b->n_logits;
}

static inline void sim_forward(const LlmForwardCtx *ctx, const LlmBatch *b) {
    sim_note_shape(b);
    for (int t = 0; t < b->n_tokens; t++) {
        float *k = sim_slot(ctx, b, ctx->kv.k, t, b->positions[t]);
        float *v = sim_slot(ctx, b, ctx->kv.v, t, b->positions[t]);
        if (k == NULL || v == NULL) {
            sim.kv_errors++;
            continue;
        }
        *k = (float)(b->tokens[t] + 1);
        *v = (float)(b->positions[t] + 1);
    }
    int32_t hist[CTX];
    for (int r = 0; r < b->n_logits; r++) {
        int n = sim_history(ctx, b, b->logit_rows[r], hist);
        sim_logits(history_hash(hist, n), b->logits + (size_t)r * VOCAB);
    }
}

static inline LlmProgram sim_program(void) {
    LlmProgram p = {.abi_version = LLM_PROGRAM_ABI, .target = "cpu", .vocab_size = VOCAB,
                    .hidden_size = 1, .n_layers = 1, .n_kv_heads = 1, .head_dim = 1,
                    .max_context = CTX, .max_tokens = MAXT, .block_size = BS,
                    .max_blocks_per_seq = CTX / BS, .kv_elem_bytes = 4, .arena_bytes = 64,
                    .engine = &llm_engine_cpu, .arch = "test", .forward = sim_forward};
    return p;
}

typedef struct Ref {
    int32_t ids[CTX];
    int n;
    SchedCause cause;
} Ref;

static inline void reference(const SchedRequest *q, int sample, Ref *out) {
    int32_t tokens[CTX + 1];
    memcpy(tokens, q->prompt, sizeof(int32_t) * (size_t)q->n_prompt);
    int n = q->n_prompt, max = q->max_tokens > 0 ? q->max_tokens : CTX - q->n_prompt;
    SamplerParams p = q->sampling;
    p.seed += (uint64_t)sample;
    Sampler sp;
    sampler_init(&sp, &p, VOCAB);
    sampler_begin(&sp, q->prompt, q->n_prompt);
    float *row = malloc(sizeof(float) * VOCAB);
    LlmTokenLogprobs lp;
    out->n = 0;
    for (;;) {
        sim_logits(history_hash(tokens, n), row);
        int32_t id = sampler_sample(&sp, row, &lp);
        int stop = (!q->ignore_eos && id == EOS);
        for (int i = 0; i < q->n_stop_ids; i++) stop |= id == q->stop_ids[i];
        if (stop) {
            out->cause = id == EOS && !q->ignore_eos ? SCHED_CAUSE_EOS : SCHED_CAUSE_STOP_ID;
            break;
        }
        sampler_accept(&sp, id);
        tokens[n++] = id;
        out->ids[out->n++] = id;
        if (out->n == max) {
            out->cause = q->max_tokens > 0 ? SCHED_CAUSE_MAX_TOKENS : SCHED_CAUSE_CONTEXT;
            break;
        }
    }
    free(row);
    sampler_free(&sp);
}

#endif
