/* engine_cuda.cu - the cuda target's engine.
 *
 * open: picks the device, checks it can run the compiled arch and has
 * memory for weights and scratch, uploads the weights from the mapped
 * payload, and allocates fixed device buffers for everything a step reads
 * (batch metadata, sampling requests, the penalty table, the logprobs
 * output) so that a captured graph stays valid.
 * step: checks the sampling input (engine_sample.h), writes the batch
 * metadata into one pinned host staging block and, when a row has a
 * penalty list, the step's penalty table into its own pinned block,
 * uploaded ahead of the step on the same stream. Then, for a decode step
 * (one token and one sampled logits row per sequence, no host logits) it
 * replays the CUDA graph of its batch-size bucket, which holds the
 * metadata upload, the forward pass, the sampler and the download of the
 * sampled ids (captured on first use); other steps run the same sequence
 * eagerly. Rows with penalties or logprobs take the same graphs: the
 * sampler reads the table from the fixed device buffer through each row's
 * offset and length, and writes logprobs into a fixed device array that
 * is copied back after the launch, only in steps where a row asks. So a
 * step gives the same ids and logprobs replayed or eager (LLMCC_NO_GRAPH=1
 * forces eager). Logits are copied to the host only when asked for.
 *
 * The penalty table buffer: sized at open for min(max_seqs, max_tokens)
 * rows of min(vocab, max_context) entries (a request's list holds each
 * distinct token of its prompt and output once, and a sequence never
 * passes max_context tokens), capped at COUNTS_OPEN_MAX entries; a step
 * that needs more grows it (to twice its size or the step's need) and
 * drops the decode graphs that read the old buffer, which are recaptured
 * on their next use. A growth that the device cannot hold is an error
 * naming the sizes. LLMCC_PENALTY_TABLE_ENTRIES=N sets the size at open
 * instead (tests use a tiny one to make steps grow it).
 *
 * LLMCC_ENGINE_STATS=1 prints, when the engine closes, what it ran: steps
 * replayed and eager, rows sampled on the device with penalties and with
 * logprobs (in graphs and in all), logits rows copied to the host, the
 * largest penalty table and the buffer's growths (tests/gpu/
 * sched_targets.sh reads it).
 * Every CUDA call is checked; a failure is an LlmError naming the call.
 * step and copy_blocks make the engine's device current on the calling
 * thread, so they may run on a thread other than open's (one call at a
 * time).
 */
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "base/error.h"
#include "engine/engine_sample.h"
#include "gpu/cuda_ctx.h"
#include "gpu/gemm.h"
#include "gpu/gpu_sample.h"
#include "kv/kv_cache.h"
}
#include "gpu/engine_cuda.h"

#define KV_RESERVE_BYTES ((size_t)512 << 20) /* left free for the driver and cuBLAS */
#define LLM_MAX_BUCKETS 16                      /* 1, 2, 4, ... 2^15 tokens */
#define COUNTS_OPEN_MAX ((size_t)1 << 18)       /* penalty-table entries at open, at most (2 MiB) */

#define CUDA_TRY(call)                                                                   \
    do {                                                                                 \
        cudaError_t e_ = (call);                                                         \
        if (e_ != cudaSuccess)                                                           \
            return llm_errorf(err, "%s:%d: %s failed: %s", __FILE__, __LINE__, #call,     \
                              cudaGetErrorString(e_));                                   \
    } while (0)

/* How a step samples its logits rows; picks the sampler and the graph. */
typedef enum StepSampling {
    STEP_SAMPLE_NONE = 0, /* nothing sampled */
    STEP_SAMPLE_ARGMAX,   /* every row plain greedy (sample_row_is_plain_greedy): gpu_sample_greedy */
    STEP_SAMPLE_FULL      /* any other row: gpu_sample with the penalty table and logprobs output */
} StepSampling;
#define STEP_SAMPLE_KINDS 2 /* graph variants: ARGMAX and FULL, index kind - 1 */

/* What the engine ran (printed at close with LLMCC_ENGINE_STATS=1). */
typedef struct CudaStats {
    long long steps, graph_steps, eager_steps; /* forward steps, replayed or not */
    long long captures;                        /* decode graphs captured */
    long long rows_sampled;                    /* logits rows sampled on the device */
    long long rows_penalised, rows_logprobs;   /* of them, with a penalty list / with logprobs */
    long long graph_penalised, graph_logprobs; /* the same, inside replayed graphs */
    long long logits_to_host;                  /* logits rows copied to the host */
    long long counts_largest;                  /* entries of the largest penalty table of a step */
    int counts_growths;                        /* times the table buffer grew */
} CudaStats;

