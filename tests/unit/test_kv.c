/* test_kv.c - paged KV pool: sizing, reserve/release, out-of-blocks status,
 * and a random alloc/free run that checks the invariants after every step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv/kv_cache.h"

static KvCacheShape test_shape(void) {
    KvCacheShape s = {.n_layers = 2, .n_kv_heads = 2, .head_dim = 4, .block_size = 4,
                      .max_blocks_per_seq = 8, .elem_bytes = 4};
    return s;
}

static void check_ok(const KvCache *kv) {
    LlmError err = {{0}};
    if (kv_cache_check(kv, &err) != LLM_OK) fail_msg("%s", err.msg);
}

static void test_sizing(void **state) {
    (void)state;
    KvCacheShape s = test_shape();
    size_t per = kv_cache_block_bytes(&s);
    assert_int_equal(per, 2u * 2 * 4 * 2 * 4 * 4);
    int n = 0;
    LlmError err = {{0}};
    assert_int_equal(kv_cache_blocks_for_budget(&s, 0, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 8);
    assert_int_equal(kv_cache_blocks_for_budget(&s, per * 5 + 1, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 5);
    assert_int_equal(kv_cache_blocks_for_budget(&s, per - 1, "--kv-memory", &n, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "--kv-memory"));
}

static void test_reserve_release(void **state) {
    (void)state;
    KvCacheShape s = test_shape();
    KvCache kv;
    LlmError err = {{0}};
    assert_int_equal(kv_cache_init(&kv, &s, 5, 2, &err), LLM_OK);
    int a, b, c;
    assert_int_equal(kv_seq_open(&kv, &a), KV_OK);
    assert_int_equal(kv_seq_open(&kv, &b), KV_OK);
    assert_int_equal(kv_seq_open(&kv, &c), KV_OUT_OF_BLOCKS); /* no slot left */
    assert_int_equal(kv_seq_reserve(&kv, a, 5), KV_OK);        /* 2 blocks */
    assert_int_equal(kv_seq_block_table(&kv, a)[1] >= 0, 1);
    assert_int_equal(kv_seq_block_table(&kv, a)[2], -1);
    assert_int_equal(kv_seq_reserve(&kv, a, 8), KV_OK);        /* still 2 */
    assert_int_equal(kv.n_free, 3);
    assert_int_equal(kv_seq_reserve(&kv, b, 4 * 4), KV_OUT_OF_BLOCKS);
    assert_int_equal(kv.n_free, 3);                            /* unchanged */
    assert_int_equal(kv_seq_reserve(&kv, b, 4 * 8 + 1), KV_SEQ_TOO_LONG);
    assert_int_equal(kv_seq_reserve(&kv, b, 12), KV_OK);
    assert_int_equal(kv.n_free, 0);
    check_ok(&kv);
    kv_seq_release(&kv, a);
    assert_int_equal(kv.n_free, 2);
    check_ok(&kv);
    kv_seq_release(&kv, b);
    assert_int_equal(kv.n_free, 5);
    check_ok(&kv);
    assert_int_equal(kv.n_blocks, 5);
    kv_cache_free(&kv);
}

static void test_random(void **state) {
    (void)state;
    KvCacheShape s = test_shape();
    KvCache kv;
    LlmError err = {{0}};
    assert_int_equal(kv_cache_init(&kv, &s, 20, 6, &err), LLM_OK);
    uint64_t x = 12345;
    int out_of_blocks = 0;
    for (int step = 0; step < 5000; step++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        int seq = (int)((x >> 33) % 6);
        int op = (int)((x >> 40) % 4);
        if (!kv.seqs[seq].active) {
            int got;
            assert_int_equal(kv_seq_open(&kv, &got), KV_OK);
        } else if (op == 0) {
            kv_seq_release(&kv, seq);
        } else {
            int want = kv.seqs[seq].n_tokens + (int)((x >> 50) % 9);
            KvStatus st = kv_seq_reserve(&kv, seq, want);
            if (st == KV_OUT_OF_BLOCKS) out_of_blocks++;
            if (st == KV_SEQ_TOO_LONG) kv_seq_release(&kv, seq);
        }
        check_ok(&kv);
    }
    assert_true(out_of_blocks > 0); /* the run did exhaust the pool */
    for (int i = 0; i < kv.max_seqs; i++)
        if (kv.seqs[i].active) kv_seq_release(&kv, i);
    assert_int_equal(kv.n_free, 20);
    check_ok(&kv);
    kv_cache_free(&kv);
}

static void test_bad_init(void **state) {
    (void)state;
    KvCacheShape s = test_shape();
    KvCache kv;
    LlmError err = {{0}};
    assert_int_equal(kv_cache_init(&kv, &s, 0, 1, &err), LLM_ERR);
    s.block_size = 0;
    assert_int_equal(kv_cache_init(&kv, &s, 4, 1, &err), LLM_ERR);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizing),
        cmocka_unit_test(test_reserve_release),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_bad_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
