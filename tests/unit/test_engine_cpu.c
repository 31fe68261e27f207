/* test_engine_cpu.c - the cpu engine's KV block copies (copy-on-write):
 * K and V of every layer move from source to destination blocks and
 * nothing else changes; bad block ids are refused before anything is
 * copied. A fake forward() hands the test the engine's K/V pools. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"

enum { LAYERS = 3, BLOCKS = 5, PER_BLOCK = 2 * 2 * 2 }; /* block_size x heads x head_dim */

static float *pool_k, *pool_v; /* the engine's pools, seen by fake_forward */

static void fake_forward(const LlmForwardCtx *ctx, const LlmBatch *b) {
    (void)b;
    pool_k = ctx->kv.k;
    pool_v = ctx->kv.v;
    assert_int_equal(ctx->kv.n_blocks, BLOCKS);
}

static LlmProgram tiny_program(void) {
    LlmProgram p = {.abi_version = LLM_PROGRAM_ABI, .target = "cpu", .vocab_size = 4,
                    .hidden_size = 2, .n_layers = LAYERS, .n_kv_heads = 2, .head_dim = 2,
                    .max_context = 8, .max_tokens = 1, .block_size = 2, .max_blocks_per_seq = 4,
                    .kv_elem_bytes = 4, .arena_bytes = 64, .engine = &llm_engine_cpu,
                    .arch = "test", .forward = fake_forward};
    return p;
}

/* The value the test stores at element j of block b in layer l. */
static float value(int l, int b, int j, float tensor) {
    return tensor + (float)(1000 * l + 10 * b + j);
}

static float *at(float *pool, int l, int b) {
    return pool + ((size_t)l * BLOCKS + (size_t)b) * PER_BLOCK;
}

static void fill(void) {
    for (int l = 0; l < LAYERS; l++)
        for (int b = 0; b < BLOCKS; b++)
            for (int j = 0; j < PER_BLOCK; j++) {
                at(pool_k, l, b)[j] = value(l, b, j, 0.0f);
                at(pool_v, l, b)[j] = value(l, b, j, 0.5f);
            }
}

/* Block b of every layer holds what block from was filled with. */
static void expect_block(int b, int from) {
    for (int l = 0; l < LAYERS; l++)
        for (int j = 0; j < PER_BLOCK; j++) {
            assert_true(at(pool_k, l, b)[j] == value(l, from, j, 0.0f));
            assert_true(at(pool_v, l, b)[j] == value(l, from, j, 0.5f));
        }
}

static void test_copy_blocks(void **state) {
    (void)state;
    LlmProgram p = tiny_program();
    LlmEngineConfig cfg = {.n_threads = 1, .max_seqs = 1};
    LlmEngine *e = NULL;
    LlmError err = {{0}};
    assert_non_null(llm_engine_cpu.copy_blocks);
    assert_int_equal(llm_engine_cpu.open(&p, NULL, &cfg, &e, &err), LLM_OK);
    KvCopy early = {0, 1};
    assert_int_equal(llm_engine_cpu.copy_blocks(e, &early, 1, &err), LLM_ERR); /* no pool yet */
    assert_int_equal(llm_engine_cpu.alloc_kv(e, BLOCKS, &err), LLM_OK);
    int32_t tok = 0, pos = 0, seq = 0, table[4] = {0, -1, -1, -1};
    LlmBatch b = {.n_tokens = 1, .tokens = &tok, .positions = &pos, .seq_index = &seq,
                  .n_seqs = 1, .block_tables = table};
    assert_int_equal(llm_engine_cpu.step(e, &b, NULL, NULL, &err), LLM_OK);
    assert_non_null(pool_k);
    fill();
    const KvCopy copies[] = {{1, 3}, {4, 0}};
    assert_int_equal(llm_engine_cpu.copy_blocks(e, copies, 2, &err), LLM_OK);
    expect_block(0, 4);
    expect_block(1, 1);
    expect_block(2, 2);
    expect_block(3, 1);
    expect_block(4, 4);
    fill();
    const KvCopy bad[][2] = {{{1, 2}, {5, 0}}, {{1, 2}, {-1, 0}}, {{1, 2}, {0, 5}}, {{1, 2}, {3, 3}}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(llm_engine_cpu.copy_blocks(e, bad[i], 2, &err), LLM_ERR);
        assert_non_null(strstr(err.msg, "KV copy 1: block"));
        assert_non_null(strstr(err.msg, "outside the pool of 5 blocks"));
        expect_block(2, 2); /* the good copy before it did not run either */
    }
    assert_int_equal(llm_engine_cpu.copy_blocks(e, NULL, 0, &err), LLM_OK);
    llm_engine_cpu.close(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
