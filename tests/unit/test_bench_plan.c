/* test_bench_plan.c - what `bench --url` plans (runtime/http/bench_plan.h)
 * and where it sends it (runtime/http/http_url.h): length bounds as vLLM's
 * random dataset draws them, lengths within them covering both ends, the
 * Poisson arrivals (first at 0, non-decreasing, mean gap 1 / rate over a
 * long seeded run), same seed same plan, the rate not changing the
 * lengths; URLs, their endpoints and every refused form. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/bench_plan.h"
#include "http/http_url.h"

static void test_bounds(void **state) {
    (void)state;
    LlmError err = {{0}};
    int lo = 0, hi = 0;
    assert_int_equal(bench_length_bounds("--input-len-range", 100, 0.0, &lo, &hi, &err), LLM_OK);
    assert_true(lo == 100 && hi == 100);
    assert_int_equal(bench_length_bounds("--input-len-range", 10, 0.5, &lo, &hi, &err), LLM_OK);
    assert_true(lo == 5 && hi == 15);
    assert_int_equal(bench_length_bounds("--input-len-range", 7, 0.3, &lo, &hi, &err), LLM_OK);
    assert_true(lo == 4 && hi == 9); /* int(4.9), int(9.1) */
    assert_int_equal(bench_length_bounds("--output-len-range", 1, 0.9, &lo, &hi, &err), LLM_OK);
    assert_true(lo == 1 && hi == 1); /* never below 1 */
    assert_int_equal(bench_length_bounds("--output-len-range", 5, 1.0, &lo, &hi, &err), LLM_ERR);
    assert_string_equal(err.msg, "--output-len-range 1: must be in [0, 1)");
    assert_int_equal(bench_length_bounds("--input-len-range", 5, -0.1, &lo, &hi, &err), LLM_ERR);
    assert_string_equal(err.msg, "--input-len-range -0.1: must be in [0, 1)");
    assert_int_equal(bench_length_bounds("--input-len-range", 5, NAN, &lo, &hi, &err), LLM_ERR);
    assert_int_equal(bench_length_bounds("--input-len-range", 2000000000, 0.5, &lo, &hi, &err), LLM_ERR);
}

static BenchPlan build(BenchPlanConfig c) {
    BenchPlan p;
    LlmError err = {{0}};
    if (bench_plan_build(&c, &p, &err) != LLM_OK) fail_msg("%s", err.msg);
    return p;
}

static void test_fixed_lengths_all_at_once(void **state) {
    (void)state;
    BenchPlan p = build((BenchPlanConfig){.requests = 50, .input_len = 32, .output_len = 7});
    assert_int_equal(p.n, 50);
    for (int i = 0; i < p.n; i++)
        assert_true(p.input_len[i] == 32 && p.output_len[i] == 7 && p.arrival[i] == 0.0);
    bench_plan_free(&p);
}

static void test_ranges(void **state) {
    (void)state;
    BenchPlanConfig c = {.requests = 2000, .input_len = 10, .input_range = 0.5, .output_len = 100,
                         .output_range = 0.25, .seed = 3};
    BenchPlan p = build(c);
    int seen_in[16] = {0}, out_lo = 1000, out_hi = 0;
    for (int i = 0; i < p.n; i++) {
        assert_in_range(p.input_len[i], 5, 15);
        assert_in_range(p.output_len[i], 75, 125);
        seen_in[p.input_len[i]]++;
        out_lo = p.output_len[i] < out_lo ? p.output_len[i] : out_lo;
        out_hi = p.output_len[i] > out_hi ? p.output_len[i] : out_hi;
    }
    for (int k = 5; k <= 15; k++) assert_true(seen_in[k] > 100); /* ~182 each: uniform */
    assert_true(out_lo == 75 && out_hi == 125);
    BenchPlan q = build(c); /* same seed, same plan */
    assert_memory_equal(p.input_len, q.input_len, sizeof(int) * 2000);
    assert_memory_equal(p.output_len, q.output_len, sizeof(int) * 2000);
    bench_plan_free(&q);
    c.seed = 4;
    q = build(c);
    assert_memory_not_equal(p.input_len, q.input_len, sizeof(int) * 2000);
    bench_plan_free(&q);
    c.seed = 3;
    c.request_rate = 10.0; /* arrivals come from their own stream */
    q = build(c);
    assert_memory_equal(p.input_len, q.input_len, sizeof(int) * 2000);
    assert_memory_equal(p.output_len, q.output_len, sizeof(int) * 2000);
    bench_plan_free(&q);
    bench_plan_free(&p);
}

