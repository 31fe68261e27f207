/* test_kv_prefix.c - the KV block manager beyond plain allocation: prefix
 * cache hits and misses (with a hash that always collides), commit
 * de-duplication, eviction order, copy-on-write and its copy list,
 * truncation, statistics, and a randomized run of 100,000 operations per
 * hash function against a reference model (see test_random_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv/kv_cache.h"

enum { BS = 4 }; /* block size of every test pool */

static KvCacheShape test_shape(int max_blocks_per_seq) {
    KvCacheShape s = {.n_layers = 1, .n_kv_heads = 1, .head_dim = 1, .block_size = BS,
                      .max_blocks_per_seq = max_blocks_per_seq, .elem_bytes = 4};
    return s;
}

static void check_ok(const KvCache *kv) {
    LlmError err = {{0}};
    if (kv_cache_check(kv, &err) != LLM_OK) fail_msg("%s", err.msg);
}

static void init_kv(KvCache *kv, int n_blocks, int max_seqs) {
    KvCacheShape s = test_shape(12);
    LlmError err = {{0}};
    assert_int_equal(kv_cache_init(kv, &s, n_blocks, max_seqs, &err), LLM_OK);
}

/* Opens a sequence for ids [n] expecting cached tokens from the prefix
 * cache, reserves the prompt and commits its full blocks (as a caller does
 * after the prefill step). */
static int prefill(KvCache *kv, const int32_t *ids, int n, int cached) {
    int seq = -1, got = -1;
    assert_int_equal(kv_seq_open_prompt(kv, ids, n, &seq, &got), KV_OK);
    assert_int_equal(got, cached);
    assert_int_equal(kv_seq_reserve(kv, seq, n), KV_OK);
    kv_seq_commit(kv, seq, ids, n);
    check_ok(kv);
    return seq;
}

static uint64_t colliding_hash(const int32_t *tokens, int n, uint64_t parent) {
    (void)tokens;
    (void)n;
    (void)parent;
    return 42;
}

/* ---- prefix cache --------------------------------------------------------- */

static void test_prefix_hit_miss(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 16, 8);
    const int32_t p[13] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
    int a = -1, cached = -1;
    assert_int_equal(kv_seq_open_prompt(&kv, p, 10, &a, &cached), KV_OK);
    assert_int_equal(cached, 0);
    assert_int_equal(kv_seq_reserve(&kv, a, 10), KV_OK);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 10), 0); /* written, not committed */
    assert_int_equal(kv_seq_commit(&kv, a, p, 10), 2);
    assert_int_equal(kv_seq_commit(&kv, a, p, 10), 0); /* nothing new */
    check_ok(&kv);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 10), 8);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 9), 8);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 8), 4); /* the last token is recomputed */
    assert_int_equal(kv_cache_prefix_match(&kv, p, 5), 4);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 4), 0);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 1), 0);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 0), 0);
    const int32_t late[10] = {1, 2, 3, 4, 5, 6, 7, 99, 9, 10};
    const int32_t early[10] = {99, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(kv_cache_prefix_match(&kv, late, 10), 4);
    assert_int_equal(kv_cache_prefix_match(&kv, early, 10), 0);

    int b = prefill(&kv, p, 13, 8);
    const int32_t *ta = kv_seq_block_table(&kv, a), *tb = kv_seq_block_table(&kv, b);
    assert_int_equal(tb[0], ta[0]);
    assert_int_equal(tb[1], ta[1]);
    assert_int_not_equal(tb[2], ta[2]);
    assert_int_equal(kv.ref_counts[ta[0]], 2);
    assert_int_equal(kv.seqs[b].n_committed, 3);
    KvStats st = kv_cache_stats(&kv);
    assert_int_equal(st.prompt_tokens, 10 + 13);
    assert_int_equal(st.prefix_hit_tokens, 8);
    assert_int_equal(st.n_commits, 3);

    kv_seq_release(&kv, a);
    kv_seq_release(&kv, b);
    check_ok(&kv);
    st = kv_cache_stats(&kv);
    assert_int_equal(st.n_used, 0);
    assert_int_equal(st.n_cached, 3); /* the committed blocks stay cached */
    assert_int_equal(st.n_free, 13);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 13), 12);
    int c = prefill(&kv, p, 13, 12);
    st = kv_cache_stats(&kv);
    assert_int_equal(st.n_cached, 0);
    assert_int_equal(st.n_used, 4);
    assert_int_equal(st.prefix_hit_tokens, 8 + 12);
    kv_seq_release(&kv, c);
    kv_cache_free(&kv);
}

