/* test_engine_cpu.c - the cpu engine: KV block copies (copy-on-write:
 * K and V of every layer move from source to destination blocks and
 * nothing else changes; bad block ids are refused before anything is
 * copied; a fake forward() hands the test the engine's K/V pools), and
 * sampling inside the step: every option of the rule with the step's
 * penalty table and logprobs, against the host sampler on the same logits
 * (bit for bit), and malformed sampling inputs refused before the step
 * runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "sample/sampler.h"

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
    assert_int_equal(llm_engine_cpu.step(e, &b, NULL, &err), LLM_OK);
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

/* ---- sampling in the step ------------------------------------------------ */

enum { SV = 97, ST = 8 }; /* vocabulary and tokens per step of the sampling program */

static int forwards; /* logits_forward calls */

static float logit_of(int32_t token, int32_t pos, int v) {
    uint64_t x = (uint64_t)(token + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(pos + 7) * 0xbf58476d1ce4e5b9ull;
    x ^= (uint64_t)(v + 3) * 0x94d049bb133111ebull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    if (v == 5 || v == 9) return 6.0f; /* a tie at the top */
    return (float)(x >> 40) / (float)(1u << 24) * 8.0f - 2.0f;
}

/* Logits of each logits row: a hash of its token, position and id. */
static void logits_forward(const LlmForwardCtx *ctx, const LlmBatch *b) {
    (void)ctx;
    forwards++;
    for (int r = 0; r < b->n_logits; r++) {
        int t = b->logit_rows[r];
        for (int v = 0; v < SV; v++)
            b->logits[(size_t)r * SV + (size_t)v] = logit_of(b->tokens[t], b->positions[t], v);
    }
}

static LlmProgram sampling_program(void) {
    LlmProgram p = tiny_program();
    p.vocab_size = SV;
    p.max_tokens = ST;
    p.forward = logits_forward;
    return p;
}

typedef struct SampleRig {
    LlmProgram prog;
    LlmEngine *e;
    int32_t tok[ST], pos[ST], seq[ST], rows_at[ST], table[4];
    LlmBatch b;
} SampleRig;

static void rig_open(SampleRig *g, int n) {
    memset(g, 0, sizeof *g);
    g->prog = sampling_program();
    LlmEngineConfig cfg = {.n_threads = 1, .max_seqs = 1};
    LlmError err = {{0}};
    assert_int_equal(llm_engine_cpu.open(&g->prog, NULL, &cfg, &g->e, &err), LLM_OK);
    assert_int_equal(llm_engine_cpu.alloc_kv(g->e, BLOCKS, &err), LLM_OK);
    for (int i = 0; i < n; i++) {
        g->tok[i] = 11 * i + 3;
        g->pos[i] = i;
        g->rows_at[i] = i;
    }
    g->table[0] = 0;
    g->table[1] = g->table[2] = g->table[3] = -1;
    LlmBatch b = {.n_tokens = n, .tokens = g->tok, .positions = g->pos, .seq_index = g->seq,
                  .n_seqs = 1, .block_tables = g->table, .n_logits = n, .logit_rows = g->rows_at};
    g->b = b;
}

static LlmSampleRow make_row(float t, int k, float p, float min_p, float rep, float pres,
                             float freq, int lp, double u) {
    LlmSampleRow r = {.temperature = t, .top_k = k, .top_p = p, .min_p = min_p,
                      .repetition_penalty = rep, .presence_penalty = pres,
                      .frequency_penalty = freq, .logprobs = lp >= 0, .top_logprobs = lp > 0 ? lp : 0,
                      .uniform = u};
    return r;
}

/* A penalty list of n distinct ids (the tied top ids first), counts 0..3. */
static void make_list(LlmTokenCount *out, int n, int salt) {
    for (int j = 0; j < n; j++) {
        out[j].id = j == 0 ? 5 : j == 1 ? 9 : (int32_t)((j * 37 + salt * 13) % SV);
        out[j].count = (j + salt) % 4;
    }
    for (int j = 2; j < n; j++) /* keep ids distinct: move a repeat to a free id */
        for (int i = 0; i < j; i++)
            if (out[i].id == out[j].id) {
                out[j].id = (out[j].id + 1) % SV;
                i = -1;
            }
}

static void expect_same_logprobs(const LlmTokenLogprobs *a, const LlmTokenLogprobs *b) {
    assert_int_equal(a->id, b->id);
    assert_memory_equal(&a->logprob, &b->logprob, sizeof a->logprob);
    assert_int_equal(a->n_top, b->n_top);
    for (int j = 0; j < a->n_top; j++) {
        assert_int_equal(a->top_ids[j], b->top_ids[j]);
        assert_memory_equal(&a->top_logprobs[j], &b->top_logprobs[j], sizeof(float));
    }
}

/* Every option in one step of 8 rows, lists at scattered offsets of one
 * table (with unused entries between them): ids and logprobs equal the
 * host sampler's on the same logits with each row's own list; rows
 * without logprobs leave their entry untouched. */
static void test_step_samples_with_table(void **state) {
    (void)state;
    SampleRig g;
    rig_open(&g, ST);
    LlmSampleRow rows[ST] = {
        make_row(0.0f, 0, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, -1, 0.0),   /* plain greedy */
        make_row(0.0f, 0, 1.0f, 0.0f, 1.5f, 0.0f, 0.0f, -1, 0.0),   /* greedy, repetition */
        make_row(0.8f, 40, 0.9f, 0.05f, 1.2f, 1.0f, 0.5f, 3, 0.37),  /* everything */
        make_row(1.0f, 0, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 20, 0.91),  /* sampled, top 20 */
        make_row(0.0f, 0, 1.0f, 0.0f, 0.7f, 0.5f, 0.3f, 0, 0.0),    /* greedy, chosen logprob only */
        make_row(1.3f, 5, 1.0f, 0.1f, 1.0f, -0.5f, 0.8f, -1, 0.12), /* top-k, min-p, penalties */
        make_row(0.7f, 0, 0.5f, 0.0f, 1.3f, 0.0f, 0.0f, -1, 0.66),  /* penalty on, empty list */
        make_row(0.0f, 0, 1.0f, 0.0f, 1.0f, 2.0f, -2.0f, 5, 0.0),   /* greedy, penalties, top 5 */
    };
    int lens[ST] = {0, 6, 12, 0, 3, 20, 0, 9};
    LlmTokenCount table[128];
    for (int j = 0; j < 128; j++) table[j] = (LlmTokenCount){(int32_t)(j % SV), 1 + j % 3};
    int at = 100; /* lists laid out backwards from 100, 2 unused entries after each */
    for (int i = 0; i < ST; i++) {
        at -= lens[i] + 2;
        make_list(table + at, lens[i], i);
        rows[i].counts_offset = at;
        rows[i].n_counts = lens[i];
    }
    int32_t ids[ST];
    LlmTokenLogprobs lps[ST];
    memset(lps, 0xab, sizeof lps);
    LlmTokenLogprobs untouched;
    memset(&untouched, 0xab, sizeof untouched);
    float logits[ST * SV];
    g.b.logits = logits;
    LlmStepSample in = {.rows = rows, .counts = table, .n_counts = 128, .ids = ids, .logprobs = lps};
    LlmError err = {{0}};
    assert_int_equal(llm_engine_cpu.step(g.e, &g.b, &in, &err), LLM_OK);
    SampleCandidate cands[SV];
    for (int i = 0; i < ST; i++) {
        for (int v = 0; v < SV; v++) /* the step's logits are the model's */
            assert_true(logits[i * SV + v] == logit_of(g.tok[i], g.pos[i], v));
        LlmSampleRow own = rows[i];
        own.counts_offset = 0;
        LlmTokenLogprobs want;
        memset(&want, 0, sizeof want);
        int32_t id = sampler_pick(&own, table + rows[i].counts_offset, logits + i * SV, SV, cands,
                                  &want);
        assert_int_equal(ids[i], id);
        if (rows[i].logprobs) expect_same_logprobs(&lps[i], &want);
        else assert_memory_equal(&lps[i], &untouched, sizeof untouched);
    }
    assert_int_equal(ids[1] != 5 && ids[1] != 9, 1); /* the repetition penalty moved the argmax */
    llm_engine_cpu.close(g.e);
}

/* A request's Sampler driven through the engine (its next row, its table
 * placed after another request's list) gives the tokens and logprobs that
 * the same Sampler gives when it samples host logits itself. */
static void test_step_follows_sampler(void **state) {
    (void)state;
    SampleRig g;
    rig_open(&g, 1);
    SamplerParams p = sampler_params_default();
    p.temperature = 0.9f;
    p.top_k = 30;
    p.repetition_penalty = 1.4f;
    p.presence_penalty = 0.4f;
    p.frequency_penalty = 0.6f;
    p.logprobs = 4;
    p.seed = 77;
    Sampler a, b;
    sampler_init(&a, &p, SV);
    sampler_init(&b, &p, SV);
    int32_t prompt[] = {5, 9, 40, 41, 5};
    sampler_begin(&a, prompt, 5);
    sampler_begin(&b, prompt, 5);
    LlmTokenCount *table = malloc(sizeof(LlmTokenCount) * (SV + 3));
    float logits[SV];
    for (int step = 0; step < 40; step++) {
        g.tok[0] = (int32_t)(step * 7 % SV);
        g.pos[0] = step % 4;
        LlmSampleRow row;
        sampler_next_row(&a, &row);
        table[0] = table[1] = table[2] = (LlmTokenCount){1, 2}; /* another request's list */
        memcpy(table + 3, a.counts, sizeof(LlmTokenCount) * (size_t)a.n_counts);
        row.counts_offset = 3;
        int32_t id = -1;
        LlmTokenLogprobs lp, want;
        LlmStepSample in = {.rows = &row, .counts = table, .n_counts = 3 + a.n_counts, .ids = &id,
                            .logprobs = &lp};
        LlmError err = {{0}};
        assert_int_equal(llm_engine_cpu.step(g.e, &g.b, &in, &err), LLM_OK);
        for (int v = 0; v < SV; v++) logits[v] = logit_of(g.tok[0], g.pos[0], v);
        int32_t ref = sampler_sample(&b, logits, &want);
        assert_int_equal(id, ref);
        expect_same_logprobs(&lp, &want);
        sampler_accept(&a, id);
        sampler_accept(&b, ref);
    }
    assert_int_equal(a.n_counts, b.n_counts);
    free(table);
    sampler_free(&a);
    sampler_free(&b);
    llm_engine_cpu.close(g.e);
}

/* Malformed sampling inputs: an error naming the row or entry, before
 * the forward pass runs, nothing written. */
static void test_step_refuses_bad_sampling(void **state) {
    (void)state;
    SampleRig g;
    rig_open(&g, 2);
    LlmTokenCount table[4] = {{1, 0}, {2, 1}, {3, 0}, {4, 2}};
    struct {
        int row_offset, row_n, n_table, lp, top, null_lp, bad_id;
        const char *msg;
    } cases[] = {
        {2, 3, 4, 0, 0, 0, 0, "sampling row 1: penalty list [2, 2 + 3) lies outside the step's table of 4 entries"},
        {-1, 1, 4, 0, 0, 0, 0, "sampling row 1: penalty list [-1, -1 + 1) lies outside"},
        {0, 1, 0, 0, 0, 0, 0, "lies outside the step's table of 0 entries"},
        {0, 98, 200, 0, 0, 0, 0, "sampling row 1: penalty list of 98 entries, more than the 97"},
        {0, 2, 4, 1, 21, 0, 0, "sampling row 1: top_logprobs 21 must be in [0, 20]"},
        {0, 2, 4, 2, 0, 0, 0, "sampling row 1: logprobs 2 must be 0 or 1"},
        {0, 2, 4, 1, 2, 1, 0, "sampling row 1 asks for logprobs but the step has no logprobs output"},
        {0, 2, 4, 0, 0, 0, 1, "penalty table entry 3 has token id 97, outside [0, 97)"},
    };
    LlmTokenCount big[200];
    for (int j = 0; j < 200; j++) big[j] = (LlmTokenCount){(int32_t)(j % SV), 0};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        LlmSampleRow rows[2] = {make_row(0.5f, 0, 1.0f, 0.0f, 1.2f, 0.0f, 0.0f, -1, 0.5),
                                make_row(0.0f, 0, 1.0f, 0.0f, 1.2f, 0.0f, 0.0f, -1, 0.0)};
        rows[1].counts_offset = cases[c].row_offset;
        rows[1].n_counts = cases[c].row_n;
        rows[1].logprobs = cases[c].lp;
        rows[1].top_logprobs = cases[c].top;
        LlmTokenCount t[4];
        memcpy(t, table, sizeof t);
        if (cases[c].bad_id) t[3].id = SV;
        int32_t ids[2] = {-7, -7};
        LlmTokenLogprobs lps[2];
        LlmStepSample in = {.rows = rows, .counts = cases[c].n_table > 4 ? big : t,
                            .n_counts = cases[c].n_table, .ids = ids,
                            .logprobs = cases[c].null_lp ? NULL : lps};
        LlmError err = {{0}};
        int before = forwards;
        assert_int_equal(llm_engine_cpu.step(g.e, &g.b, &in, &err), LLM_ERR);
        if (strstr(err.msg, cases[c].msg) == NULL) fail_msg("case %zu: %s", c, err.msg);
        assert_int_equal(forwards, before);
        assert_int_equal(ids[0], -7);
        assert_int_equal(ids[1], -7);
    }
    llm_engine_cpu.close(g.e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_blocks),
        cmocka_unit_test(test_step_samples_with_table),
        cmocka_unit_test(test_step_follows_sampler),
        cmocka_unit_test(test_step_refuses_bad_sampling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
