/* pack.c - weight blob layout and conversion from the stored tensors. */
#include "codegen/pack.h"

#include "base/threadpool.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static size_t elem_bytes(DType t) { return t == DTYPE_F32 ? 4 : 2; }

int64_t pack_assign_offsets(IrGraph *g) {
    int64_t at = 0;
    for (int i = 0; i < g->n_weights; i++) {
        IrWeight *w = &g->weights[i];
        w->offset = at;
        at += w->rows * w->cols * (int64_t)elem_bytes(w->dtype);
        at = (at + PACK_ALIGN - 1) / PACK_ALIGN * PACK_ALIGN;
    }
    return at;
}

uint16_t pack_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet nan */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

uint16_t pack_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds to inf */
    if (a < 0x38800000u) { /* f16 subnormal or zero: scale and round */
        float m = fabsf(f) * 16777216.0f; /* units of 2^-24 */
        return (uint16_t)(sign | (uint16_t)lrintf(m));
    }
    uint32_t mant = a & 0x7fffffu, exp = (a >> 23) - 112u;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (uint16_t)(sign | h);
}

static void convert_rows(const float *src, int64_t n, DType t, uint8_t *dst) {
    if (t == DTYPE_F32) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    uint16_t *d = (uint16_t *)(void *)dst;
    for (int64_t i = 0; i < n; i++)
        d[i] = t == DTYPE_BF16 ? pack_f32_to_bf16(src[i]) : pack_f32_to_f16(src[i]);
}

static int pack_one(const IrWeight *w, const TensorTable *tt, uint8_t *dst, LlmError *err) {
    for (int p = 0; p < w->n_parts; p++) {
        const TensorInfo *t = tensor_table_find(tt, w->parts[p]);
        if (t == NULL) return llm_errorf(err, "tensor \"%s\": missing from the model files", w->parts[p]);
        int64_t n = w->is_vector ? w->part_rows[p] : w->part_rows[p] * w->cols;
        if (tensor_numel(t) != n)
            return llm_errorf(err, "%s: tensor \"%s\": %lld elements, the graph needs %lld", t->file,
                              t->name, (long long)tensor_numel(t), (long long)n);
        float *tmp = llm_xmalloc((size_t)n * sizeof(float));
        int rc = tensor_read_f32(t, tmp, err);
        if (rc == LLM_OK) convert_rows(tmp, n, w->dtype, dst);
        free(tmp);
        if (rc != LLM_OK) return rc;
        dst += (size_t)n * elem_bytes(w->dtype);
    }
    return LLM_OK;
}

/* Shared state of a parallel pack: weights are claimed one at a time. */
typedef struct PackJob {
    const IrGraph *g;
    const TensorTable *tt;
    uint8_t *blob;
    pthread_mutex_t mu;      /* guards next, done, failed, err and progress calls */
    int next;                /* next weight to claim */
    int done;                /* weights finished */
    int failed;              /* 1 once any weight failed: others stop claiming */
    LlmError err;            /* the first failure */
    PackProgressFn progress; /* called under mu */
    void *pctx;
} PackJob;

static void pack_worker(void *arg, int begin, int end) {
    PackJob *j = arg;
    (void)begin;
    (void)end;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->failed ? j->g->n_weights : j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->g->n_weights) return;
        const IrWeight *w = &j->g->weights[i];
        LlmError e = {{0}};
        int rc = pack_one(w, j->tt, j->blob + w->offset, &e);
        pthread_mutex_lock(&j->mu);
        if (rc != LLM_OK && !j->failed) {
            j->failed = 1;
            j->err = e;
        }
        j->done++;
        if (rc == LLM_OK && j->progress) j->progress(j->pctx, j->done, j->g->n_weights);
        pthread_mutex_unlock(&j->mu);
    }
}

int pack_weights(const IrGraph *g, const TensorTable *tt, uint8_t *blob, int64_t size,
                 PackProgressFn progress, void *pctx, LlmError *err) {
    memset(blob, 0, (size_t)size);
    for (int i = 0; i < g->n_weights; i++) {
        const IrWeight *w = &g->weights[i];
        if (w->offset < 0 || w->offset + w->rows * w->cols * (int64_t)elem_bytes(w->dtype) > size)
            LLM_BUG("weight %s outside the blob", w->name);
    }
    PackJob j = {.g = g, .tt = tt, .blob = blob, .progress = progress, .pctx = pctx};
    pthread_mutex_init(&j.mu, NULL);
    LlmThreadPool *pool = threadpool_create(0);
    llm_parallel_for(pool, threadpool_size(pool), pack_worker, &j);
    threadpool_destroy(pool);
    pthread_mutex_destroy(&j.mu);
    if (j.failed && err) *err = j.err;
    return j.failed ? LLM_ERR : LLM_OK;
}

int64_t pack_decode_bytes(const IrGraph *g) {
    int *embed_only = llm_xcalloc((size_t)g->n_weights + 1, sizeof *embed_only);
    for (int i = 0; i < g->n_weights; i++) embed_only[i] = 1;
    int *used = llm_xcalloc((size_t)g->n_weights + 1, sizeof *used);
    for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_weights; j++) {
            used[g->nodes[i].weights[j]] = 1;
            if (g->nodes[i].op != IR_OP_EMBED) embed_only[g->nodes[i].weights[j]] = 0;
        }
    int64_t total = 0;
    for (int i = 0; i < g->n_weights; i++) {
        const IrWeight *w = &g->weights[i];
        if (!used[i]) continue;
        int64_t rows = embed_only[i] ? 1 : w->rows;
        total += rows * w->cols * (int64_t)elem_bytes(w->dtype);
    }
    free(embed_only);
    free(used);
    return total;
}
