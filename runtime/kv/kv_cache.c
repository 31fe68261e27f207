/* kv_cache.c - paged KV pool: block allocation, block tables, ref counts.
 *
 * Allocation is a LIFO free stack, so a freed block is reused first (warm in
 * cache). Sizes are computed with overflow checks because the budget comes
 * from the command line. See kv_cache.h for the invariants.
 */
#include "kv/kv_cache.h"

#include <stdlib.h>
#include <string.h>

KvCacheShape kv_shape_from_program(const LlmProgram *prog) {
    KvCacheShape s = {
        .n_layers = prog->n_layers,
        .n_kv_heads = prog->n_kv_heads,
        .head_dim = prog->head_dim,
        .block_size = prog->block_size,
        .max_blocks_per_seq = prog->max_blocks_per_seq,
        .elem_bytes = prog->kv_elem_bytes,
    };
    return s;
}

/* a * b, or 0 when either is 0 or the product overflows. */
static size_t mul_or_zero(size_t a, size_t b) {
    if (a == 0 || b == 0 || a > SIZE_MAX / b) return 0;
    return a * b;
}

/* Bytes of one block of K (or V) in one layer. */
static size_t layer_block_bytes(const KvCacheShape *s) {
    if (s->block_size <= 0 || s->n_kv_heads <= 0 || s->head_dim <= 0) return 0;
    size_t n = mul_or_zero((size_t)s->block_size, (size_t)s->n_kv_heads);
    return mul_or_zero(mul_or_zero(n, (size_t)s->head_dim), s->elem_bytes);
}

size_t kv_cache_block_bytes(const KvCacheShape *s) {
    if (s->n_layers <= 0) return 0;
    return mul_or_zero(mul_or_zero(layer_block_bytes(s), (size_t)s->n_layers), 2);
}

int kv_cache_blocks_for_budget(const KvCacheShape *s, size_t budget_bytes, const char *flag,
                               int *n_blocks, LlmError *err) {
    size_t per_block = kv_cache_block_bytes(s);
    if (per_block == 0) return llm_errorf(err, "KV cache: block size overflows or is zero");
    if (budget_bytes == 0) {
        *n_blocks = s->max_blocks_per_seq;
        return LLM_OK;
    }
    size_t n = budget_bytes / per_block;
    if (n == 0)
        return llm_errorf(err, "%s %zu: too small for one KV block of %zu bytes", flag,
                          budget_bytes, per_block);
    *n_blocks = n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
    return LLM_OK;
}

int kv_cache_init(KvCache *kv, const KvCacheShape *s, int n_blocks, int max_seqs,
                  LlmError *err) {
    memset(kv, 0, sizeof *kv);
    size_t per_block = kv_cache_block_bytes(s);
    size_t pool = mul_or_zero(per_block / 2, (size_t)(n_blocks > 0 ? n_blocks : 0));
    if (pool == 0 || max_seqs <= 0 || s->max_blocks_per_seq <= 0)
        return llm_errorf(err, "KV cache: bad pool size: %d blocks of %zu bytes, %d sequences",
                          n_blocks, per_block, max_seqs);
    kv->shape = *s;
    kv->n_blocks = n_blocks;
    kv->max_seqs = max_seqs;
    kv->block_bytes = per_block;
    kv->free_ids = llm_xmalloc(sizeof(int32_t) * (size_t)n_blocks);
    kv->ref_counts = llm_xcalloc((size_t)n_blocks, sizeof(int32_t));
    for (int i = 0; i < n_blocks; i++) kv->free_ids[i] = n_blocks - 1 - i; /* pop 0 first */
    kv->n_free = n_blocks;
    size_t row = (size_t)s->max_blocks_per_seq;
    kv->block_tables = llm_xmalloc(sizeof(int32_t) * row * (size_t)max_seqs);
    memset(kv->block_tables, 0xff, sizeof(int32_t) * row * (size_t)max_seqs); /* -1 */
    kv->seqs = llm_xcalloc((size_t)max_seqs, sizeof(KvSeq));
    for (int i = 0; i < max_seqs; i++) kv->seqs[i].block_table = kv->block_tables + row * (size_t)i;
    return LLM_OK;
}

void kv_cache_free(KvCache *kv) {
    free(kv->free_ids);
    free(kv->ref_counts);
    free(kv->block_tables);
    free(kv->seqs);
    memset(kv, 0, sizeof *kv);
}