/* With every chain hash equal, only the stored tokens and predecessors
 * tell blocks apart: nothing may be shared wrongly. */
static void test_prefix_hash_collision(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 16, 8);
    kv.hash_fn = colliding_hash;
    const int32_t a_ids[9] = {1, 2, 3, 4, 5, 6, 7, 8, 0};
    int a = prefill(&kv, a_ids, 9, 0);
    const int32_t other_last[9] = {1, 2, 3, 4, 5, 6, 7, 9, 0};
    const int32_t other_first[9] = {9, 9, 9, 9, 5, 6, 7, 8, 0}; /* same second block */
    const int32_t shifted[5] = {5, 6, 7, 8, 0};                 /* a's block 1 at position 0 */
    assert_int_equal(kv_cache_prefix_match(&kv, a_ids, 9), 8);
    assert_int_equal(kv_cache_prefix_match(&kv, other_last, 9), 4);
    assert_int_equal(kv_cache_prefix_match(&kv, other_first, 9), 0);
    assert_int_equal(kv_cache_prefix_match(&kv, shifted, 5), 0);
    int b = prefill(&kv, other_first, 9, 0);
    const int32_t *ta = kv_seq_block_table(&kv, a), *tb = kv_seq_block_table(&kv, b);
    assert_int_not_equal(tb[1], ta[1]); /* equal tokens, other prefix: its own block */
    assert_int_equal(kv_cache_stats(&kv).n_commits, 4);
    assert_int_equal(kv_cache_prefix_match(&kv, other_first, 9), 8);
    assert_int_equal(kv_cache_prefix_match(&kv, a_ids, 9), 8);
    int c = prefill(&kv, shifted, 5, 0);
    assert_int_equal(kv_cache_stats(&kv).n_commits, 5);
    kv_seq_release(&kv, a);
    kv_seq_release(&kv, b);
    kv_seq_release(&kv, c);
    check_ok(&kv);
    assert_int_equal(kv_cache_prefix_match(&kv, a_ids, 9), 8);
    assert_int_equal(kv_cache_prefix_match(&kv, shifted, 5), 4);
    kv_cache_free(&kv);
}

static void test_hash_chain(void **state) {
    (void)state;
    const int32_t t[4] = {1, 2, 3, 4};
    const int32_t u[4] = {1, 2, 3, 5};
    uint64_t h = kv_hash_block(t, 4, KV_HASH_ROOT);
    assert_true(h == kv_hash_block(t, 4, KV_HASH_ROOT));
    assert_true(h != kv_hash_block(u, 4, KV_HASH_ROOT));
    assert_true(kv_hash_block(t, 4, h) != h); /* the same tokens after a prefix */
    assert_true(kv_hash_block(t, 4, h) != kv_hash_block(t, 4, h + 1));
}

/* Two sequences prefill the same prompt at once: the second commit keeps
 * the first one's blocks and frees its own. */
static void test_commit_dedup(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 16, 8);
    const int32_t p[9] = {7, 7, 7, 7, 8, 8, 8, 8, 9};
    int a = -1, b = -1, c = -1, got = -1;
    assert_int_equal(kv_seq_open_prompt(&kv, p, 9, &a, &got), KV_OK);
    assert_int_equal(kv_seq_open_prompt(&kv, p, 9, &b, &got), KV_OK);
    assert_int_equal(kv_seq_open_prompt(&kv, p, 9, &c, &got), KV_OK);
    assert_int_equal(got, 0);
    for (int s = 0; s < 3; s++) assert_int_equal(kv_seq_reserve(&kv, s, 9), KV_OK);
    assert_int_equal(kv.n_free, 16 - 9);
    assert_int_equal(kv_seq_commit(&kv, a, p, 9), 2);
    int32_t c_old = kv_seq_block_table(&kv, c)[0];
    assert_int_equal(kv_seq_commit(&kv, b, p, 9), 2);
    check_ok(&kv);
    assert_int_equal(kv.n_free, 16 - 7);
    assert_int_equal(kv_seq_block_table(&kv, b)[0], kv_seq_block_table(&kv, a)[0]);
    assert_int_equal(kv_seq_block_table(&kv, b)[1], kv_seq_block_table(&kv, a)[1]);
    assert_int_equal(kv.ref_counts[kv_seq_block_table(&kv, a)[1]], 2);
    /* the block to keep may be cached (unreferenced) by then */
    kv_seq_release(&kv, a);
    kv_seq_release(&kv, b);
    assert_int_equal(kv.n_cached, 2);
    assert_int_equal(kv_seq_commit(&kv, c, p, 9), 2);
    check_ok(&kv);
    assert_int_equal(kv.n_cached, 0);
    assert_int_not_equal(kv_seq_block_table(&kv, c)[0], c_old);
    assert_int_equal(kv_cache_stats(&kv).n_commits, 2);
    kv_cache_free(&kv);
}

