/* kv_prefix.c - the prefix cache of the KV block manager: chain hashes,
 * the hash table of committed blocks, commit and lookup.
 *
 * The table is chained through the blocks themselves (buckets[] heads,
 * bucket_next[] links), so it needs no allocation after init. A lookup
 * walks a prompt block by block: block i matches a committed block with the
 * same chain hash, the same token ids and, as predecessor, the commit id of
 * the block matched for i - 1. Commit ids are never reused, so a chain that
 * lost a block (evicted, or rewritten after a truncation) can no longer be
 * reached past it: its later blocks stay cached until evicted, unreachable.
 */
#include <string.h>

#include <xxhash.h>

#include "kv/kv_cache.h"
#include "kv/kv_internal.h"

uint64_t kv_hash_block(const int32_t *tokens, int n_tokens, uint64_t parent_hash) {
    return XXH3_64bits_withSeed(tokens, sizeof(int32_t) * (size_t)n_tokens, parent_hash);
}

const int32_t *kv_block_tokens(const KvCache *kv, int32_t id) {
    return kv->block_tokens + (size_t)id * (size_t)kv->shape.block_size;
}

uint32_t kv_bucket_of(const KvCache *kv, uint64_t hash) {
    return (uint32_t)(hash & kv->bucket_mask);
}

static int same_tokens(const KvCache *kv, int32_t id, const int32_t *tokens) {
    size_t bytes = sizeof(int32_t) * (size_t)kv->shape.block_size;
    return memcmp(kv_block_tokens(kv, id), tokens, bytes) == 0;
}

int32_t kv_prefix_find(const KvCache *kv, uint64_t hash, uint64_t parent_commit,
                       const int32_t *tokens) {
    for (int32_t id = kv->buckets[kv_bucket_of(kv, hash)]; id >= 0; id = kv->bucket_next[id])
        if (kv->hashes[id] == hash && kv->parent_commits[id] == parent_commit &&
            same_tokens(kv, id, tokens))
            return id;
    return -1;
}

static void prefix_insert(KvCache *kv, int32_t id, uint64_t hash, uint64_t parent_commit,
                          const int32_t *tokens) {
    kv->hashes[id] = hash;
    kv->parent_commits[id] = parent_commit;
    kv->commit_ids[id] = ++kv->last_commit;
    memcpy(kv->block_tokens + (size_t)id * (size_t)kv->shape.block_size, tokens,
           sizeof(int32_t) * (size_t)kv->shape.block_size);
    uint32_t b = kv_bucket_of(kv, hash);
    kv->bucket_next[id] = kv->buckets[b];
    kv->buckets[b] = id;
    kv->stats.n_commits++;
}

void kv_prefix_remove(KvCache *kv, int32_t id) {
    LLM_ASSERT(kv->commit_ids[id] != 0);
    int32_t *link = &kv->buckets[kv_bucket_of(kv, kv->hashes[id])];
    while (*link != id) {
        LLM_ASSERT(*link >= 0);
        link = &kv->bucket_next[*link];
    }
    *link = kv->bucket_next[id];
    kv->bucket_next[id] = -1;
    kv->commit_ids[id] = 0;
    kv->parent_commits[id] = 0;
    kv->hashes[id] = 0;
}

/* Prompt blocks a lookup may share: never the block holding the last
 * prompt token, never more than a table row. */
static int prefix_cap(const KvCache *kv, int n_prompt) {
    if (n_prompt < 0) LLM_BUG("negative prompt length %d", n_prompt);
    int n = n_prompt > 0 ? (n_prompt - 1) / kv->shape.block_size : 0;
    return n < kv->shape.max_blocks_per_seq ? n : kv->shape.max_blocks_per_seq;
}

/* Matches prompt's first max_blocks full blocks against the cache; stores
 * the matching block ids in found (when non-NULL); returns how many. */
