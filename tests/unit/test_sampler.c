/* test_sampler.c - the host sampling rule (sampler.h): greedy,
 * determinism, top-k/top-p limits, frequency checks of the sampled
 * distribution, min-p, repetition / presence / frequency penalties and the
 * penalty table, logprobs, the order of the steps, NaN and ties, and every
 * validation message. Expected values are worked out by hand in the
 * comments. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sample/sampler.h"

#define VOCAB 50

static void fill_logits(float *l, uint64_t seed) {
    LlmRng r;
    rng_seed(&r, seed);
    for (int i = 0; i < VOCAB; i++) l[i] = (float)(rng_next_double(&r) * 8.0 - 4.0);
}

static SamplerParams params(float t, int k, float p, uint64_t seed) {
    SamplerParams sp = sampler_params_default();
    sp.temperature = t;
    sp.top_k = k;
    sp.top_p = p;
    sp.seed = seed;
    return sp;
}

static void test_greedy(void **state) {
    (void)state;
    float l[VOCAB] = {0};
    l[7] = 3.0f;
    l[9] = 3.0f;
    l[3] = NAN;
    SamplerParams p = sampler_params_default();
    Sampler s;
    sampler_init(&s, &p, VOCAB);
    assert_int_equal(sampler_sample(&s, l, NULL), 7); /* tie -> lowest id */
    l[9] = 3.5f;
    assert_int_equal(sampler_sample(&s, l, NULL), 9);
    sampler_free(&s);
    assert_int_equal(sampler_argmax(l, 0), 0);
}

static void run_seq(const SamplerParams *p, const float *l, int32_t *out, int n) {
    Sampler s;
    sampler_init(&s, p, VOCAB);
    for (int i = 0; i < n; i++) out[i] = sampler_sample(&s, l, NULL);
    sampler_free(&s);
}

static void test_determinism(void **state) {
    (void)state;
    float flat[VOCAB] = {0};
    int32_t a[64], b[64], c[64];
    SamplerParams p = params(1.0f, 0, 1.0f, 42);
    run_seq(&p, flat, a, 64);
    run_seq(&p, flat, b, 64);
    assert_memory_equal(a, b, sizeof a);
    p.seed = 43;
    run_seq(&p, flat, c, 64);
    assert_true(memcmp(a, c, sizeof a) != 0);
}

static void test_limits_equal_greedy(void **state) {
    (void)state;
    float l[VOCAB];
    for (uint64_t trial = 0; trial < 20; trial++) {
        fill_logits(l, trial);
        int32_t want = sampler_argmax(l, VOCAB);
        int32_t got[8];
        SamplerParams k1 = params(1.5f, 1, 1.0f, trial);
        run_seq(&k1, l, got, 8);
        for (int i = 0; i < 8; i++) assert_int_equal(got[i], want);
        SamplerParams p0 = params(1.5f, 0, 1e-6f, trial);
        run_seq(&p0, l, got, 8);
        for (int i = 0; i < 8; i++) assert_int_equal(got[i], want);
    }
}

static void test_top_k_support(void **state) {
    (void)state;
    float l[VOCAB];
    fill_logits(l, 99);
    float sorted[VOCAB];
    memcpy(sorted, l, sizeof l);
    /* the 5th largest value: draws must never go below it */
    for (int i = 0; i < 5; i++) {
        int32_t m = sampler_argmax(sorted, VOCAB);
        if (i == 4) {
            SamplerParams p = params(2.0f, 5, 1.0f, 7);
            Sampler s;
            sampler_init(&s, &p, VOCAB);
            for (int d = 0; d < 2000; d++) assert_true(l[sampler_sample(&s, l, NULL)] >= sorted[m]);
            sampler_free(&s);
        }
        sorted[m] = -INFINITY;
    }
}

