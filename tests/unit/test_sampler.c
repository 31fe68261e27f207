/* test_sampler.c - greedy, determinism, top-k/top-p limits, validation and
 * a frequency check of the sampled distribution. */
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
    SamplerParams sp = {.temperature = t, .top_k = k, .top_p = p, .seed = seed};
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
    assert_int_equal(sampler_sample(&s, l), 7); /* tie -> lowest id */
    l[9] = 3.5f;
    assert_int_equal(sampler_sample(&s, l), 9);
    sampler_free(&s);
    assert_int_equal(sampler_argmax(l, 0), 0);
}

static void run_seq(const SamplerParams *p, const float *l, int32_t *out, int n) {
    Sampler s;
    sampler_init(&s, p, VOCAB);
    for (int i = 0; i < n; i++) out[i] = sampler_sample(&s, l);
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
            for (int d = 0; d < 2000; d++) assert_true(l[sampler_sample(&s, l)] >= sorted[m]);
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
    for (int i = 0; i < n; i++) counts[sampler_sample(&s, l)]++;
    sampler_free(&s);
    assert_true(fabs(counts[1] / (double)n - 0.1) < 0.015);
    assert_true(fabs(counts[2] / (double)n - 0.2) < 0.015);
    assert_true(fabs(counts[3] / (double)n - 0.7) < 0.015);
    /* top_p 0.75 keeps {3, 2}: 0.7 / 0.9 and 0.2 / 0.9 */
    memset(counts, 0, sizeof counts);
    p.top_p = 0.75f;
    sampler_init(&s, &p, VOCAB);
    for (int i = 0; i < n; i++) counts[sampler_sample(&s, l)]++;
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
        cmocka_unit_test(test_rng_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
