/* kv_check.c - kv_cache_check: verifies every invariant listed in
 * kv_cache.h from scratch (counts recomputed from the block tables, the
 * free stack, the evictable list, the hash table and the pending copies).
 * For tests and debug builds: it allocates and walks everything.
 */
#include <stdlib.h>
#include <string.h>

#include "kv/kv_cache.h"
#include "kv/kv_internal.h"

enum { KV_MARK_NONE = 0, KV_MARK_FREE = 1, KV_MARK_CACHED = 2 };

/* Counts recomputed by the walk. */
typedef struct KvTally {
    int32_t *uses;  /* [n_blocks] block-table references */
    int32_t *reads; /* [n_blocks] pending copies reading the block */
    uint8_t *mark;  /* [n_blocks] KV_MARK_* : on which list */
    uint8_t *dst;   /* [n_blocks] 1 = destination of a pending copy */
} KvTally;

/* One table row: its shape, then n_blocks valid ids and -1s. */
static int check_row(const KvCache *kv, int s, KvTally *t, LlmError *err) {
    const KvSeq *q = &kv->seqs[s];
    int bs = kv->shape.block_size;
    int want = q->active ? (q->n_tokens + bs - 1) / bs : 0;
    if (q->n_tokens < 0 || q->n_blocks != want || (!q->active && q->n_tokens != 0))
        return llm_errorf(err, "seq %d: %d blocks for %d tokens (want %d)", s, q->n_blocks,
                          q->n_tokens, want);
    if (q->n_committed < 0 || q->n_committed > q->n_tokens / bs)
        return llm_errorf(err, "seq %d: %d committed blocks of %d tokens", s, q->n_committed,
                          q->n_tokens);
    for (int i = 0; i < kv->shape.max_blocks_per_seq; i++) {
        int32_t id = q->block_table[i];
        if (i >= q->n_blocks && id != -1)
            return llm_errorf(err, "seq %d entry %d: %d, want -1", s, i, id);
        if (i >= q->n_blocks) continue;
        if (id < 0 || id >= kv->n_blocks)
            return llm_errorf(err, "seq %d entry %d: bad block %d", s, i, id);
        t->uses[id]++;
    }
    return LLM_OK;
}

/* Pending copies: valid ids, distinct destinations held by a table, no
 * block both read and written. */
static int check_copies(const KvCache *kv, KvTally *t, LlmError *err) {
    for (int i = 0; i < kv->n_copies; i++) {
        KvCopy c = kv->copies[i];
        if (c.src < 0 || c.src >= kv->n_blocks || c.dst < 0 || c.dst >= kv->n_blocks ||
            t->dst[c.dst] || t->uses[c.dst] == 0)
            return llm_errorf(err, "copy %d: %d -> %d: bad, repeated or unheld destination", i,
                              c.src, c.dst);
        t->dst[c.dst] = 1;
        t->reads[c.src]++;
    }
    for (int id = 0; id < kv->n_blocks; id++)
        if (t->dst[id] && t->reads[id] > 0)
            return llm_errorf(err, "block %d is both copied from and copied into", id);
    return LLM_OK;
}

static int check_free_stack(const KvCache *kv, KvTally *t, LlmError *err) {
    if (kv->n_free < 0 || kv->n_free > kv->n_blocks)
        return llm_errorf(err, "free stack holds %d of %d blocks", kv->n_free, kv->n_blocks);
    for (int i = 0; i < kv->n_free; i++) {
        int32_t id = kv->free_ids[i];
        if (id < 0 || id >= kv->n_blocks || t->mark[id] != KV_MARK_NONE || kv->commit_ids[id] != 0)
            return llm_errorf(err, "free stack entry %d: block %d repeated, bad or committed", i, id);
        t->mark[id] = KV_MARK_FREE;
    }
    return LLM_OK;
}

/* The evictable list: linked both ways, committed blocks only, n_cached long. */
static int check_lru(const KvCache *kv, KvTally *t, LlmError *err) {
    int n = 0;
    int32_t prev = -1;
    for (int32_t id = kv->lru_head; id >= 0; prev = id, id = kv->lru_next[id]) {
        if (id >= kv->n_blocks || t->mark[id] != KV_MARK_NONE || kv->commit_ids[id] == 0 ||
            kv->lru_prev[id] != prev || ++n > kv->n_blocks)
            return llm_errorf(err, "evictable list: block %d repeated, bad, uncommitted or "
                              "mislinked", id);
        t->mark[id] = KV_MARK_CACHED;
    }
    if (prev != kv->lru_tail || n != kv->n_cached)
        return llm_errorf(err, "evictable list: %d blocks ending at %d, recorded %d ending at %d",
                          n, prev, kv->n_cached, kv->lru_tail);
    return LLM_OK;
}