/* Metadata of one step, laid out as one pinned block and one device block. */
typedef struct StepMeta {
    int32_t *tokens, *positions, *seq_index, *logit_rows; /* [max_tokens] each */
    int32_t *block_tables;                                /* [max_seqs][max_blocks_per_seq] */
    LlmSampleRow *rows;                                   /* [max_tokens] */
} StepMeta;

struct LlmEngine {
    const LlmProgram *prog;   /* not owned */
    int device;               /* ordinal */
    cudaDeviceProp props;     /* of device */
    cudaStream_t stream;
    uint8_t *weights;         /* device [weight_bytes] */
    uint8_t *arena;           /* device [arena_bytes] */
    float *logits;            /* device [max_tokens][vocab] */
    void *sample_scratch;     /* device, gpu_sample_scratch_bytes */
    int32_t *sampled_d;       /* device [max_tokens] */
    int32_t *sampled_h;       /* pinned [max_tokens] */
    LlmTokenLogprobs *lp_d;   /* device [max_tokens] logprobs the sampler writes (rows asking) */
    LlmTokenLogprobs *lp_h;   /* pinned [max_tokens] their copy on the host */
    LlmTokenCount *counts_d;  /* device [counts_cap] the step's penalty table (graphs hold this pointer) */
    LlmTokenCount *counts_h;  /* pinned [counts_cap] its staging copy */
    int counts_cap;           /* entries of counts_d and counts_h (see the file comment) */
    uint8_t *meta_h, *meta_d; /* pinned / device staging blocks of meta_bytes */
    size_t meta_bytes;
    size_t bt_offset;         /* where the block tables start in them */
    StepMeta mh, md;          /* views into meta_h / meta_d */
    int max_seqs;             /* block-table rows a batch may use; one more (the last) is the padding row */
    void *k, *v;              /* KV pools (device) */
    int n_blocks;             /* blocks the KV manager hands out; block n_blocks is the padding block */
    LlmCudaCtx ctx;           /* what generated launchers receive */
    /* decode graphs, captured on first use: [bucket][StepSampling - 1], a
     * bucket being the token count rounded up to a power of two (capped at
     * max_tokens); a batch is padded to its bucket with tokens of the
     * padding row */
    cudaGraphExec_t decode_graph[LLM_MAX_BUCKETS][STEP_SAMPLE_KINDS];
    int graph_rows[LLM_MAX_BUCKETS][STEP_SAMPLE_KINDS]; /* block-table rows each graph uploads */
    CudaStats stats;
    void *blas;               /* cuBLAS handle (prefill matrix products) */
    void *blas_ws;            /* its workspace (device) */
    int blas_status;          /* set by llm_gpu_gemm on failure */
};

#define BLAS_WORKSPACE_BYTES ((size_t)32 << 20)

static size_t align256(size_t x) { return (x + 255) / 256 * 256; }

/* Lays out a StepMeta inside base, block tables last (a step uploads only
 * the rows it uses); returns the bytes it takes and, in *bt_offset, where
 * the block tables start. */
static size_t meta_layout(uint8_t *base, int max_tokens, size_t bt, StepMeta *m, size_t *bt_offset) {
    size_t at = 0, t = (size_t)max_tokens * sizeof(int32_t);
    int32_t **arrays[] = {&m->tokens, &m->positions, &m->seq_index, &m->logit_rows};
    for (int i = 0; i < 4; i++) {
        *arrays[i] = (int32_t *)(void *)(base ? base + at : NULL);
        at = align256(at + t);
    }
    m->rows = (LlmSampleRow *)(void *)(base ? base + at : NULL);
    at = align256(at + (size_t)max_tokens * sizeof(LlmSampleRow));
    m->block_tables = (int32_t *)(void *)(base ? base + at : NULL);
    *bt_offset = at;
    return align256(at + bt * sizeof(int32_t));
}

/* "sm_90" -> 9, 0; "sm_100" -> 10, 0. */
static int parse_arch(const char *arch, int *major, int *minor) {
    if (arch == NULL || strncmp(arch, "sm_", 3) != 0 || strlen(arch) < 5) return -1;
    char *end = NULL;
    long num = strtol(arch + 3, &end, 10);
    if (*end != '\0' || num < 10 || num > 999) return -1;
    *major = (int)(num / 10);
    *minor = (int)(num % 10);
    return 0;
}