static void test_distribution(void **state) {
    (void)state;
    float l[VOCAB];
    for (int i = 0; i < VOCAB; i++) l[i] = -INFINITY;
    l[1] = logf(0.1f);
    l[2] = logf(0.2f);
    l[3] = logf(0.7f);
    int counts[VOCAB] = {0};
    SamplerParams p = params(1.0f, 0, 1.0f, 2024);
    Sampler s;
    sampler_init(&s, &p, VOCAB);
    const int n = 20000;
    for (int i = 0; i < n; i++) counts[sampler_sample(&s, l, NULL)]++;
    sampler_free(&s);
    assert_true(fabs(counts[1] / (double)n - 0.1) < 0.015);
    assert_true(fabs(counts[2] / (double)n - 0.2) < 0.015);
    assert_true(fabs(counts[3] / (double)n - 0.7) < 0.015);
    /* top_p 0.75 keeps {3, 2}: 0.7 / 0.9 and 0.2 / 0.9 */
    memset(counts, 0, sizeof counts);
    p.top_p = 0.75f;
    sampler_init(&s, &p, VOCAB);
    for (int i = 0; i < n; i++) counts[sampler_sample(&s, l, NULL)]++;
    sampler_free(&s);
    assert_int_equal(counts[1], 0);
    assert_true(fabs(counts[3] / (double)n - 0.7 / 0.9) < 0.015);
}

static void expect_invalid(SamplerParams p, const char *needle) {
    LlmError err = {{0}};
    assert_int_equal(sampler_params_validate(&p, &err), LLM_ERR);
    if (strstr(err.msg, needle) == NULL) fail_msg("'%s' lacks '%s'", err.msg, needle);
}

static void test_validate(void **state) {
    (void)state;
    LlmError err = {{0}};
    SamplerParams ok = params(0.7f, 40, 0.9f, 1);
    assert_int_equal(sampler_params_validate(&ok, &err), LLM_OK);
    expect_invalid(params(-1.0f, 0, 1.0f, 0), "--temperature -1");
    expect_invalid(params(NAN, 0, 1.0f, 0), "--temperature");
    expect_invalid(params(1.0f, -3, 1.0f, 0), "--top-k -3");
    expect_invalid(params(1.0f, 0, 0.0f, 0), "--top-p 0");
    expect_invalid(params(1.0f, 0, 1.5f, 0), "--top-p 1.5");
    expect_invalid(params(1.0f, 0, NAN, 0), "--top-p nan");
    expect_invalid(params(INFINITY, 0, 1.0f, 0), "--temperature inf");
    /* the new options: each bound, both sides */
    SamplerParams p = ok;
    p.min_p = 0.0f;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p.min_p = 1.0f;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p = ok, p.min_p = -0.1f, expect_invalid(p, "--min-p -0.1: must be in [0, 1]");
    p = ok, p.min_p = 1.5f, expect_invalid(p, "--min-p 1.5");
    p = ok, p.min_p = NAN, expect_invalid(p, "--min-p nan");
    p = ok, p.repetition_penalty = 0.01f;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p = ok, p.repetition_penalty = 0.0f, expect_invalid(p, "--repeat-penalty 0: must be a finite number > 0");
    p = ok, p.repetition_penalty = -1.0f, expect_invalid(p, "--repeat-penalty -1");
    p = ok, p.repetition_penalty = NAN, expect_invalid(p, "--repeat-penalty nan");
    p = ok, p.repetition_penalty = INFINITY, expect_invalid(p, "--repeat-penalty inf");
    p = ok, p.presence_penalty = 2.0f, p.frequency_penalty = -2.0f;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p = ok, p.presence_penalty = 2.5f, expect_invalid(p, "--presence-penalty 2.5: must be in [-2, 2]");
    p = ok, p.presence_penalty = -2.01f, expect_invalid(p, "--presence-penalty -2.01");
    p = ok, p.presence_penalty = NAN, expect_invalid(p, "--presence-penalty nan");
    p = ok, p.frequency_penalty = 3.0f, expect_invalid(p, "--frequency-penalty 3: must be in [-2, 2]");
    p = ok, p.frequency_penalty = NAN, expect_invalid(p, "--frequency-penalty nan");
    p = ok, p.logprobs = 20;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p.logprobs = 0;
    assert_int_equal(sampler_params_validate(&p, &err), LLM_OK);
    p = ok, p.logprobs = 21, expect_invalid(p, "--logprobs 21: must be in [0, 20]");
    p = ok, p.logprobs = -2, expect_invalid(p, "--logprobs -2");
}

