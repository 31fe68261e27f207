/* kv_cache.c - the block allocator and the sequence operations of the
 * paged KV block manager: sizing, init, free stack, evictable list,
 * open/fork/reserve (with copy-on-write)/truncate/release, pending copies,
 * statistics. The prefix cache's hash table and commit/lookup live in
 * kv_prefix.c, the invariant checker in kv_check.c. See kv_cache.h for the
 * block states and invariants.
 *
 * Allocation pops a LIFO free stack, so a freed block is reused first (warm
 * in cache); only when it is empty is a cached block evicted, least
 * recently freed first. Sizes are computed with overflow checks because the
 * budget comes from the command line.
 */
#include "kv/kv_cache.h"

#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"

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

size_t kv_cache_layer_block_bytes(const KvCacheShape *s) {
    if (s->block_size <= 0 || s->n_kv_heads <= 0 || s->head_dim <= 0) return 0;
    size_t n = mul_or_zero((size_t)s->block_size, (size_t)s->n_kv_heads);
    return mul_or_zero(mul_or_zero(n, (size_t)s->head_dim), s->elem_bytes);
}

size_t kv_cache_block_bytes(const KvCacheShape *s) {
    if (s->n_layers <= 0) return 0;
    return mul_or_zero(mul_or_zero(kv_cache_layer_block_bytes(s), (size_t)s->n_layers), 2);
}