/* ---- eviction ------------------------------------------------------------- */

static void test_eviction_order(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 6, 4);
    const int32_t pa[9] = {1, 2, 3, 4, 5, 6, 7, 8, 100};
    const int32_t pb[9] = {11, 12, 13, 14, 15, 16, 17, 18, 100};
    int a = prefill(&kv, pa, 9, 0), b = prefill(&kv, pb, 9, 0);
    int32_t a0 = kv_seq_block_table(&kv, a)[0], a1 = kv_seq_block_table(&kv, a)[1];
    int32_t b0 = kv_seq_block_table(&kv, b)[0], b1 = kv_seq_block_table(&kv, b)[1];
    assert_int_equal(kv.n_free, 0);
    kv_seq_release(&kv, a); /* tail first: a1 is evicted before a0 */
    kv_seq_release(&kv, b);
    assert_int_equal(kv.n_free, 2); /* the partly filled third blocks */
    assert_int_equal(kv.lru_head, a1);
    assert_int_equal(kv.lru_next[a1], a0);
    assert_int_equal(kv.lru_next[a0], b1);
    assert_int_equal(kv.lru_next[b1], b0);
    assert_int_equal(kv.lru_tail, b0);
    /* a hit takes a0, a1 off the list; freed again they are the newest */
    int again = prefill(&kv, pa, 9, 8);
    kv_seq_release(&kv, again);
    assert_int_equal(kv.lru_head, b1);
    assert_int_equal(kv.lru_tail, a0);

    int c = -1;
    assert_int_equal(kv_seq_open(&kv, &c), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, c, 12), KV_OK); /* 2 free + evicts b1 */
    assert_int_equal(kv_cache_stats(&kv).n_evictions, 1);
    assert_int_equal(kv_cache_prefix_match(&kv, pb, 9), 4);
    assert_int_equal(kv_cache_prefix_match(&kv, pa, 9), 8);
    assert_int_equal(kv_seq_reserve(&kv, c, 16), KV_OK); /* evicts b0 */
    assert_int_equal(kv_cache_prefix_match(&kv, pb, 9), 0);
    assert_int_equal(kv_seq_reserve(&kv, c, 20), KV_OK); /* evicts a1 */
    assert_int_equal(kv_cache_prefix_match(&kv, pa, 9), 4);
    assert_int_equal(kv_seq_reserve(&kv, c, 24), KV_OK); /* evicts a0 */
    assert_int_equal(kv_cache_prefix_match(&kv, pa, 9), 0);
    assert_int_equal(kv_seq_reserve(&kv, c, 25), KV_OUT_OF_BLOCKS);
    KvStats st = kv_cache_stats(&kv);
    assert_int_equal(st.n_evictions, 4);
    assert_int_equal(st.n_used, 6);
    assert_int_equal(st.peak_used, 6);
    check_ok(&kv);
    kv_cache_free(&kv);
}

/* ---- copy-on-write ---------------------------------------------------------- */

static void expect_copies(const KvCache *kv, const KvCopy *want, int n) {
    const KvCopy *got = NULL;
    assert_int_equal(kv_cache_pending_copies(kv, &got), n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(got[i].src, want[i].src);
        assert_int_equal(got[i].dst, want[i].dst);
    }
}