static int check_device(LlmEngine *e, const LlmEngineConfig *cfg, LlmError *err) {
    int count = 0;
    cudaError_t ce = cudaGetDeviceCount(&count);
    if (ce != cudaSuccess || count == 0)
        return llm_errorf(err, "no CUDA GPU found (%s); this model was compiled for --target cuda",
                          ce != cudaSuccess ? cudaGetErrorString(ce) : "0 devices");
    if (cfg->device < 0 || cfg->device >= count)
        return llm_errorf(err, "--device %d: only %d CUDA device(s)", cfg->device, count);
    e->device = cfg->device;
    CUDA_TRY(cudaSetDevice(e->device));
    CUDA_TRY(cudaGetDeviceProperties(&e->props, e->device));
    int major = 0, minor = 0;
    if (parse_arch(e->prog->arch, &major, &minor) != 0)
        return llm_errorf(err, "program arch \"%s\" is not sm_XY", e->prog->arch ? e->prog->arch : "");
    if (e->props.major * 10 + e->props.minor < major * 10 + minor)
        return llm_errorf(err, "GPU %s has compute capability %d.%d; this model was compiled for %s: "
                          "recompile with --arch sm_%d%d", e->props.name, e->props.major,
                          e->props.minor, e->prog->arch, e->props.major, e->props.minor);
    return LLM_OK;
}

/* Penalty-table entries allocated at open (file comment), or
 * LLMCC_PENALTY_TABLE_ENTRIES when set (tests: a small buffer makes steps
 * grow it). */
static int counts_open_cap(const LlmProgram *p, int max_seqs, int *cap, LlmError *err) {
    const char *env = getenv("LLMCC_PENALTY_TABLE_ENTRIES");
    if (env != NULL) {
        char *end = NULL;
        long v = strtol(env, &end, 10);
        if (end == env || *end != '\0' || v < 1 || v > INT32_MAX)
            return llm_errorf(err, "LLMCC_PENALTY_TABLE_ENTRIES=%s: must be an entry count in [1, %d]",
                              env, INT32_MAX);
        *cap = (int)v;
        return LLM_OK;
    }
    size_t rows = (size_t)(max_seqs < p->max_tokens ? max_seqs : p->max_tokens);
    size_t per_row = (size_t)(p->vocab_size < p->max_context ? p->vocab_size : p->max_context);
    size_t n = rows * per_row;
    if (n > COUNTS_OPEN_MAX) n = COUNTS_OPEN_MAX;
    *cap = n > 0 ? (int)n : 1;
    return LLM_OK;
}

static int alloc_fixed(LlmEngine *e, const LlmEngineConfig *cfg, LlmError *err) {
    const LlmProgram *p = e->prog;
    size_t logits = (size_t)p->max_tokens * (size_t)p->vocab_size * sizeof(float);
    size_t scratch = gpu_sample_scratch_bytes(p->max_tokens, p->vocab_size);
    size_t lp = (size_t)p->max_tokens * sizeof(LlmTokenLogprobs);
    e->max_seqs = cfg->max_seqs > 0 ? cfg->max_seqs : 1;
    if (counts_open_cap(p, e->max_seqs, &e->counts_cap, err) != LLM_OK) return LLM_ERR;
    size_t counts = (size_t)e->counts_cap * sizeof(LlmTokenCount);
    size_t bt = (size_t)(e->max_seqs + 1) * (size_t)p->max_blocks_per_seq;
    e->meta_bytes = meta_layout(NULL, p->max_tokens, bt, &e->mh, &e->bt_offset);
    size_t free_b = 0, total_b = 0;
    CUDA_TRY(cudaMemGetInfo(&free_b, &total_b));
    size_t need = p->weight_bytes + p->arena_bytes + logits + scratch + e->meta_bytes + lp + counts;
    if (need + KV_RESERVE_BYTES > free_b)
        return llm_errorf(err, "not enough GPU memory on %s: weights %.1f MiB + scratch %.1f MiB, "
                          "%.1f MiB free of %.1f MiB", e->props.name, (double)p->weight_bytes / 1048576.0,
                          (double)(need - p->weight_bytes) / 1048576.0, (double)free_b / 1048576.0,
                          (double)total_b / 1048576.0);
    CUDA_TRY(cudaStreamCreateWithFlags(&e->stream, cudaStreamNonBlocking));
    CUDA_TRY(cudaMalloc((void **)&e->weights, p->weight_bytes ? p->weight_bytes : 1));
    CUDA_TRY(cudaMalloc((void **)&e->arena, p->arena_bytes ? p->arena_bytes : 1));
    CUDA_TRY(cudaMalloc((void **)&e->logits, logits));
    CUDA_TRY(cudaMalloc(&e->sample_scratch, scratch ? scratch : 1));
    CUDA_TRY(cudaMalloc((void **)&e->sampled_d, (size_t)p->max_tokens * sizeof(int32_t)));
    CUDA_TRY(cudaMallocHost((void **)&e->sampled_h, (size_t)p->max_tokens * sizeof(int32_t)));
    CUDA_TRY(cudaMalloc((void **)&e->lp_d, lp));
    CUDA_TRY(cudaMallocHost((void **)&e->lp_h, lp));
    CUDA_TRY(cudaMalloc((void **)&e->counts_d, counts));
    CUDA_TRY(cudaMallocHost((void **)&e->counts_h, counts));
    CUDA_TRY(cudaMallocHost((void **)&e->meta_h, e->meta_bytes));
    CUDA_TRY(cudaMalloc((void **)&e->meta_d, e->meta_bytes));
    CUDA_TRY(cudaMalloc(&e->blas_ws, BLAS_WORKSPACE_BYTES));
    char msg[256];
    if (llm_gpu_blas_create(e->stream, e->blas_ws, BLAS_WORKSPACE_BYTES, &e->blas, msg, sizeof msg) != 0)
        return llm_errorf(err, "%s", msg);
    meta_layout(e->meta_h, p->max_tokens, bt, &e->mh, &e->bt_offset);
    meta_layout(e->meta_d, p->max_tokens, bt, &e->md, &e->bt_offset);
    return LLM_OK;
}