/* ---- penalties ------------------------------------------------------------ */

static LlmSampleRow greedy_row(void) {
    LlmSampleRow r = {.temperature = 0.0f, .top_p = 1.0f, .repetition_penalty = 1.0f};
    return r;
}

static void test_penalize_values(void **state) {
    (void)state;
    LlmSampleRow r = greedy_row();
    r.repetition_penalty = 2.0f;
    assert_true(sample_penalize(3.0f, 0, &r) == 1.5f);   /* positive: divided */
    assert_true(sample_penalize(-1.5f, 0, &r) == -3.0f); /* negative: multiplied */
    assert_true(sample_penalize(0.0f, 0, &r) == 0.0f);
    r.repetition_penalty = 0.5f; /* < 1 favours repeats */
    assert_true(sample_penalize(3.0f, 0, &r) == 6.0f);
    assert_true(sample_penalize(-1.0f, 0, &r) == -0.5f);
    /* 2 / 2 - 0.5 * 3 - 0.25 = -0.75; count 0 (prompt only): only repetition */
    r.repetition_penalty = 2.0f;
    r.frequency_penalty = 0.5f;
    r.presence_penalty = 0.25f;
    assert_true(sample_penalize(2.0f, 3, &r) == -0.75f);
    assert_true(sample_penalize(2.0f, 0, &r) == 1.0f);
    r.repetition_penalty = 1.0f; /* negative penalties raise repeats: 1 + 1 * 2 + 0.5 */
    r.frequency_penalty = -1.0f;
    r.presence_penalty = -0.5f;
    assert_true(sample_penalize(1.0f, 2, &r) == 3.5f);
    assert_true(isnan(sample_penalize(NAN, 2, &r)));
    assert_true(isinf(sample_penalize(INFINITY, 2, &r)));
}

/* Greedy over logits {3, 2.5, 2.2, 0...} with one penalty, n steps from
 * the prompt {prompt0} (none if < 0), each pick accepted. */
static void greedy_run(float rep, float presence, float frequency, int prompt0, int32_t *out, int n) {
    float l[VOCAB] = {0};
    l[0] = 3.0f;
    l[1] = 2.5f;
    l[2] = 2.2f;
    SamplerParams p = sampler_params_default();
    p.repetition_penalty = rep;
    p.presence_penalty = presence;
    p.frequency_penalty = frequency;
    Sampler s;
    sampler_init(&s, &p, VOCAB);
    int32_t prompt[1] = {prompt0};
    sampler_begin(&s, prompt, prompt0 >= 0 ? 1 : 0);
    for (int i = 0; i < n; i++) {
        out[i] = sampler_sample(&s, l, NULL);
        sampler_accept(&s, out[i]);
    }
    sampler_free(&s);
}