static void test_cow_fork(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 16, 8);
    int a = -1, b = -1, c = -1, d = -1, e = -1;
    assert_int_equal(kv_seq_open(&kv, &a), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, a, 6), KV_OK); /* x0 full, x1 holds 2 tokens */
    int32_t x0 = kv_seq_block_table(&kv, a)[0], x1 = kv_seq_block_table(&kv, a)[1];
    assert_int_equal(kv_seq_fork(&kv, a, &b), KV_OK);
    assert_int_equal(kv.ref_counts[x0], 2);
    assert_int_equal(kv.ref_counts[x1], 2);
    assert_int_equal(kv.seqs[b].n_tokens, 6);
    check_ok(&kv);
    assert_int_equal(kv_seq_reserve(&kv, b, 7), KV_OK); /* b writes into x1: copy */
    int32_t y = kv_seq_block_table(&kv, b)[1];
    assert_int_not_equal(y, x1);
    assert_int_equal(kv_seq_block_table(&kv, b)[0], x0);
    assert_int_equal(kv_seq_block_table(&kv, a)[1], x1);
    expect_copies(&kv, (KvCopy[]){{x1, y}}, 1);
    assert_int_equal(kv.pins[x1], 1);
    check_ok(&kv);
    assert_int_equal(kv_seq_reserve(&kv, a, 7), KV_OK); /* x1 is a's alone now: no copy */
    expect_copies(&kv, (KvCopy[]){{x1, y}}, 1);
    /* c shares y before y's copy ran: c's copy reads x1 instead */
    assert_int_equal(kv_seq_fork(&kv, b, &c), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, c, 8), KV_OK);
    int32_t z = kv_seq_block_table(&kv, c)[1];
    expect_copies(&kv, (KvCopy[]){{x1, y}, {x1, z}}, 2);
    assert_int_equal(kv_seq_fork(&kv, a, &d), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, d, 8), KV_OK);
    int32_t w = kv_seq_block_table(&kv, d)[1];
    expect_copies(&kv, (KvCopy[]){{x1, y}, {x1, z}, {x1, w}}, 3);
    assert_int_equal(kv.pins[x1], 3);
    check_ok(&kv);
    kv_seq_release(&kv, c); /* z is freed: its copy is dropped */
    expect_copies(&kv, (KvCopy[]){{x1, y}, {x1, w}}, 2);
    assert_int_equal(kv.pins[x1], 2);
    check_ok(&kv);
    kv_cache_copies_done(&kv);
    expect_copies(&kv, NULL, 0);
    assert_int_equal(kv.pins[x1], 0);
    check_ok(&kv);
    /* a fork of a sequence that ends on a block boundary writes a new block */
    assert_int_equal(kv_seq_reserve(&kv, a, 8), KV_OK);
    assert_int_equal(kv_seq_fork(&kv, a, &e), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, e, 9), KV_OK);
    expect_copies(&kv, NULL, 0);
    assert_int_equal(kv_seq_block_table(&kv, e)[1], x1);
    assert_int_equal(kv_cache_stats(&kv).n_copies, 3);
    check_ok(&kv);
    kv_cache_free(&kv);
}

/* A source whose last holder leaves stays pinned until the copy ran. */
static void test_cow_pinned_source(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 4, 4);
    int a = -1, b = -1;
    assert_int_equal(kv_seq_open(&kv, &a), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, a, 2), KV_OK);
    int32_t x = kv_seq_block_table(&kv, a)[0];
    assert_int_equal(kv_seq_fork(&kv, a, &b), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, b, 3), KV_OK);
    kv_seq_release(&kv, a);
    assert_int_equal(kv.ref_counts[x], 0);
    assert_int_equal(kv.pins[x], 1);
    assert_int_equal(kv.n_free, 2); /* x is not free yet */
    check_ok(&kv);
    kv_cache_copies_done(&kv);
    assert_int_equal(kv.n_free, 3);
    check_ok(&kv);
    kv_cache_free(&kv);
}

static void test_cow_out_of_blocks(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 3, 4);
    int a = -1, b = -1, c = -1;
    assert_int_equal(kv_seq_open(&kv, &a), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, a, 6), KV_OK);
    assert_int_equal(kv_seq_fork(&kv, a, &b), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, b, 7), KV_OK); /* the copy takes the last block */
    assert_int_equal(kv_seq_fork(&kv, a, &c), KV_OK);
    int32_t before[12];
    memcpy(before, kv_seq_block_table(&kv, c), sizeof before);
    assert_int_equal(kv_seq_reserve(&kv, c, 7), KV_OUT_OF_BLOCKS);
    assert_memory_equal(before, kv_seq_block_table(&kv, c), sizeof before);
    assert_int_equal(kv.seqs[c].n_tokens, 6);
    expect_copies(&kv, (KvCopy[]){{before[1], kv_seq_block_table(&kv, b)[1]}}, 1);
    check_ok(&kv);
    kv_cache_free(&kv);
}