/* One line of what the engine ran, on stderr (LLMCC_ENGINE_STATS=1). */
static void print_stats(const LlmEngine *e) {
    const CudaStats *t = &e->stats;
    fprintf(stderr, "cuda engine: %lld steps (%lld graph replays, %lld eager, %lld captures); "
            "%lld rows sampled on the device, %lld with penalties (%lld in graphs), %lld with "
            "logprobs (%lld in graphs); %lld logits rows copied to the host; penalty table: "
            "largest %lld entries, buffer %d entries, grown %d times\n", t->steps, t->graph_steps,
            t->eager_steps, t->captures, t->rows_sampled, t->rows_penalised, t->graph_penalised,
            t->rows_logprobs, t->graph_logprobs, t->logits_to_host, t->counts_largest,
            e->counts_cap, t->counts_growths);
}

/* Destroys the decode graphs of one sampling kind (all buckets). */
static void drop_graphs(LlmEngine *e, StepSampling kind) {
    for (int b = 0; b < LLM_MAX_BUCKETS; b++) {
        cudaGraphExec_t *g = &e->decode_graph[b][kind - 1];
        if (*g) cudaGraphExecDestroy(*g);
        *g = NULL;
    }
}

static void cuda_close(LlmEngine *e) {
    if (e == NULL) return;
    if (getenv("LLMCC_ENGINE_STATS") != NULL) print_stats(e);
    drop_graphs(e, STEP_SAMPLE_ARGMAX);
    drop_graphs(e, STEP_SAMPLE_FULL);
    llm_gpu_blas_destroy(e->blas);
    cudaFree(e->blas_ws);
    cudaFree(e->weights);
    cudaFree(e->arena);
    cudaFree(e->logits);
    cudaFree(e->sample_scratch);
    cudaFree(e->sampled_d);
    cudaFreeHost(e->sampled_h);
    cudaFree(e->lp_d);
    cudaFreeHost(e->lp_h);
    cudaFree(e->counts_d);
    cudaFreeHost(e->counts_h);
    cudaFreeHost(e->meta_h);
    cudaFree(e->meta_d);
    cudaFree(e->k);
    cudaFree(e->v);
    if (e->stream) cudaStreamDestroy(e->stream);
    free(e);
}

static int upload_weights(LlmEngine *e, const uint8_t *weights, LlmError *err) {
    /* chunks keep the pageable-copy staging bounded and let errors surface early */
    const size_t chunk = (size_t)256 << 20;
    for (size_t at = 0; at < e->prog->weight_bytes; at += chunk) {
        size_t n = e->prog->weight_bytes - at < chunk ? e->prog->weight_bytes - at : chunk;
        CUDA_TRY(cudaMemcpy(e->weights + at, weights + at, n, cudaMemcpyHostToDevice));
    }
    return LLM_OK;
}