static void test_penalties_greedy(void **state) {
    (void)state;
    int32_t got[5];
    /* frequency 1: 0 (3) | 0->2 < 2.5: 1 | 0:2 1:1.5 2:2.2: 2 | 0:2 1:1.5 2:1.2: 0
     * | 0:1 1:1.5 2:1.2: 1 */
    const int32_t freq[5] = {0, 1, 2, 0, 1};
    greedy_run(1.0f, 0.0f, 1.0f, -1, got, 5);
    assert_memory_equal(got, freq, sizeof freq);
    /* presence 1: as above until step 5, where 0 stays at 2 (subtracted once): 0 */
    const int32_t pres[5] = {0, 1, 2, 0, 0};
    greedy_run(1.0f, 1.0f, 0.0f, -1, got, 5);
    assert_memory_equal(got, pres, sizeof pres);
    /* presence and frequency count generated tokens only: prompt {0} changes nothing */
    greedy_run(1.0f, 1.0f, 0.0f, 0, got, 5);
    assert_memory_equal(got, pres, sizeof pres);
    /* repetition 2 counts the prompt: 0:1.5 < 2.5: 1 | 1:1.25, 2:2.2: 2 | 2:1.1: 0
     * | 1.5, 1.25, 1.1 (no compounding): 0 */
    const int32_t repet[4] = {1, 2, 0, 0};
    greedy_run(2.0f, 0.0f, 0.0f, 0, got, 4);
    assert_memory_equal(got, repet, sizeof repet);
    /* no penalty: always 0 */
    greedy_run(1.0f, 0.0f, 0.0f, 0, got, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(got[i], 0);
}

static void test_penalty_table(void **state) {
    (void)state;
    SamplerParams p = sampler_params_default();
    Sampler s;
    sampler_init(&s, &p, VOCAB); /* no penalty: no table */
    assert_false(sampler_has_penalties(&s));
    const int32_t prompt[5] = {7, 3, 7, 9, 3};
    sampler_begin(&s, prompt, 5);
    sampler_accept(&s, 3);
    LlmSampleRow row;
    sampler_next_row(&s, &row);
    assert_int_equal(row.n_counts, 0);
    assert_int_equal(row.logprobs, 0);
    sampler_free(&s);

    p.frequency_penalty = 0.5f;
    p.logprobs = 4;
    sampler_init(&s, &p, VOCAB);
    assert_true(sampler_has_penalties(&s));
    sampler_begin(&s, prompt, 5);
    sampler_accept(&s, 3);
    sampler_accept(&s, 11);
    sampler_accept(&s, 3);
    /* distinct, first-seen order; counts are generated occurrences */
    const LlmTokenCount want[4] = {{7, 0}, {3, 2}, {9, 0}, {11, 1}};
    assert_int_equal(s.n_counts, 4);
    assert_memory_equal(s.counts, want, sizeof want);
    sampler_next_row(&s, &row);
    assert_int_equal(row.n_counts, 4);
    assert_int_equal(row.counts_offset, 0);
    assert_true(row.frequency_penalty == 0.5f);
    assert_int_equal(row.logprobs, 1);
    assert_int_equal(row.top_logprobs, 4);
    /* a new round starts from its own prompt */
    const int32_t prompt2[2] = {11, 12};
    sampler_begin(&s, prompt2, 2);
    const LlmTokenCount want2[2] = {{11, 0}, {12, 0}};
    assert_int_equal(s.n_counts, 2);
    assert_memory_equal(s.counts, want2, sizeof want2);
    assert_int_equal(s.slot[7], -1);
    assert_int_equal(s.slot[12], 1);
    sampler_free(&s);
}

/* Two requests' lists in one table: counts_offset picks the row's own. */
static void test_pick_table_offset(void **state) {
    (void)state;
    float l[4] = {2.0f, 1.9f, 0.0f, 0.0f};
    const LlmTokenCount table[3] = {{1, 0}, {0, 1}, {2, 1}};
    SampleCandidate c[4];
    LlmSampleRow r = greedy_row();
    r.repetition_penalty = 2.0f;
    r.counts_offset = 0, r.n_counts = 1; /* penalises 1: 2.0 vs 0.95 */
    assert_int_equal(sampler_pick(&r, table, l, 4, c, NULL), 0);
    r.counts_offset = 1, r.n_counts = 2; /* penalises 0: 1.0 vs 1.9 */
    assert_int_equal(sampler_pick(&r, table, l, 4, c, NULL), 1);
    /* NULL table: penalties off whatever the row says (gpu_sample's rule) */
    assert_int_equal(sampler_pick(&r, NULL, l, 4, c, NULL), 0);
    /* a tie made by the penalty goes to the lower id: 2 / 2 == 1 */
    float t[2] = {2.0f, 1.0f};
    const LlmTokenCount zero[1] = {{0, 0}};
    r.counts_offset = 0, r.n_counts = 1;
    assert_int_equal(sampler_pick(&r, zero, t, 2, c, NULL), 0);
    t[0] = 2.01f; /* 1.005 > 1 */
    assert_int_equal(sampler_pick(&r, zero, t, 2, c, NULL), 0);
    t[0] = 1.99f; /* 0.995 < 1 */
    assert_int_equal(sampler_pick(&r, zero, t, 2, c, NULL), 1);
    /* a penalised NaN stays NaN and never wins */
    float n[3] = {NAN, -5.0f, -6.0f};
    const LlmTokenCount nan_list[2] = {{0, 3}, {1, 0}};
    r.n_counts = 2; /* -5 * 2 = -10 < -6 */
    assert_int_equal(sampler_pick(&r, nan_list, n, 3, c, NULL), 2);
}

/* Penalties in a sampled request: draws never land on a token pushed far
 * below the rest, and a seed replays the same sequence. */
static void test_penalties_sampled(void **state) {
    (void)state;
    float l[VOCAB];
    for (int i = 0; i < VOCAB; i++) l[i] = -INFINITY;
    l[4] = 1.0f;
    l[5] = 1.0f;
    SamplerParams p = params(1.0f, 0, 1.0f, 77);
    p.presence_penalty = 2.0f; /* a drawn token drops to -1: e^-2 of the other */
    p.frequency_penalty = 2.0f;
    Sampler s;
    sampler_init(&s, &p, VOCAB);
    sampler_begin(&s, NULL, 0);
    int32_t first = sampler_sample(&s, l, NULL);
    sampler_accept(&s, first);
    int other = 0;
    for (int i = 0; i < 200; i++) { /* first is at -3 now, the other at 1 until drawn */
        int32_t id = sampler_sample(&s, l, NULL);
        assert_true(id == 4 || id == 5);
        if (id != first) other++;
    }
    assert_true(other > 170); /* p(other) = 1 / (1 + e^-4) = 0.982 */
    sampler_free(&s);
}

/* ---- min-p --------------------------------------------------------------- */

static void fill_probs(float *l, const float *p, int n) {
    for (int i = 0; i < VOCAB; i++) l[i] = -INFINITY;
    for (int i = 0; i < n; i++) l[i] = logf(p[i]);
}

static void count_draws(const SamplerParams *p, const float *l, int n, int *counts) {
    Sampler s;
    sampler_init(&s, p, VOCAB);
    memset(counts, 0, sizeof(int) * VOCAB);
    for (int i = 0; i < n; i++) counts[sampler_sample(&s, l, NULL)]++;
    sampler_free(&s);
}

static void test_min_p(void **state) {
    (void)state;
    const float probs[4] = {0.5f, 0.3f, 0.15f, 0.05f};
    float l[VOCAB];
    fill_probs(l, probs, 4);
    int counts[VOCAB];
    const int n = 20000;
    /* min_p 0.35: threshold 0.175 keeps {0, 1}: 0.5 / 0.8 and 0.3 / 0.8 */
    SamplerParams p = params(1.0f, 0, 1.0f, 5);
    p.min_p = 0.35f;
    count_draws(&p, l, n, counts);
    assert_int_equal(counts[2] + counts[3], 0);
    assert_true(fabs(counts[0] / (double)n - 0.625) < 0.015);
    /* min_p 0.05: threshold 0.025 keeps all four */
    p.min_p = 0.05f;
    count_draws(&p, l, n, counts);
    assert_true(counts[3] > 0 && fabs(counts[3] / (double)n - 0.05) < 0.01);
    /* min_p 1 keeps only the most likely: greedy */
    p.min_p = 1.0f;
    count_draws(&p, l, 500, counts);
    assert_int_equal(counts[0], 500);
    /* ties at the top survive min_p 1 together */
    float t[VOCAB] = {0};
    t[4] = t[7] = 5.0f;
    count_draws(&p, t, 2000, counts);
    assert_int_equal(counts[4] + counts[7], 2000);
    assert_true(counts[4] > 800 && counts[7] > 800);
    /* min-p is taken after temperature: at T = 0.5, p ~ {0.676, 0.243, 0.061,
     * 0.007}; min_p 0.2 (threshold 0.135) drops 2 that T = 1 would keep */
    p = params(0.5f, 0, 1.0f, 6);
    p.min_p = 0.2f;
    count_draws(&p, l, n, counts);
    assert_int_equal(counts[2] + counts[3], 0);
}

/* The order of the steps: min-p before top-p, top-p over what min-p left. */
static void test_min_p_then_top_p(void **state) {
    (void)state;
    const float probs[4] = {0.5f, 0.3f, 0.15f, 0.05f};
    float l[VOCAB];
    fill_probs(l, probs, 4);
    int counts[VOCAB];
    /* top_p 0.83 alone: 0.5, 0.8 < 0.83, 0.95: keeps {0, 1, 2} */
    SamplerParams p = params(1.0f, 0, 0.83f, 8);
    count_draws(&p, l, 20000, counts);
    assert_true(counts[2] > 0);
    assert_int_equal(counts[3], 0);
    /* min_p 0.2 first keeps {0, 1, 2} (mass 0.95); top_p over that: 0.526,
     * 0.842 >= 0.83: keeps {0, 1}. (top-p first, then min-p, would keep 2.) */
    p.min_p = 0.2f;
    count_draws(&p, l, 20000, counts);
    assert_int_equal(counts[2] + counts[3], 0);
    assert_true(fabs(counts[0] / 20000.0 - 0.625) < 0.015);
    /* with top-k too (sorted path): top_k 3 keeps {0, 1, 2}, same result */
    p.top_k = 3;
    count_draws(&p, l, 20000, counts);
    assert_int_equal(counts[2] + counts[3], 0);
}

/* ---- logprobs ------------------------------------------------------------ */

static void expect_close(double got, double want) {
    if (!(fabs(got - want) < 1e-6)) fail_msg("got %.9g, want %.9g", got, want);
}

/* log p of l [n] (non-NaN) in double, for the expectations. */
static double ref_logprob(const float *l, int n, int i) {
    double sum = 0.0;
    for (int j = 0; j < n; j++)
        if (!isnan(l[j])) sum += exp((double)l[j]);
    return (double)l[i] - log(sum);
}

static void test_logprobs_values(void **state) {
    (void)state;
    /* p = {0.5, 0.25, 0.125, 0.125} */
    float l[4] = {logf(0.5f), logf(0.25f), logf(0.125f), logf(0.125f)};
    SampleCandidate c[4];
    LlmTokenLogprobs lp;
    memset(&lp, 0xff, sizeof lp);
    LlmSampleRow r = greedy_row();
    r.logprobs = 1;
    r.top_logprobs = 3;
    assert_int_equal(sampler_pick(&r, NULL, l, 4, c, &lp), 0);
    assert_int_equal(lp.id, 0);
    expect_close(lp.logprob, log(0.5));
    assert_int_equal(lp.n_top, 3);
    assert_int_equal(lp.top_ids[0], 0);
    assert_int_equal(lp.top_ids[1], 1);
    assert_int_equal(lp.top_ids[2], 2); /* 2 and 3 tie: lower id first */
    expect_close(lp.top_logprobs[1], log(0.25));
    expect_close(lp.top_logprobs[2], log(0.125));
    /* sampled, unsorted, u = 0.6: cumulative 0.5, 0.75: token 1. Temperature,
     * top-k and top-p change the draw, not the logprobs. */
    r.temperature = 3.0f;
    r.top_k = 2;
    r.top_p = 0.9f;
    r.uniform = 0.6;
    LlmTokenLogprobs lp2;
    int32_t id = sampler_pick(&r, NULL, l, 4, c, &lp2);
    assert_true(id == 0 || id == 1);
    assert_int_equal(lp2.id, id);
    expect_close(lp2.logprob, ref_logprob(l, 4, id));
    assert_memory_equal(lp2.top_ids, lp.top_ids, 3 * sizeof(int32_t));
    assert_memory_equal(lp2.top_logprobs, lp.top_logprobs, 3 * sizeof(float));
    r.temperature = 1.0f, r.top_k = 0, r.top_p = 1.0f;
    assert_int_equal(sampler_pick(&r, NULL, l, 4, c, &lp2), 1);
    expect_close(lp2.logprob, log(0.25));
    /* top_logprobs 0: the chosen token only */
    r.top_logprobs = 0;
    assert_int_equal(sampler_pick(&r, NULL, l, 4, c, &lp2), 1);
    assert_int_equal(lp2.n_top, 0);
    /* logprobs 0: nothing written */
    r.logprobs = 0;
    memset(&lp2, 0x5a, sizeof lp2);
    LlmTokenLogprobs untouched;
    memset(&untouched, 0x5a, sizeof untouched);
    sampler_pick(&r, NULL, l, 4, c, &lp2);
    assert_memory_equal(&lp2, &untouched, sizeof lp2);
}

/* Logprobs are taken after penalties: repetition 2 on token 0 (logit
 * log 0.5 < 0: times 2 = log 0.25) gives p = {1/3, 1/3, 1/6, 1/6}. */
static void test_logprobs_after_penalties(void **state) {
    (void)state;
    float l[4] = {logf(0.5f), logf(0.25f), logf(0.125f), logf(0.125f)};
    const LlmTokenCount list[1] = {{0, 0}};
    SampleCandidate c[4];
    LlmTokenLogprobs lp;
    LlmSampleRow r = greedy_row();
    r.logprobs = 1;
    r.top_logprobs = 4;
    r.repetition_penalty = 2.0f;
    r.n_counts = 1;
    assert_int_equal(sampler_pick(&r, list, l, 4, c, &lp), 0); /* tie 0 / 1: lower id */
    expect_close(lp.logprob, log(1.0 / 3.0));
    assert_int_equal(lp.top_ids[0], 0);
    assert_int_equal(lp.top_ids[1], 1);
    expect_close(lp.top_logprobs[1], log(1.0 / 3.0));
    expect_close(lp.top_logprobs[3], log(1.0 / 6.0));
    /* sampled: the chosen token's logprob is penalised too; u = 0.1 -> 0 */
    r.temperature = 1.0f;
    r.uniform = 0.1;
    assert_int_equal(sampler_pick(&r, list, l, 4, c, &lp), 0);
    expect_close(lp.logprob, log(1.0 / 3.0));
}

static void test_logprobs_nan_inf(void **state) {
    (void)state;
    SampleCandidate c[4];
    LlmTokenLogprobs lp;
    LlmSampleRow r = greedy_row();
    r.logprobs = 1;
    r.top_logprobs = 20;
    /* NaN excluded: n_top counts the 3 others; p of 1.0 among {1, 2, 3} */
    float a[4] = {NAN, 1.0f, 2.0f, 3.0f};
    assert_int_equal(sampler_pick(&r, NULL, a, 4, c, &lp), 3);
    assert_int_equal(lp.n_top, 3);
    expect_close(lp.top_logprobs[2], ref_logprob(a, 4, 1));
    assert_int_equal(lp.top_ids[2], 1);
    /* +inf: the infinite ones share the mass, the rest get -inf */
    float b[4] = {INFINITY, 1.0f, INFINITY, NAN};
    assert_int_equal(sampler_pick(&r, NULL, b, 4, c, &lp), 0);
    expect_close(lp.logprob, -log(2.0));
    assert_int_equal(lp.n_top, 3);
    assert_int_equal(lp.top_ids[1], 2);
    assert_true(isinf(lp.top_logprobs[2]) && lp.top_logprobs[2] < 0);
    /* all -inf: uniform */
    float d[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    assert_int_equal(sampler_pick(&r, NULL, d, 4, c, &lp), 0);
    expect_close(lp.logprob, -log(4.0));
    /* all NaN: id 0, logprob -inf, no top entries; sampled the same */
    float e[4] = {NAN, NAN, NAN, NAN};
    assert_int_equal(sampler_pick(&r, NULL, e, 4, c, &lp), 0);
    assert_true(isinf(lp.logprob) && lp.logprob < 0);
    assert_int_equal(lp.n_top, 0);
    r.temperature = 1.0f;
    r.uniform = 0.3;
    assert_int_equal(sampler_pick(&r, NULL, e, 4, c, &lp), 0);
    assert_true(isinf(lp.logprob) && lp.logprob < 0);
}

/* The top-N list matches a full sort of a random row, for every N. */
static void test_logprobs_top_order(void **state) {
    (void)state;
    float l[VOCAB];
    fill_logits(l, 31);
    l[10] = l[20] = l[30] = 5.0f; /* a three-way tie at the top */
    l[3] = NAN;
    SampleCandidate c[VOCAB];
    LlmTokenLogprobs lp;
    LlmSampleRow r = greedy_row();
    r.logprobs = 1;
    for (int n = 0; n <= LLM_LOGPROBS_MAX; n++) {
        r.top_logprobs = n;
        sampler_pick(&r, NULL, l, VOCAB, c, &lp);
        assert_int_equal(lp.n_top, n);
        float prev = INFINITY;
        for (int j = 0; j < n; j++) {
            float v = l[lp.top_ids[j]];
            int better = 0; /* tokens ranking before this one */
            for (int i = 0; i < VOCAB; i++)
                if (!isnan(l[i]) && (l[i] > v || (l[i] == v && i < lp.top_ids[j]))) better++;
            assert_int_equal(better, j);
            assert_true(lp.top_logprobs[j] <= prev);
            prev = lp.top_logprobs[j];
        }
    }
    assert_int_equal(lp.top_ids[0], 10);
    assert_int_equal(lp.top_ids[1], 20);
    assert_int_equal(lp.top_ids[2], 30);
}

/* ---- seeds ----------------------------------------------------------------- */

/* A request's tokens depend only on its seed, not on other requests'
 * draws in between: two samplers interleaved give what each gives alone. */
static void test_seed_independence(void **state) {
    (void)state;
    float l[VOCAB];
    fill_logits(l, 3);
    SamplerParams pa = params(1.0f, 20, 0.95f, 1234);
    pa.min_p = 0.02f;
    pa.frequency_penalty = 0.3f;
    SamplerParams pb = params(0.8f, 0, 1.0f, 99);
    int32_t alone[32], mixed[32], b_alone[64], b_mixed[64];
    Sampler a, b;
    sampler_init(&a, &pa, VOCAB);
    sampler_begin(&a, NULL, 0);
    for (int i = 0; i < 32; i++) sampler_accept(&a, alone[i] = sampler_sample(&a, l, NULL));
    sampler_free(&a);
    run_seq(&pb, l, b_alone, 64);
    sampler_init(&a, &pa, VOCAB);
    sampler_init(&b, &pb, VOCAB);
    sampler_begin(&a, NULL, 0);
    for (int i = 0; i < 32; i++) {
        b_mixed[2 * i] = sampler_sample(&b, l, NULL);
        sampler_accept(&a, mixed[i] = sampler_sample(&a, l, NULL));
        b_mixed[2 * i + 1] = sampler_sample(&b, l, NULL);
    }
    sampler_free(&a);
    sampler_free(&b);
    assert_memory_equal(alone, mixed, sizeof alone);
    assert_memory_equal(b_alone, b_mixed, sizeof b_alone);
    /* and the frequency penalty did spread the draws */
    int distinct = 0;
    for (int i = 0; i < 32; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= alone[j] == alone[i];
        distinct += !seen;
    }
    assert_true(distinct > 4);
}

static void test_rng_reference(void **state) {
    (void)state;
    /* splitmix64(0) first output, the published reference value */
    LlmRng r;
    rng_seed(&r, 0);
    assert_true(r.s[0] == 0xe220a8397b1dcdafull);
    double d = rng_next_double(&r);
    assert_true(d >= 0.0 && d < 1.0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_limits_equal_greedy),
        cmocka_unit_test(test_top_k_support),
        cmocka_unit_test(test_distribution),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_penalize_values),
        cmocka_unit_test(test_penalties_greedy),
        cmocka_unit_test(test_penalty_table),
        cmocka_unit_test(test_pick_table_offset),
        cmocka_unit_test(test_penalties_sampled),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_min_p_then_top_p),
        cmocka_unit_test(test_logprobs_values),
        cmocka_unit_test(test_logprobs_after_penalties),
        cmocka_unit_test(test_logprobs_nan_inf),
        cmocka_unit_test(test_logprobs_top_order),
        cmocka_unit_test(test_seed_independence),
        cmocka_unit_test(test_rng_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