KvStatus kv_seq_open(KvCache *kv, int *seq) {
    for (int i = 0; i < kv->max_seqs; i++) {
        if (!kv->seqs[i].active) {
            kv->seqs[i].active = 1;
            kv->seqs[i].n_tokens = 0;
            kv->seqs[i].n_blocks = 0;
            *seq = i;
            return KV_OK;
        }
    }
    return KV_OUT_OF_BLOCKS;
}

static KvSeq *seq_get(const KvCache *kv, int seq) {
    if (seq < 0 || seq >= kv->max_seqs || !kv->seqs[seq].active)
        LLM_BUG("KV sequence %d is not open", seq);
    return &kv->seqs[seq];
}

int kv_seq_blocks_needed(const KvCache *kv, int seq, int n_tokens) {
    const KvSeq *q = seq_get(kv, seq);
    long want = ((long)n_tokens + kv->shape.block_size - 1) / kv->shape.block_size;
    return want > q->n_blocks ? (int)(want - q->n_blocks) : 0;
}

KvStatus kv_seq_reserve(KvCache *kv, int seq, int n_tokens) {
    KvSeq *q = seq_get(kv, seq);
    if (n_tokens < 0) LLM_BUG("negative token count %d", n_tokens);
    if ((long)n_tokens > (long)kv->shape.max_blocks_per_seq * kv->shape.block_size)
        return KV_SEQ_TOO_LONG;
    int need = kv_seq_blocks_needed(kv, seq, n_tokens);
    if (need > kv->n_free) return KV_OUT_OF_BLOCKS;
    for (int i = 0; i < need; i++) {
        int32_t id = kv->free_ids[--kv->n_free];
        LLM_ASSERT(kv->ref_counts[id] == 0);
        kv->ref_counts[id] = 1;
        q->block_table[q->n_blocks++] = id;
    }
    if (n_tokens > q->n_tokens) q->n_tokens = n_tokens;
    return KV_OK;
}

void kv_seq_release(KvCache *kv, int seq) {
    KvSeq *q = seq_get(kv, seq);
    for (int i = 0; i < q->n_blocks; i++) {
        int32_t id = q->block_table[i];
        LLM_ASSERT(id >= 0 && id < kv->n_blocks && kv->ref_counts[id] > 0);
        if (--kv->ref_counts[id] == 0) kv->free_ids[kv->n_free++] = id;
        q->block_table[i] = -1;
    }
    q->active = 0;
    q->n_blocks = 0;
    q->n_tokens = 0;
}

const int32_t *kv_seq_block_table(const KvCache *kv, int seq) {
    return seq_get(kv, seq)->block_table;
}


/* Checks one table row: n_blocks valid ids then -1s; counts uses. */
static int check_row(const KvCache *kv, int s, int32_t *uses, LlmError *err) {
    const KvSeq *q = &kv->seqs[s];
    for (int i = 0; i < kv->shape.max_blocks_per_seq; i++) {
        int32_t id = q->block_table[i];
        int in_use = q->active && i < q->n_blocks;
        if (!in_use && id != -1) return llm_errorf(err, "seq %d entry %d: %d, want -1", s, i, id);
        if (!in_use) continue;
        if (id < 0 || id >= kv->n_blocks)
            return llm_errorf(err, "seq %d entry %d: bad block %d", s, i, id);
        uses[id]++;
    }
    return LLM_OK;
}

int kv_cache_check(const KvCache *kv, LlmError *err) {
    int32_t *uses = llm_xcalloc((size_t)kv->n_blocks, sizeof(int32_t));
    int rc = LLM_OK;
    for (int s = 0; s < kv->max_seqs && rc == LLM_OK; s++) rc = check_row(kv, s, uses, err);
    for (int i = 0; i < kv->n_free && rc == LLM_OK; i++) {
        int32_t id = kv->free_ids[i];
        if (id < 0 || id >= kv->n_blocks || uses[id] != 0 || kv->ref_counts[id] != 0)
            rc = llm_errorf(err, "free list entry %d: block %d in use or bad", i, id);
        else
            uses[id] = -1; /* mark: on the free list */
    }
    for (int id = 0; id < kv->n_blocks && rc == LLM_OK; id++) {
        if (uses[id] == 0)
            rc = llm_errorf(err, "block %d is lost (neither free nor used)", id);
        else if (uses[id] > 0 && uses[id] != kv->ref_counts[id])
            rc = llm_errorf(err, "block %d: %d uses, ref_count %d", id, uses[id],
                            kv->ref_counts[id]);
    }
    free(uses);
    return rc;
}