static int cuda_open(const LlmProgram *prog, const uint8_t *weights, const LlmEngineConfig *cfg,
                     LlmEngine **out, LlmError *err) {
    LlmEngine *e = (LlmEngine *)llm_xcalloc(1, sizeof *e);
    e->prog = prog;
    if (check_device(e, cfg, err) != LLM_OK || alloc_fixed(e, cfg, err) != LLM_OK ||
        upload_weights(e, weights, err) != LLM_OK) {
        cuda_close(e);
        return LLM_ERR;
    }
    *out = e;
    return LLM_OK;
}

static size_t cuda_kv_capacity(const LlmEngine *e) {
    size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(e->device) != cudaSuccess || cudaMemGetInfo(&free_b, &total_b) != cudaSuccess)
        return 1; /* tiny: alloc_kv will report the real error */
    return free_b > KV_RESERVE_BYTES ? free_b - KV_RESERVE_BYTES : 1;
}

static int cuda_alloc_kv(LlmEngine *e, int n_blocks, LlmError *err) {
    const LlmProgram *p = e->prog;
    KvCacheShape shape = kv_shape_from_program(p);
    /* K (or V) of all layers, plus one padding block that padded tokens of a
     * bucketed decode graph write into */
    size_t bytes = kv_cache_block_bytes(&shape) / 2 * ((size_t)n_blocks + 1);
    CUDA_TRY(cudaMalloc(&e->k, bytes));
    CUDA_TRY(cudaMalloc(&e->v, bytes));
    e->n_blocks = n_blocks;
    LlmCudaCtx c = {};
    c.stream = e->stream;
    c.tokens = e->md.tokens;
    c.positions = e->md.positions;
    c.seq_index = e->md.seq_index;
    c.block_tables = e->md.block_tables;
    c.logit_rows = e->md.logit_rows;
    c.logits = e->logits;
    c.k = e->k;
    c.v = e->v;
    c.n_blocks = n_blocks + 1;
    c.max_seqs = e->max_seqs + 1;
    c.sm_count = e->props.multiProcessorCount;
    c.blas = e->blas;
    c.status = &e->blas_status;
    e->ctx = c;
    return LLM_OK;
}

/* Copies the batch into the pinned staging block, and the padding row
 * (block-table row n_seqs, whose one block is the pool's padding block)
 * after its rows; with pad_to > n_tokens (a bucketed decode graph) the
 * extra tokens are padding: token 0 at position 0 of the padding row, each
 * its own greedy logits row. */
static void fill_meta(LlmEngine *e, const LlmBatch *b, const LlmSampleRow *rows, int pad_to) {
    const int mb = e->prog->max_blocks_per_seq;
    size_t t = (size_t)b->n_tokens * sizeof(int32_t), l = (size_t)b->n_logits;
    memcpy(e->mh.tokens, b->tokens, t);
    memcpy(e->mh.positions, b->positions, t);
    memcpy(e->mh.seq_index, b->seq_index, t);
    if (l) memcpy(e->mh.logit_rows, b->logit_rows, l * sizeof(int32_t));
    memcpy(e->mh.block_tables, b->block_tables, (size_t)b->n_seqs * (size_t)mb * sizeof(int32_t));
    if (rows != NULL && l) memcpy(e->mh.rows, rows, l * sizeof(LlmSampleRow));
    int32_t *pad_row = e->mh.block_tables + (size_t)b->n_seqs * (size_t)mb;
    pad_row[0] = e->n_blocks;
    for (int j = 1; j < mb; j++) pad_row[j] = -1;
    for (int i = b->n_tokens; i < pad_to; i++) {
        e->mh.tokens[i] = 0;
        e->mh.positions[i] = 0;
        e->mh.seq_index[i] = b->n_seqs;
        e->mh.logit_rows[i] = i;
        memset(&e->mh.rows[i], 0, sizeof(LlmSampleRow)); /* greedy */
    }
}

/* Metadata upload (the fixed arrays and bt_rows block-table rows), forward
 * pass and, when sampling, sampler + id download. The FULL sampler reads
 * the penalty table from counts_d and writes logprobs into lp_d, whatever
 * the rows ask (a row without a list or logprobs reads and writes
 * nothing there), so one graph serves every mix of rows. */