static int prefix_walk(const KvCache *kv, const int32_t *prompt, int max_blocks, int32_t *found) {
    int bs = kv->shape.block_size;
    uint64_t hash = KV_HASH_ROOT, parent = 0;
    for (int i = 0; i < max_blocks; i++) {
        const int32_t *t = prompt + (size_t)i * (size_t)bs;
        hash = kv->hash_fn(t, bs, hash);
        int32_t id = kv_prefix_find(kv, hash, parent, t);
        if (id < 0) return i;
        if (found != NULL) found[i] = id;
        parent = kv->commit_ids[id];
    }
    return max_blocks;
}

int kv_cache_prefix_match(const KvCache *kv, const int32_t *prompt, int n_prompt) {
    return prefix_walk(kv, prompt, prefix_cap(kv, n_prompt), NULL) * kv->shape.block_size;
}

KvStatus kv_seq_open_prompt(KvCache *kv, const int32_t *prompt, int n_prompt, int *seq,
                            int *n_cached) {
    int cap = prefix_cap(kv, n_prompt);
    int s;
    if (kv_seq_open(kv, &s) != KV_OK) return KV_OUT_OF_BLOCKS;
    KvSeq *q = &kv->seqs[s];
    int hits = prefix_walk(kv, prompt, cap, q->block_table);
    for (int i = 0; i < hits; i++) kv_block_ref(kv, q->block_table[i]);
    q->n_blocks = q->n_committed = hits;
    q->n_tokens = hits * kv->shape.block_size;
    kv->stats.prompt_tokens += n_prompt;
    kv->stats.prefix_hit_tokens += q->n_tokens;
    *seq = s;
    *n_cached = q->n_tokens;
    return KV_OK;
}

/* Puts same where old is at table entry i, in every table: all of them
 * share the blocks before it (a block sits at one entry in every table that
 * holds it, after the same predecessors), so no table is left holding a
 * committed successor of a block that is not its predecessor. */
static void replace_everywhere(KvCache *kv, int i, int32_t old, int32_t same) {
    for (int s = 0; s < kv->max_seqs; s++) {
        KvSeq *o = &kv->seqs[s];
        if (!o->active || i >= o->n_blocks || o->block_table[i] != old) continue;
        kv_block_ref(kv, same);
        o->block_table[i] = same;
        kv_block_unref(kv, old);
    }
}

/* Commits table entry i of q, whose tokens are t [block_size]; the entries
 * before it are committed. */
static void commit_block(KvCache *kv, KvSeq *q, int i, const int32_t *t) {
    int32_t id = q->block_table[i];
    int32_t prev = i > 0 ? q->block_table[i - 1] : -1;
    uint64_t parent = prev >= 0 ? kv->commit_ids[prev] : 0;
    LLM_ASSERT(prev < 0 || parent != 0);
    if (kv->commit_ids[id] != 0) { /* a sharer committed it already */
        if (kv->parent_commits[id] != parent || !same_tokens(kv, id, t))
            LLM_BUG("KV block %d is committed with other tokens than the sequence's", id);
        return;
    }
    uint64_t hash = kv->hash_fn(t, kv->shape.block_size, prev >= 0 ? kv->hashes[prev] : KV_HASH_ROOT);
    int32_t same = kv_prefix_find(kv, hash, parent, t);
    if (same >= 0) { /* computed twice (two prompts prefilled at once): keep the cached one */
        replace_everywhere(kv, i, id, same);
        return;
    }
    prefix_insert(kv, id, hash, parent, t);
}

int kv_seq_commit(KvCache *kv, int seq, const int32_t *tokens, int n_tokens) {
    KvSeq *q = kv_seq_get(kv, seq);
    if (n_tokens < 0 || n_tokens > q->n_tokens)
        LLM_BUG("KV sequence %d holds %d tokens, cannot commit %d", seq, q->n_tokens, n_tokens);
    int bs = kv->shape.block_size;
    int full = n_tokens / bs, done = 0;
    for (; q->n_committed < full; q->n_committed++, done++)
        commit_block(kv, q, q->n_committed, tokens + (size_t)q->n_committed * (size_t)bs);
    return done;
}