/* ---- truncation ---------------------------------------------------------------- */

static void test_truncate(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 16, 4);
    const int32_t p[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    int a = prefill(&kv, p, 10, 0);
    int32_t x1 = kv_seq_block_table(&kv, a)[1];
    kv_seq_truncate(&kv, a, 9);
    assert_int_equal(kv.seqs[a].n_blocks, 3);
    assert_int_equal(kv.seqs[a].n_committed, 2);
    kv_seq_truncate(&kv, a, 6);
    assert_int_equal(kv.seqs[a].n_blocks, 2);
    assert_int_equal(kv.seqs[a].n_committed, 1);
    assert_int_equal(kv.n_free, 14);
    check_ok(&kv);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 10), 8); /* x1 is still intact */
    /* another sequence shares x1; a's rewrite must copy */
    int b = -1, got = -1;
    assert_int_equal(kv_seq_open_prompt(&kv, p, 10, &b, &got), KV_OK);
    assert_int_equal(got, 8);
    assert_int_equal(kv_seq_reserve(&kv, a, 7), KV_OK);
    assert_int_not_equal(kv_seq_block_table(&kv, a)[1], x1);
    expect_copies(&kv, (KvCopy[]){{x1, kv_seq_block_table(&kv, a)[1]}}, 1);
    kv_cache_copies_done(&kv);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 10), 8);
    check_ok(&kv);
    /* alone with its committed block, b rewrites it in place: it leaves the cache */
    kv_seq_release(&kv, a);
    kv_seq_truncate(&kv, b, 5);
    assert_int_equal(kv_seq_reserve(&kv, b, 6), KV_OK);
    expect_copies(&kv, NULL, 0);
    assert_int_equal(kv_seq_block_table(&kv, b)[1], x1);
    assert_int_equal(kv_cache_prefix_match(&kv, p, 10), 4);
    check_ok(&kv);
    kv_seq_truncate(&kv, b, 4); /* a block boundary: the next write takes a new block */
    assert_int_equal(kv.seqs[b].n_blocks, 1);
    kv_seq_truncate(&kv, b, 0);
    assert_int_equal(kv.seqs[b].n_blocks, 0);
    assert_true(kv.seqs[b].active);
    check_ok(&kv);
    kv_cache_free(&kv);
}

static void test_stats_peak(void **state) {
    (void)state;
    KvCache kv;
    init_kv(&kv, 8, 4);
    int a = -1, b = -1;
    assert_int_equal(kv_seq_open(&kv, &a), KV_OK);
    assert_int_equal(kv_seq_open(&kv, &b), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, a, 12), KV_OK);
    assert_int_equal(kv_seq_reserve(&kv, b, 5), KV_OK);
    kv_seq_release(&kv, a);
    KvStats st = kv_cache_stats(&kv);
    assert_int_equal(st.n_blocks, 8);
    assert_int_equal(st.n_used, 2);
    assert_int_equal(st.n_free, 6);
    assert_int_equal(st.n_cached, 0);
    assert_int_equal(st.peak_used, 5);
    assert_int_equal(st.n_evictions, 0);
    kv_cache_free(&kv);
}

/* ---- randomized run against a reference model ------------------------------- */

enum {
    R_SEQS = 8,
    R_MAXB = 12,             /* blocks per sequence */
    R_CTX = R_MAXB * BS,     /* 48 positions */
    R_BLOCKS = 28,           /* fewer than R_SEQS * R_MAXB: the pool runs out */
    R_VOCAB = 11,            /* small: equal blocks recur in other chains */
    R_GARBAGE = -7,          /* what a free block's slots hold */
    R_OPS = 100000
};

/* What a sequence should be, kept by the test alone. */
typedef struct RefSeq {
    int active;
    int n_tokens;        /* reserved length */
    int n_written;       /* positions the simulated store holds, <= n_tokens */
    int n_committed;     /* blocks committed */
    int32_t plan[R_CTX]; /* the token at every position (future ones too) */
} RefSeq;

typedef struct Sim {
    KvCache kv;
    RefSeq seqs[R_SEQS];
    int32_t store[R_BLOCKS][BS]; /* the engine's K/V, simulated: a token per slot */
    uint64_t rng;
    int focus; /* the sequence operated on last (a new child after a fork) */
    long hits, copies, redirects, dedups, out_of_blocks, too_long, forks;
} Sim;