static void test_poisson(void **state) {
    (void)state;
    BenchPlan p = build((BenchPlanConfig){.requests = 20000, .input_len = 8, .output_len = 8,
                                          .request_rate = 4.0, .seed = 11});
    assert_true(p.arrival[0] == 0.0);
    double sum_sq = 0.0;
    for (int i = 1; i < p.n; i++) {
        double gap = p.arrival[i] - p.arrival[i - 1];
        assert_true(gap >= 0.0);
        sum_sq += gap * gap;
    }
    double mean = p.arrival[p.n - 1] / (p.n - 1);
    /* exponential with rate 4: mean 0.25, E[gap^2] = 2 / 16; 20000 draws */
    assert_true(fabs(mean - 0.25) < 0.01);
    assert_true(fabs(sum_sq / (p.n - 1) - 0.125) < 0.01);
    bench_plan_free(&p);
}

static void test_bad_rate(void **state) {
    (void)state;
    BenchPlan p;
    LlmError err = {{0}};
    BenchPlanConfig c = {.requests = 2, .input_len = 8, .output_len = 8, .request_rate = -1.0};
    assert_int_equal(bench_plan_build(&c, &p, &err), LLM_ERR);
    assert_string_equal(err.msg, "--request-rate -1: must be a positive number");
    c.request_rate = 0.0;
    c.output_range = 1.5;
    assert_int_equal(bench_plan_build(&c, &p, &err), LLM_ERR);
    assert_string_equal(err.msg, "--output-len-range 1.5: must be in [0, 1)");
}

static void url_ok(const char *text, const char *host, int port, const char *api, const char *path) {
    HttpUrl u;
    LlmError err = {{0}};
    if (http_url_parse(text, &u, &err) != LLM_OK) fail_msg("%s: %s", text, err.msg);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    char out[HTTP_URL_PATH_MAX + 32];
    http_url_endpoint(&u, api, out, sizeof out);
    assert_string_equal(out, path);
}

static void test_urls(void **state) {
    (void)state;
    url_ok("http://127.0.0.1:8000", "127.0.0.1", 8000, "completions", "/v1/completions");
    url_ok("HTTP://Example.org/", "Example.org", 80, "chat/completions", "/v1/chat/completions");
    url_ok("http://h:1/v1", "h", 1, "completions", "/v1/completions");
    url_ok("http://h:65535/api/v1/", "h", 65535, "completions", "/api/v1/completions");
    url_ok("http://h/base//", "h", 80, "completions", "/base/v1/completions");
    url_ok("http://[::1]:9/", "::1", 9, "completions", "/v1/completions");
    url_ok("http://[::1]", "::1", 80, "completions", "/v1/completions");
}

static void url_bad(const char *text, const char *msg) {
    HttpUrl u;
    LlmError err = {{0}};
    assert_int_equal(http_url_parse(text, &u, &err), LLM_ERR);
    if (strstr(err.msg, msg) == NULL) fail_msg("%s: got '%s', want '%s'", text, err.msg, msg);
    if (strncmp(err.msg, "--url ", 6) != 0) fail_msg("%s: '%s' does not name --url", text, err.msg);
}

static void test_bad_urls(void **state) {
    (void)state;
    url_bad("", "expected http://HOST[:PORT][/PATH]");
    url_bad("ftp://h", "expected http://");
    url_bad("https://h", "https is not supported");
    url_bad("http://", "no host");
    url_bad("http://:8000", "no host");
    url_bad("http://h:", "port '' is not a number");
    url_bad("http://h:0", "port '0'");
    url_bad("http://h:65536", "port '65536'");
    url_bad("http://h:123456789012", "port '123456789012'");
    url_bad("http://h:-1", "port '-1'");
    url_bad("http://u:p@h", "user info");
    url_bad("http://h/x?y", "query strings");
    url_bad("http://h#f", "fragments");
    url_bad("http://[::1", "without ']'");
    url_bad("http://[::1]x", "after the IPv6 address");
    url_bad("http://h/a b", "space");
    char long_host[400];
    memset(long_host, 'a', sizeof long_host);
    memcpy(long_host, "http://", 7);
    long_host[sizeof long_host - 1] = '\0';
    url_bad(long_host, "host longer than 255 bytes");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds), cmocka_unit_test(test_fixed_lengths_all_at_once),
        cmocka_unit_test(test_ranges), cmocka_unit_test(test_poisson),
        cmocka_unit_test(test_bad_rate), cmocka_unit_test(test_urls),
        cmocka_unit_test(test_bad_urls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