static int enqueue_step(LlmEngine *e, int T, int L, StepSampling kind, int bt_rows, LlmError *err) {
    size_t bytes = e->bt_offset + (size_t)bt_rows * (size_t)e->prog->max_blocks_per_seq * sizeof(int32_t);
    CUDA_TRY(cudaMemcpyAsync(e->meta_d, e->meta_h, bytes, cudaMemcpyHostToDevice, e->stream));
    e->prog->forward_cuda(&e->ctx, e->weights, e->arena, T, L);
    CUDA_TRY(cudaGetLastError());
    if (e->blas_status != 0)
        return llm_errorf(err, "cuBLAS matrix product failed in the forward pass (status %d)", e->blas_status);
    if (kind != STEP_SAMPLE_NONE && L > 0) {
        GpuSampleBatch sb = {e->logits, L, e->prog->vocab_size, e->md.rows, NULL, e->sampled_d, NULL};
        if (kind == STEP_SAMPLE_FULL) {
            sb.counts = e->counts_d;
            sb.out_logprobs = e->lp_d;
        }
        int rc = kind == STEP_SAMPLE_ARGMAX ? gpu_sample_greedy(e->stream, &sb, e->sample_scratch)
                                            : gpu_sample(e->stream, &sb, e->sample_scratch);
        if (rc != 0) return llm_errorf(err, "device sampler failed: %s", cudaGetErrorString((cudaError_t)rc));
        CUDA_TRY(cudaMemcpyAsync(e->sampled_h, e->sampled_d, (size_t)L * sizeof(int32_t),
                                 cudaMemcpyDeviceToHost, e->stream));
    }
    return LLM_OK;
}

static int capture_decode_graph(LlmEngine *e, int bucket, int T, StepSampling kind, int bt_rows,
                                LlmError *err) {
    cudaGraph_t graph = NULL;
    CUDA_TRY(cudaStreamBeginCapture(e->stream, cudaStreamCaptureModeThreadLocal));
    int rc = enqueue_step(e, T, T, kind, bt_rows, err);
    cudaError_t ce = cudaStreamEndCapture(e->stream, &graph);
    if (rc != LLM_OK) return rc;
    if (ce != cudaSuccess) return llm_errorf(err, "capturing the decode graph: %s", cudaGetErrorString(ce));
    ce = cudaGraphInstantiate(&e->decode_graph[bucket][kind - 1], graph, 0);
    cudaGraphDestroy(graph);
    if (ce != cudaSuccess) return llm_errorf(err, "instantiating the decode graph: %s", cudaGetErrorString(ce));
    e->graph_rows[bucket][kind - 1] = bt_rows;
    e->stats.captures++;
    return LLM_OK;
}

/* The decode bucket of a T-token step: index i with 2^i >= T (the last
 * bucket is max_tokens itself); *padded receives its token count. */
static int decode_bucket(int T, int max_tokens, int *padded) {
    int i = 0;
    while ((1 << i) < T) i++;
    *padded = (1 << i) < max_tokens ? (1 << i) : max_tokens;
    return i;
}

/* How the rows of in [L] are sampled (NONE when in is NULL). */
static StepSampling step_sampling(const LlmStepSample *in, int L) {
    if (in == NULL) return STEP_SAMPLE_NONE;
    for (int i = 0; i < L; i++)
        if (!sample_row_is_plain_greedy(&in->rows[i])) return STEP_SAMPLE_FULL;
    return STEP_SAMPLE_ARGMAX;
}

/* Makes the penalty-table buffer hold n entries: a larger pair of
 * buffers, and the FULL graphs (which hold the old pointer) dropped. */
static int grow_counts(LlmEngine *e, int n, LlmError *err) {
    long long cap = 2LL * e->counts_cap > n ? 2LL * e->counts_cap : n;
    if (cap > INT32_MAX) cap = n;
    size_t bytes = (size_t)cap * sizeof(LlmTokenCount);
    CUDA_TRY(cudaStreamSynchronize(e->stream)); /* nothing in flight reads the old buffers */
    drop_graphs(e, STEP_SAMPLE_FULL);
    cudaFree(e->counts_d);
    cudaFreeHost(e->counts_h);
    e->counts_d = NULL;
    e->counts_h = NULL;
    e->counts_cap = 0;
    if (cudaMalloc((void **)&e->counts_d, bytes) != cudaSuccess ||
        cudaMallocHost((void **)&e->counts_h, bytes) != cudaSuccess) {
        cudaGetLastError(); /* clear the allocation error */
        return llm_errorf(err, "the step's penalty table of %d entries needs %.1f MiB of device and "
                          "pinned host memory, which cannot be allocated (fewer sequences with "
                          "penalties per step: lower --max-seqs)", n, (double)bytes / 1048576.0);
    }
    e->counts_cap = (int)cap;
    e->stats.counts_growths++;
    return LLM_OK;
}