static uint32_t rnd(Sim *m, uint32_t n) {
    m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((m->rng >> 33) % n);
}

static void make_plan(Sim *m, int32_t *plan) {
    int f = (int)rnd(m, 4);
    for (int p = 0; p < R_CTX; p++) plan[p] = (int32_t)((f * 7 + p * 3 + p / 5) % R_VOCAB);
    if (rnd(m, 2)) plan[rnd(m, R_CTX)] = (int32_t)rnd(m, R_VOCAB);
}

/* Changes the plan somewhere at or after position from (a new continuation). */
static void diverge(Sim *m, int32_t *plan, int from) {
    if (from < R_CTX) plan[from + (int)rnd(m, (uint32_t)(R_CTX - from))] = (int32_t)rnd(m, R_VOCAB);
}

static int table_uses(const KvCache *kv, int32_t id) {
    int n = 0;
    for (int s = 0; s < kv->max_seqs; s++)
        for (int i = 0; kv->seqs[s].active && i < kv->seqs[s].n_blocks; i++)
            n += kv->seqs[s].block_table[i] == id;
    return n;
}

/* Blocks held by a table or read by a pending copy. */
static int held_blocks(const KvCache *kv) {
    int held[R_BLOCKS] = {0}, n = 0;
    for (int s = 0; s < kv->max_seqs; s++)
        for (int i = 0; kv->seqs[s].active && i < kv->seqs[s].n_blocks; i++)
            held[kv->seqs[s].block_table[i]] = 1;
    for (int i = 0; i < kv->n_copies; i++) held[kv->copies[i].src] = 1;
    for (int i = 0; i < R_BLOCKS; i++) n += held[i];
    return n;
}

/* The token in slot j of block id as the next step will see it: a block
 * still waiting for its copy reads as the copy's source. */
static int32_t stored(const Sim *m, int32_t id, int j) {
    for (int i = 0; i < m->kv.n_copies; i++)
        if (m->kv.copies[i].dst == id) return m->store[m->kv.copies[i].src][j];
    return m->store[id][j];
}

/* The reference's view must match the manager's, and every written
 * position must read back its token through the block table. */
static void check_content(const Sim *m) {
    for (int s = 0; s < R_SEQS; s++) {
        const RefSeq *r = &m->seqs[s];
        const KvSeq *q = &m->kv.seqs[s];
        assert_int_equal(q->active, r->active);
        if (!r->active) continue;
        assert_int_equal(q->n_tokens, r->n_tokens);
        assert_int_equal(q->n_committed, r->n_committed);
        for (int p = 0; p < r->n_written; p++)
            if (stored(m, q->block_table[p / BS], p % BS) != r->plan[p])
                fail_msg("seq %d position %d: %d, want %d", s, p,
                         stored(m, q->block_table[p / BS], p % BS), r->plan[p]);
    }
}

/* Full blocks of prompt that the cache must hold: those committed by a
 * sequence alive now (its blocks cannot have been evicted). */
static int must_hit(const Sim *m, const int32_t *prompt, int n_prompt) {
    int cap = n_prompt > 0 ? (n_prompt - 1) / BS : 0, best = 0;
    for (int s = 0; s < R_SEQS; s++) {
        const RefSeq *r = &m->seqs[s];
        int n = 0;
        while (r->active && n < r->n_committed && n < cap &&
               memcmp(r->plan + n * BS, prompt + n * BS, sizeof(int32_t) * BS) == 0)
            n++;
        if (n > best) best = n;
    }
    return best * BS;
}

static int free_slots(const Sim *m) {
    int n = 0;
    for (int s = 0; s < R_SEQS; s++) n += !m->seqs[s].active;
    return n;
}