int kv_copies_check(const KvCopy *copies, int n, int n_blocks, LlmError *err) {
    for (int i = 0; i < n; i++) {
        KvCopy c = copies[i];
        if (c.src < 0 || c.src >= n_blocks || c.dst < 0 || c.dst >= n_blocks || c.src == c.dst)
            return llm_errorf(err, "KV copy %d: block %d -> %d is outside the pool of %d blocks "
                              "or onto itself", i, c.src, c.dst, n_blocks);
    }
    return LLM_OK;
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

/* Smallest power of two >= n (n <= 2^31). */
static uint32_t pow2_at_least(int n) {
    uint32_t p = 1;
    while (p < (uint32_t)n) p <<= 1;
    return p;
}

/* The per-block arrays of the allocator and of the prefix cache. */
static void alloc_block_arrays(KvCache *kv) {
    size_t n = (size_t)kv->n_blocks;
    kv->free_ids = llm_xmalloc(sizeof(int32_t) * n);
    for (int i = 0; i < kv->n_blocks; i++) kv->free_ids[i] = kv->n_blocks - 1 - i; /* pop 0 first */
    kv->n_free = kv->n_blocks;
    kv->ref_counts = llm_xcalloc(n, sizeof(int32_t));
    kv->pins = llm_xcalloc(n, sizeof(int32_t));
    kv->hashes = llm_xcalloc(n, sizeof(uint64_t));
    kv->commit_ids = llm_xcalloc(n, sizeof(uint64_t));
    kv->parent_commits = llm_xcalloc(n, sizeof(uint64_t));
    kv->block_tokens = llm_xcalloc(n * (size_t)kv->shape.block_size, sizeof(int32_t));
    uint32_t buckets = pow2_at_least(kv->n_blocks);
    kv->bucket_mask = buckets - 1;
    kv->buckets = llm_xmalloc(sizeof(int32_t) * buckets);
    memset(kv->buckets, 0xff, sizeof(int32_t) * buckets); /* -1 */
    kv->bucket_next = llm_xmalloc(sizeof(int32_t) * n);
    kv->lru_prev = llm_xmalloc(sizeof(int32_t) * n);
    kv->lru_next = llm_xmalloc(sizeof(int32_t) * n);
    memset(kv->bucket_next, 0xff, sizeof(int32_t) * n);
    memset(kv->lru_prev, 0xff, sizeof(int32_t) * n);
    memset(kv->lru_next, 0xff, sizeof(int32_t) * n);
    kv->lru_head = kv->lru_tail = -1;
    kv->copies = llm_xmalloc(sizeof(KvCopy) * n);
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
    kv->hash_fn = kv_hash_block;
    alloc_block_arrays(kv);
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
    free(kv->pins);
    free(kv->hashes);
    free(kv->commit_ids);
    free(kv->parent_commits);
    free(kv->block_tokens);
    free(kv->buckets);
    free(kv->bucket_next);
    free(kv->lru_prev);
    free(kv->lru_next);
    free(kv->copies);
    free(kv->block_tables);
    free(kv->seqs);
    memset(kv, 0, sizeof *kv);
}

/* ---- allocator ----------------------------------------------------------- */

static void lru_remove(KvCache *kv, int32_t id) {
    int32_t prev = kv->lru_prev[id], next = kv->lru_next[id];
    if (prev >= 0) kv->lru_next[prev] = next;
    else kv->lru_head = next;
    if (next >= 0) kv->lru_prev[next] = prev;
    else kv->lru_tail = prev;
    kv->lru_prev[id] = kv->lru_next[id] = -1;
    kv->n_cached--;
}

static void lru_push_tail(KvCache *kv, int32_t id) {
    kv->lru_prev[id] = kv->lru_tail;
    kv->lru_next[id] = -1;
    if (kv->lru_tail >= 0) kv->lru_next[kv->lru_tail] = id;
    else kv->lru_head = id;
    kv->lru_tail = id;
    kv->n_cached++;
}

/* An unreferenced, unpinned block: cached if committed, else free. */
static void block_put_back(KvCache *kv, int32_t id) {
    if (kv->commit_ids[id] != 0) lru_push_tail(kv, id);
    else kv->free_ids[kv->n_free++] = id;
}

static void note_used(KvCache *kv) {
    int used = kv->n_blocks - kv->n_free - kv->n_cached;
    if (used > kv->stats.peak_used) kv->stats.peak_used = used;
}

int kv_blocks_available(const KvCache *kv) { return kv->n_free + kv->n_cached; }

int32_t kv_block_alloc(KvCache *kv) {
    int32_t id;
    if (kv->n_free > 0) {
        id = kv->free_ids[--kv->n_free];
    } else if (kv->lru_head >= 0) {
        id = kv->lru_head;
        lru_remove(kv, id);
        kv_prefix_remove(kv, id);
        kv->stats.n_evictions++;
    } else {
        return -1;
    }
    LLM_ASSERT(kv->ref_counts[id] == 0 && kv->pins[id] == 0 && kv->commit_ids[id] == 0);
    kv->ref_counts[id] = 1;
    note_used(kv);
    return id;
}

void kv_block_ref(KvCache *kv, int32_t id) {
    if (kv->ref_counts[id] == 0 && kv->pins[id] == 0) {
        LLM_ASSERT(kv->commit_ids[id] != 0); /* only a cached block can be found unreferenced */
        lru_remove(kv, id);
    }
    kv->ref_counts[id]++;
    note_used(kv);
}

static void unpin(KvCache *kv, int32_t id) {
    LLM_ASSERT(kv->pins[id] > 0);
    if (--kv->pins[id] == 0 && kv->ref_counts[id] == 0) block_put_back(kv, id);
}

/* Drops the pending copy into dst (nobody will read dst any more). */
static void drop_copies_into(KvCache *kv, int32_t dst) {
    int w = 0;
    for (int r = 0; r < kv->n_copies; r++) {
        KvCopy c = kv->copies[r];
        if (c.dst == dst) unpin(kv, c.src);
        else kv->copies[w++] = c;
    }
    kv->n_copies = w;
}

void kv_block_unref(KvCache *kv, int32_t id) {
    LLM_ASSERT(id >= 0 && id < kv->n_blocks && kv->ref_counts[id] > 0);
    if (--kv->ref_counts[id] > 0) return;
    drop_copies_into(kv, id);
    if (kv->pins[id] == 0) block_put_back(kv, id);
}

/* ---- sequences ------------------------------------------------------------ */

KvSeq *kv_seq_get(const KvCache *kv, int seq) {
    if (seq < 0 || seq >= kv->max_seqs || !kv->seqs[seq].active)
        LLM_BUG("KV sequence %d is not open", seq);
    return &kv->seqs[seq];
}

KvStatus kv_seq_open(KvCache *kv, int *seq) {
    for (int i = 0; i < kv->max_seqs; i++) {
        KvSeq *q = &kv->seqs[i];
        if (!q->active) {
            q->active = 1;
            q->n_tokens = q->n_blocks = q->n_committed = 0;
            *seq = i;
            return KV_OK;
        }
    }
    return KV_OUT_OF_BLOCKS;
}

KvStatus kv_seq_fork(KvCache *kv, int parent, int *child) {
    kv_seq_get(kv, parent);
    int c;
    if (kv_seq_open(kv, &c) != KV_OK) return KV_OUT_OF_BLOCKS;
    const KvSeq *p = &kv->seqs[parent];
    KvSeq *q = &kv->seqs[c];
    for (int i = 0; i < p->n_blocks; i++) {
        q->block_table[i] = p->block_table[i];
        kv_block_ref(kv, p->block_table[i]);
    }
    q->n_blocks = p->n_blocks;
    q->n_tokens = p->n_tokens;
    q->n_committed = p->n_committed;
    *child = c;
    return KV_OK;
}

int kv_seq_blocks_needed(const KvCache *kv, int seq, int n_tokens) {
    const KvSeq *q = kv_seq_get(kv, seq);
    long want = ((long)n_tokens + kv->shape.block_size - 1) / kv->shape.block_size;
    return want > q->n_blocks ? (int)(want - q->n_blocks) : 0;
}

/* The block a new copy should read instead of id: when id is itself the
 * destination of a pending copy, its content is not there yet, so read
 * that copy's source (this keeps sources and destinations disjoint). */
static int32_t copy_source(const KvCache *kv, int32_t id) {
    for (int i = 0; i < kv->n_copies; i++)
        if (kv->copies[i].dst == id) return kv->copies[i].src;
    return id;
}

/* Makes table entry idx of q writable: a shared block is replaced by a
 * fresh one with a queued copy; a committed block of q's own leaves the
 * prefix cache. The caller checked that a block is available. */
static void prepare_write(KvCache *kv, KvSeq *q, int idx) {
    int32_t id = q->block_table[idx];
    if (kv->ref_counts[id] > 1) {
        int32_t fresh = kv_block_alloc(kv);
        int32_t src = copy_source(kv, id);
        LLM_ASSERT(fresh >= 0 && kv->n_copies < kv->n_blocks);
        kv->copies[kv->n_copies++] = (KvCopy){.src = src, .dst = fresh};
        kv->pins[src]++;
        kv->stats.n_copies++;
        kv_block_unref(kv, id);
        q->block_table[idx] = fresh;
    } else if (kv->commit_ids[id] != 0) {
        kv_prefix_remove(kv, id);
    }
}

KvStatus kv_seq_reserve(KvCache *kv, int seq, int n_tokens) {
    KvSeq *q = kv_seq_get(kv, seq);
    int bs = kv->shape.block_size;
    if (n_tokens < 0) LLM_BUG("negative token count %d", n_tokens);
    if ((long)n_tokens > (long)kv->shape.max_blocks_per_seq * bs) return KV_SEQ_TOO_LONG;
    if (n_tokens <= q->n_tokens) return KV_OK;
    int need = kv_seq_blocks_needed(kv, seq, n_tokens);
    int tail = q->n_tokens % bs != 0 ? q->n_tokens / bs : -1; /* partly filled block written */
    int copy = tail >= 0 && kv->ref_counts[q->block_table[tail]] > 1;
    if (need + copy > kv_blocks_available(kv)) return KV_OUT_OF_BLOCKS;
    if (tail >= 0) prepare_write(kv, q, tail);
    for (int i = 0; i < need; i++) q->block_table[q->n_blocks++] = kv_block_alloc(kv);
    q->n_tokens = n_tokens;
    return KV_OK;
}

void kv_seq_truncate(KvCache *kv, int seq, int n_tokens) {
    KvSeq *q = kv_seq_get(kv, seq);
    if (n_tokens < 0 || n_tokens > q->n_tokens)
        LLM_BUG("KV sequence %d: cannot truncate %d tokens to %d", seq, q->n_tokens, n_tokens);
    int bs = kv->shape.block_size;
    int keep = (n_tokens + bs - 1) / bs;
    while (q->n_blocks > keep) { /* last block first: chains are evicted from the tail */
        int32_t id = q->block_table[--q->n_blocks];
        q->block_table[q->n_blocks] = -1;
        kv_block_unref(kv, id);
    }
    q->n_tokens = n_tokens;
    if (q->n_committed > n_tokens / bs) q->n_committed = n_tokens / bs;
}

void kv_seq_release(KvCache *kv, int seq) {
    kv_seq_truncate(kv, seq, 0);
    kv->seqs[seq].active = 0;
}

const int32_t *kv_seq_block_table(const KvCache *kv, int seq) {
    return kv_seq_get(kv, seq)->block_table;
}

/* ---- copies and statistics ------------------------------------------------- */

int kv_cache_pending_copies(const KvCache *kv, const KvCopy **copies) {
    *copies = kv->copies;
    return kv->n_copies;
}

void kv_cache_copies_done(KvCache *kv) {
    int n = kv->n_copies;
    kv->n_copies = 0; /* before unpinning: nothing may drop them twice */
    for (int i = 0; i < n; i++) unpin(kv, kv->copies[i].src);
}

KvStats kv_cache_stats(const KvCache *kv) {
    KvStats s = kv->stats;
    s.n_blocks = kv->n_blocks;
    s.n_free = kv->n_free;
    s.n_cached = kv->n_cached;
    s.n_used = kv->n_blocks - kv->n_free - kv->n_cached;
    return s;
}