/* Stages the step's penalty table and queues its upload ahead of the step. */
static int upload_counts(LlmEngine *e, const LlmStepSample *in, LlmError *err) {
    if (in->n_counts == 0) return LLM_OK;
    if (in->n_counts > e->counts_cap && grow_counts(e, in->n_counts, err) != LLM_OK) return LLM_ERR;
    size_t bytes = (size_t)in->n_counts * sizeof(LlmTokenCount);
    memcpy(e->counts_h, in->counts, bytes);
    CUDA_TRY(cudaMemcpyAsync(e->counts_d, e->counts_h, bytes, cudaMemcpyHostToDevice, e->stream));
    if (in->n_counts > e->stats.counts_largest) e->stats.counts_largest = in->n_counts;
    return LLM_OK;
}

/* Replays (capturing first if needed) the decode graph of b's bucket. */
static int replay_decode(LlmEngine *e, const LlmBatch *b, const LlmSampleRow *rows, StepSampling kind,
                         LlmError *err) {
    int padded = 0, bucket = decode_bucket(b->n_tokens, e->prog->max_tokens, &padded);
    fill_meta(e, b, rows, padded);
    const int bt_rows = b->n_seqs + 1; /* the batch's rows and the padding row */
    cudaGraphExec_t *g = &e->decode_graph[bucket][kind - 1];
    /* a graph uploads a fixed number of block-table rows: recapture for more */
    if (*g != NULL && e->graph_rows[bucket][kind - 1] < bt_rows) {
        cudaGraphExecDestroy(*g);
        *g = NULL;
    }
    if (*g == NULL) {
        /* room for the batch to grow to twice its sequences before a recapture */
        int want = 2 * bt_rows < e->max_seqs + 1 ? 2 * bt_rows : e->max_seqs + 1;
        if (capture_decode_graph(e, bucket, padded, kind, want, err) != LLM_OK) return LLM_ERR;
    }
    CUDA_TRY(cudaGraphLaunch(*g, e->stream));
    return LLM_OK;
}

/* Counts what a step ran (CudaStats). */
static void note_step(LlmEngine *e, const LlmBatch *b, const LlmStepSample *in, int graph) {
    CudaStats *t = &e->stats;
    t->steps++;
    if (graph) t->graph_steps++;
    else t->eager_steps++;
    if (b->logits != NULL) t->logits_to_host += b->n_logits;
    if (in == NULL) return;
    t->rows_sampled += b->n_logits;
    for (int i = 0; i < b->n_logits; i++) {
        int pen = sample_row_has_penalties(&in->rows[i]), lp = in->rows[i].logprobs != 0;
        t->rows_penalised += pen;
        t->rows_logprobs += lp;
        if (graph) {
            t->graph_penalised += pen;
            t->graph_logprobs += lp;
        }
    }
}

static int cuda_step(LlmEngine *e, const LlmBatch *b, const LlmStepSample *in, LlmError *err) {
    const LlmProgram *p = e->prog;
    CUDA_TRY(cudaSetDevice(e->device)); /* the current device is per thread (serve steps on its own) */
    if (b->n_tokens < 1 || b->n_tokens > p->max_tokens || b->n_logits > b->n_tokens ||
        b->n_seqs < 1 || b->n_seqs > e->max_seqs)
        return llm_errorf(err, "batch of %d tokens, %d logits rows, %d sequences exceeds the engine "
                          "(max_tokens %d, max_seqs %d)", b->n_tokens, b->n_logits, b->n_seqs,
                          p->max_tokens, e->max_seqs);
    if (in != NULL && engine_sample_check(in, b->n_logits, p->vocab_size, err) != LLM_OK) return LLM_ERR;
    const StepSampling kind = step_sampling(in, b->n_logits);
    const int want_lp = kind == STEP_SAMPLE_FULL && engine_sample_wants_logprobs(in, b->n_logits);
    if (kind == STEP_SAMPLE_FULL && upload_counts(e, in, err) != LLM_OK) return LLM_ERR;
    const LlmSampleRow *rows = in != NULL ? in->rows : NULL;
    /* A decode step (every token a logits row, ids sampled on the device)
     * replays the graph of its bucket, padded; anything else runs eagerly. */
    int padded = 0;
    int graph = kind != STEP_SAMPLE_NONE && b->n_logits == b->n_tokens && b->logits == NULL &&
                decode_bucket(b->n_tokens, p->max_tokens, &padded) < LLM_MAX_BUCKETS &&
                getenv("LLMCC_NO_GRAPH") == NULL; /* past 2^15 tokens per step: eager */
    if (graph) {
        if (replay_decode(e, b, rows, kind, err) != LLM_OK) return LLM_ERR;
    } else {
        fill_meta(e, b, rows, 0);
        if (enqueue_step(e, b->n_tokens, b->n_logits, kind, b->n_seqs, err) != LLM_OK) return LLM_ERR;
    }
    if (want_lp)
        CUDA_TRY(cudaMemcpyAsync(e->lp_h, e->lp_d, (size_t)b->n_logits * sizeof(LlmTokenLogprobs),
                                 cudaMemcpyDeviceToHost, e->stream));
    if (b->logits != NULL && b->n_logits > 0)
        CUDA_TRY(cudaMemcpyAsync(b->logits, e->logits,
                                 (size_t)b->n_logits * (size_t)p->vocab_size * sizeof(float),
                                 cudaMemcpyDeviceToHost, e->stream));
    CUDA_TRY(cudaStreamSynchronize(e->stream));
    if (kind != STEP_SAMPLE_NONE) memcpy(in->ids, e->sampled_h, (size_t)b->n_logits * sizeof(int32_t));
    for (int i = 0; want_lp && i < b->n_logits; i++)
        if (in->rows[i].logprobs != 0) in->logprobs[i] = e->lp_h[i];
    note_step(e, b, in, graph);
    return LLM_OK;
}