/* Lookup, and with open != 0 opening a sequence with the prompt. */
static void op_open(Sim *m, int open) {
    int32_t plan[R_CTX];
    make_plan(m, plan);
    int n_prompt = 1 + (int)rnd(m, R_CTX);
    int match = kv_cache_prefix_match(&m->kv, plan, n_prompt);
    assert_int_equal(match % BS, 0);
    assert_true(match <= (n_prompt - 1) / BS * BS);
    assert_true(match >= must_hit(m, plan, n_prompt));
    if (!open) return;
    int seq = -1, cached = -1;
    KvStatus st = kv_seq_open_prompt(&m->kv, plan, n_prompt, &seq, &cached);
    if (free_slots(m) == 0) {
        assert_int_equal(st, KV_OUT_OF_BLOCKS);
        return;
    }
    assert_int_equal(st, KV_OK);
    assert_int_equal(cached, match);
    RefSeq *r = &m->seqs[seq];
    assert_false(r->active);
    r->active = 1;
    r->n_tokens = r->n_written = cached;
    r->n_committed = cached / BS;
    memcpy(r->plan, plan, sizeof plan);
    m->hits += cached > 0;
}

static KvStatus expected_reserve(const Sim *m, const RefSeq *r, const int32_t *table, int want) {
    if (want > R_CTX) return KV_SEQ_TOO_LONG;
    if (want <= r->n_tokens) return KV_OK;
    int need = (want + BS - 1) / BS - (r->n_tokens + BS - 1) / BS;
    int copy = r->n_tokens % BS != 0 && table_uses(&m->kv, table[r->n_tokens / BS]) > 1;
    return need + copy > R_BLOCKS - held_blocks(&m->kv) ? KV_OUT_OF_BLOCKS : KV_OK;
}

static void op_reserve(Sim *m, int s) {
    RefSeq *r = &m->seqs[s];
    int want = r->n_tokens + (int)rnd(m, 7);
    if (rnd(m, 20) == 0) want = R_CTX + 1;
    int32_t before[R_MAXB];
    memcpy(before, kv_seq_block_table(&m->kv, s), sizeof before);
    int n_copies = m->kv.n_copies;
    KvStatus expect = expected_reserve(m, r, before, want);
    KvStatus st = kv_seq_reserve(&m->kv, s, want);
    assert_int_equal(st, expect);
    if (st != KV_OK) {
        assert_memory_equal(before, kv_seq_block_table(&m->kv, s), sizeof before);
        assert_int_equal(m->kv.n_copies, n_copies);
        m->out_of_blocks += st == KV_OUT_OF_BLOCKS;
        m->too_long += st == KV_SEQ_TOO_LONG;
        return;
    }
    if (m->kv.n_copies > n_copies) {
        m->copies++;
        m->redirects += m->kv.copies[m->kv.n_copies - 1].src != before[r->n_tokens / BS];
    }
    if (want > r->n_tokens) r->n_tokens = want;
}

/* The engine's step: pending copies (in reverse order: they must not
 * depend on each other), then every sequence's reserved positions. A
 * written block must belong to its sequence alone. */
static void op_step(Sim *m) {
    const KvCopy *c = NULL;
    for (int i = kv_cache_pending_copies(&m->kv, &c) - 1; i >= 0; i--)
        memcpy(m->store[c[i].dst], m->store[c[i].src], sizeof m->store[0]);
    kv_cache_copies_done(&m->kv);
    for (int i = 0; i < m->kv.n_free; i++)
        for (int j = 0; j < BS; j++) m->store[m->kv.free_ids[i]][j] = R_GARBAGE;
    for (int s = 0; s < R_SEQS; s++) {
        RefSeq *r = &m->seqs[s];
        for (; r->active && r->n_written < r->n_tokens; r->n_written++) {
            int32_t id = m->kv.seqs[s].block_table[r->n_written / BS];
            assert_int_equal(table_uses(&m->kv, id), 1);
            m->store[id][r->n_written % BS] = r->plan[r->n_written];
        }
    }
}

static void op_commit(Sim *m, int s) {
    RefSeq *r = &m->seqs[s];
    int32_t before[R_MAXB];
    memcpy(before, kv_seq_block_table(&m->kv, s), sizeof before);
    int full = r->n_written / BS;
    int done = kv_seq_commit(&m->kv, s, r->plan, r->n_written);
    assert_int_equal(done, full > r->n_committed ? full - r->n_committed : 0);
    if (full > r->n_committed) r->n_committed = full;
    m->dedups += memcmp(before, kv_seq_block_table(&m->kv, s), sizeof before) != 0;
}

