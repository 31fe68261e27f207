/* engine.h - the device half of a loaded model, one implementation per
 * target: it owns the weights where the kernels read them, the activation
 * arena and the KV storage, and runs forward steps.
 *
 * The generated program names its engine (LlmProgram.engine): the cpu
 * target uses llm_engine_cpu (runtime/engine/engine_cpu.c), the cuda target
 * llm_engine_cuda (runtime/gpu/engine_cuda.cu). Everything above the
 * engine (CLI, scheduler, server) is target-agnostic: it manages block
 * tables (runtime/kv), builds LlmBatch, and asks for logits on the host
 * and/or one sampled token per logits row.
 *
 * Sampling happens inside the step, on both targets, with every option of
 * the rule (sample/sampler.h): the caller hands over one LlmSampleRow per
 * logits row and the step's penalty table, and gets the ids and, for the
 * rows that ask, logprobs back (LlmStepSample). The cpu engine runs the
 * host sampler on its logits; the cuda engine runs gpu_sample on the
 * device, so only ids and logprobs cross to the host. No caller samples
 * from host logits.
 *
 * Threads: one call on an engine at a time, but step and copy_blocks may
 * be called from a thread other than the one that opened it (the HTTP
 * server runs them on its step worker).
 */
#ifndef LLMCC_ENGINE_ENGINE_H
#define LLMCC_ENGINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/program.h"
#include "kv/kv_cache.h"
#include "sample/sample_row.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct LlmEngine LlmEngine; /* opaque, owned by its ops */

typedef struct LlmEngineConfig {
    int n_threads; /* cpu: worker threads, 0 = all online cores */
    int max_seqs;  /* rows of the block-table matrix a batch may use */
    int device;    /* cuda: device ordinal */
} LlmEngineConfig;

/* What one step samples: a request per logits row, the step's penalty
 * table, and where the results go.
 *
 * The penalty table is every row's list (the distinct prompt and output
 * tokens of its request with their generated counts, sample_row.h)
 * concatenated in any order: row i's list is counts[rows[i].counts_offset
 * .. + rows[i].n_counts). A caller batching requests copies each
 * request's Sampler table (sampler.h) in and sets counts_offset; a row
 * with no penalty has n_counts 0. The step checks the layout before it
 * runs (engine_sample_check, engine_sample.h): a list outside the table,
 * longer than the vocabulary or holding an id outside it, top_logprobs
 * outside 0..LLM_LOGPROBS_MAX, or a logprobs row with no logprobs output
 * is an error naming the row. Ids within one list must be distinct (the
 * Sampler guarantees it; not checked). */
typedef struct LlmStepSample {
    const LlmSampleRow *rows;    /* [n_logits] one request per logits row */
    const LlmTokenCount *counts; /* [n_counts] the penalty table; NULL when n_counts is 0 */
    int n_counts;                /* entries of counts (the sum of the rows' n_counts or more) */
    int32_t *ids;                /* [n_logits] out: the token sampled for each row */
    LlmTokenLogprobs *logprobs;  /* [n_logits] out: entry i set when rows[i].logprobs is 1,
                                    the others untouched; NULL only when no row asks */
} LlmStepSample;

typedef struct LlmEngineOps {
    const char *target; /* "cpu" or "cuda" */
    /* Loads weights (the payload's weight section, host memory) where the
     * kernels read them and allocates scratch. Errors: no device, device
     * too old for the compiled arch, not enough memory — each named. */
    int (*open)(const LlmProgram *prog, const uint8_t *weights, const LlmEngineConfig *cfg,
                LlmEngine **out, LlmError *err);
    /* Bytes the KV pool may take now (device memory still free, less a
     * reserve); 0 means "no device limit" (host memory). */
    size_t (*kv_capacity)(const LlmEngine *e);
    /* Allocates K and V storage for n_blocks blocks (once). */
    int (*alloc_kv)(LlmEngine *e, int n_blocks, LlmError *err);
    /* One forward step over b. Then, if b->logits != NULL, the logits rows
     * are copied there ([n_logits][vocab] float32, host); if sample !=
     * NULL, one token per logits row is sampled by sample->rows[i] with
     * the penalty table, into sample->ids, and the rows with logprobs 1
     * fill sample->logprobs (the rule: sample/sampler.h; both engines give
     * the host sampler's tokens, the cuda one up to the float rounding
     * gpu/gpu_sample.h describes). Errors: a malformed sampling input
     * (checked before anything runs), device failures. */
    int (*step)(LlmEngine *e, const LlmBatch *b, const LlmStepSample *sample, LlmError *err);
    /* One line naming the device (for info and bench). */
    void (*describe)(const LlmEngine *e, char *buf, size_t cap);
    /* Copy bandwidth of the device's memory measured now: bytes read plus
     * bytes written per second (the roofline bench divides by); 0 if it
     * cannot be measured. */
    double (*copy_bandwidth)(LlmEngine *e);
    void (*close)(LlmEngine *e);
    /* Copies K and V of every layer from block copies[i].src to block
     * copies[i].dst, i < n (the copy-on-write list of runtime/kv: no block
     * is both a source and a destination, so any order is right). Runs
     * before the next step touches the pool. NULL when the engine cannot
     * copy: then sequences must not share a block that is written (no
     * kv_seq_fork). Errors: a block id outside the pool, device failures.
     * Last in the struct, and null by default in C++, so that an engine
     * written with a positional initializer before this op existed still
     * compiles without a missing-initializer warning (same layout in C). */
#ifdef __cplusplus
    int (*copy_blocks)(LlmEngine *e, const KvCopy *copies, int n, LlmError *err) = nullptr;
#else
    int (*copy_blocks)(LlmEngine *e, const KvCopy *copies, int n, LlmError *err);
#endif
} LlmEngineOps;

extern const LlmEngineOps llm_engine_cpu;

#ifdef __cplusplus
}
#endif

#endif