/* Each block: counts as recomputed, and in exactly one state. */
static int check_blocks(const KvCache *kv, const KvTally *t, LlmError *err) {
    for (int id = 0; id < kv->n_blocks; id++) {
        if (t->uses[id] != kv->ref_counts[id] || t->reads[id] != kv->pins[id])
            return llm_errorf(err, "block %d: %d table uses, ref_count %d; %d copies read it, "
                              "pins %d", id, t->uses[id], kv->ref_counts[id], t->reads[id],
                              kv->pins[id]);
        int used = t->uses[id] > 0 || t->reads[id] > 0;
        if (used && t->mark[id] != KV_MARK_NONE)
            return llm_errorf(err, "block %d is in use and on the %s list", id,
                              t->mark[id] == KV_MARK_FREE ? "free" : "evictable");
        if (!used && t->mark[id] == KV_MARK_NONE)
            return llm_errorf(err, "block %d is lost (neither free, cached nor used)", id);
    }
    return LLM_OK;
}

/* One bucket: every entry committed, hashed to it, unique. */
static int check_bucket(const KvCache *kv, uint32_t b, uint8_t *seen, int *count, LlmError *err) {
    for (int32_t id = kv->buckets[b]; id >= 0; id = kv->bucket_next[id]) {
        if (id >= kv->n_blocks || seen[id] || kv->commit_ids[id] == 0 ||
            kv_bucket_of(kv, kv->hashes[id]) != b)
            return llm_errorf(err, "hash bucket %u: block %d repeated, bad or uncommitted", b, id);
        seen[id] = 1;
        (*count)++;
        if (kv->commit_ids[id] > kv->last_commit || kv->parent_commits[id] >= kv->commit_ids[id])
            return llm_errorf(err, "block %d: commit %llu after predecessor %llu, last %llu", id,
                              (unsigned long long)kv->commit_ids[id],
                              (unsigned long long)kv->parent_commits[id],
                              (unsigned long long)kv->last_commit);
        for (int32_t o = kv->bucket_next[id]; o >= 0 && o < kv->n_blocks; o = kv->bucket_next[o])
            if (kv->hashes[o] == kv->hashes[id] && kv->parent_commits[o] == kv->parent_commits[id] &&
                memcmp(kv_block_tokens(kv, o), kv_block_tokens(kv, id),
                       sizeof(int32_t) * (size_t)kv->shape.block_size) == 0)
                return llm_errorf(err, "blocks %d and %d are the same cached block", id, o);
    }
    return LLM_OK;
}

static int check_hash_table(const KvCache *kv, LlmError *err) {
    uint8_t *seen = llm_xcalloc((size_t)kv->n_blocks, 1);
    int count = 0, committed = 0, rc = LLM_OK;
    for (uint32_t b = 0; b <= kv->bucket_mask && rc == LLM_OK; b++)
        rc = check_bucket(kv, b, seen, &count, err);
    for (int id = 0; id < kv->n_blocks; id++) committed += kv->commit_ids[id] != 0;
    free(seen);
    if (rc == LLM_OK && count != committed)
        rc = llm_errorf(err, "hash table holds %d blocks, %d are committed", count, committed);
    return rc;
}

/* A row's committed blocks: each follows the entry before it, hash and
 * predecessor alike; the first n_committed are committed. */
static int check_chain(const KvCache *kv, int s, LlmError *err) {
    const KvSeq *q = &kv->seqs[s];
    for (int i = 0; i < q->n_blocks; i++) {
        int32_t id = q->block_table[i], prev = i > 0 ? q->block_table[i - 1] : -1;
        if (kv->commit_ids[id] == 0) {
            if (i < q->n_committed)
                return llm_errorf(err, "seq %d: block %d (entry %d) is not committed", s, id, i);
            continue;
        }
        uint64_t parent = prev >= 0 ? kv->commit_ids[prev] : 0;
        uint64_t seed = prev >= 0 ? kv->hashes[prev] : KV_HASH_ROOT;
        if ((prev >= 0 && parent == 0) || kv->parent_commits[id] != parent ||
            kv->hashes[id] != kv->hash_fn(kv_block_tokens(kv, id), kv->shape.block_size, seed))
            return llm_errorf(err, "seq %d: committed block %d (entry %d) does not follow "
                              "block %d", s, id, i, prev);
    }
    return LLM_OK;
}

int kv_cache_check(const KvCache *kv, LlmError *err) {
    size_t n = (size_t)kv->n_blocks;
    KvTally t = {llm_xcalloc(n, sizeof(int32_t)), llm_xcalloc(n, sizeof(int32_t)),
                 llm_xcalloc(n, 1), llm_xcalloc(n, 1)};
    int rc = LLM_OK;
    for (int s = 0; s < kv->max_seqs && rc == LLM_OK; s++) rc = check_row(kv, s, &t, err);
    if (rc == LLM_OK) rc = check_copies(kv, &t, err);
    if (rc == LLM_OK) rc = check_free_stack(kv, &t, err);
    if (rc == LLM_OK) rc = check_lru(kv, &t, err);
    if (rc == LLM_OK) rc = check_blocks(kv, &t, err);
    if (rc == LLM_OK) rc = check_hash_table(kv, err);
    for (int s = 0; s < kv->max_seqs && rc == LLM_OK; s++)
        if (kv->seqs[s].active) rc = check_chain(kv, s, err);
    free(t.uses);
    free(t.reads);
    free(t.mark);
    free(t.dst);
    return rc;
}