static void op_fork(Sim *m, int s) {
    RefSeq *r = &m->seqs[s];
    if (r->n_written != r->n_tokens && rnd(m, 2)) { /* drop the unwritten reservation */
        kv_seq_truncate(&m->kv, s, r->n_written);
        r->n_tokens = r->n_written;
    }
    if (r->n_written != r->n_tokens) return; /* a step never writes a shared block */
    int child = -1;
    KvStatus st = kv_seq_fork(&m->kv, s, &child);
    if (free_slots(m) == 0) {
        assert_int_equal(st, KV_OUT_OF_BLOCKS);
        return;
    }
    assert_int_equal(st, KV_OK);
    assert_false(m->seqs[child].active);
    m->seqs[child] = *r;
    if (rnd(m, 2)) diverge(m, m->seqs[child].plan, r->n_tokens);
    m->forks++;
    m->focus = child;
}

static void op_truncate(Sim *m, int s) {
    RefSeq *r = &m->seqs[s];
    int n = (int)rnd(m, (uint32_t)r->n_tokens + 1);
    kv_seq_truncate(&m->kv, s, n);
    r->n_tokens = n;
    if (r->n_written > n) r->n_written = n;
    if (r->n_committed > n / BS) r->n_committed = n / BS;
    if (rnd(m, 2)) diverge(m, r->plan, n);
}

static void run_random(KvHashFn hash, uint64_t seed) {
    Sim *m = calloc(1, sizeof *m);
    assert_non_null(m);
    KvCacheShape shape = test_shape(R_MAXB);
    LlmError err = {{0}};
    assert_int_equal(kv_cache_init(&m->kv, &shape, R_BLOCKS, R_SEQS, &err), LLM_OK);
    m->kv.hash_fn = hash;
    m->rng = seed;
    for (int i = 0; i < R_OPS; i++) {
        int s = rnd(m, 2) ? m->focus : (int)rnd(m, R_SEQS), op = (int)rnd(m, 100);
        m->focus = s;
        if (op < 15) op_open(m, op >= 5);
        else if (!m->seqs[s].active) op_open(m, 0); /* slots stay free for forks */
        else if (op < 45) op_reserve(m, s);
        else if (op < 56) op_step(m);
        else if (op < 68) op_commit(m, s);
        else if (op < 77) op_fork(m, s);
        else if (op < 88) op_truncate(m, s);
        else {
            kv_seq_release(&m->kv, s);
            m->seqs[s].active = 0;
        }
        check_ok(&m->kv);
        check_content(m);
    }
    KvStats st = kv_cache_stats(&m->kv);
    print_message("hits %ld, copies %ld (redirected %ld), de-duplicated commits %ld, evictions "
                  "%lld, out of blocks %ld, too long %ld, forks %ld, peak %d/%d\n", m->hits,
                  m->copies, m->redirects, m->dedups, st.n_evictions, m->out_of_blocks,
                  m->too_long, m->forks, st.peak_used, R_BLOCKS);
    assert_true(m->hits > 0 && m->copies > 0 && m->redirects > 0 && m->dedups > 0);
    assert_true(st.n_evictions > 0);
    assert_true(m->out_of_blocks > 0 && m->too_long > 0 && m->forks > 0);
    for (int s = 0; s < R_SEQS; s++)
        if (m->seqs[s].active) kv_seq_release(&m->kv, s);
    kv_cache_copies_done(&m->kv);
    check_ok(&m->kv);
    st = kv_cache_stats(&m->kv);
    assert_int_equal(st.n_used, 0);
    assert_int_equal(st.n_free + st.n_cached, R_BLOCKS);
    kv_cache_free(&m->kv);
    free(m);
}

/* Collides often, including along chains: only verification keeps it right. */
static uint64_t weak_hash(const int32_t *tokens, int n, uint64_t parent) {
    (void)n;
    return (parent + (uint64_t)tokens[0]) % 3;
}

static void test_random_xxh3(void **state) {
    (void)state;
    run_random(kv_hash_block, 12345);
}

static void test_random_weak_hash(void **state) {
    (void)state;
    run_random(weak_hash, 777);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_hit_miss),
        cmocka_unit_test(test_prefix_hash_collision),
        cmocka_unit_test(test_hash_chain),
        cmocka_unit_test(test_commit_dedup),
        cmocka_unit_test(test_eviction_order),
        cmocka_unit_test(test_cow_fork),
        cmocka_unit_test(test_cow_pinned_source),
        cmocka_unit_test(test_cow_out_of_blocks),
        cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_stats_peak),
        cmocka_unit_test(test_random_xxh3),
        cmocka_unit_test(test_random_weak_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