/* K and V of every layer for each {src, dst} block pair (copy-on-write,
 * runtime/kv), device to device on the engine's stream, so they land
 * before the next step's kernels read the blocks. */
static int cuda_copy_blocks(LlmEngine *e, const KvCopy *copies, int n, LlmError *err) {
    KvCacheShape shape = kv_shape_from_program(e->prog);
    size_t layer_block = kv_cache_layer_block_bytes(&shape);
    CUDA_TRY(cudaSetDevice(e->device)); /* as in cuda_step */
    if (kv_copies_check(copies, n, e->n_blocks, err) != LLM_OK) return LLM_ERR;
    for (int l = 0; l < shape.n_layers; l++) {
        size_t layer = (size_t)l * ((size_t)e->n_blocks + 1); /* the pool has the padding block too */
        for (int i = 0; i < n; i++) {
            size_t src = (layer + (size_t)copies[i].src) * layer_block;
            size_t dst = (layer + (size_t)copies[i].dst) * layer_block;
            CUDA_TRY(cudaMemcpyAsync((char *)e->k + dst, (const char *)e->k + src, layer_block,
                                     cudaMemcpyDeviceToDevice, e->stream));
            CUDA_TRY(cudaMemcpyAsync((char *)e->v + dst, (const char *)e->v + src, layer_block,
                                     cudaMemcpyDeviceToDevice, e->stream));
        }
    }
    return LLM_OK;
}

static void cuda_describe(const LlmEngine *e, char *buf, size_t cap) {
    snprintf(buf, cap, "%s (sm_%d%d, %d SMs, %.1f GiB), code for %s", e->props.name, e->props.major,
             e->props.minor, e->props.multiProcessorCount,
             (double)e->props.totalGlobalMem / 1073741824.0, e->prog->arch);
}

/* Device-to-device copy bandwidth (bytes read + written per second),
 * median of 10 copies of up to 1 GiB; 0 on failure. */
static double cuda_copy_bandwidth(LlmEngine *e) {
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return 0.0;
    size_t n = (size_t)1 << 30;
    while (n > ((size_t)16 << 20) && 2 * n + KV_RESERVE_BYTES > free_b) n /= 2;
    void *a = NULL, *b = NULL;
    if (cudaMalloc(&a, n) != cudaSuccess) return 0.0;
    if (cudaMalloc(&b, n) != cudaSuccess) { cudaFree(a); return 0.0; }
    cudaMemsetAsync(a, 1, n, e->stream);
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    float ms[10];
    for (int i = 0; i < 11; i++) {
        cudaEventRecord(t0, e->stream);
        cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice, e->stream);
        cudaEventRecord(t1, e->stream);
        cudaEventSynchronize(t1);
        if (i > 0) cudaEventElapsedTime(&ms[i - 1], t0, t1); /* first is warm-up */
    }
    for (int i = 1; i < 10; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) { float t = ms[j]; ms[j] = ms[j - 1]; ms[j - 1] = t; }
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    cudaFree(a);
    cudaFree(b);
    return 2.0 * (double)n / ((double)ms[5] * 1e-3);
}

extern "C" const LlmEngineOps llm_engine_cuda = {
    "cuda", cuda_open, cuda_kv_capacity, cuda_alloc_kv, cuda_step, cuda_describe, cuda_copy_bandwidth,
    cuda_close, cuda_copy_blocks,
};
