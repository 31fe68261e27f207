/* test_http_metrics.c - the server's Prometheus text (http/metrics.h):
 * histogram buckets are cumulative with the bound as its le label, a
 * value on a bound counts in that bucket, +Inf holds everything, _sum and
 * _count follow; status codes come out in ascending order, and past
 * METRICS_MAX_CODES distinct codes the rest count as 599; every series the
 * server documents is written with its TYPE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/metrics.h"

/* What was written to f, malloc'd; closes f. */
static char *slurp(FILE *f) {
    long n = ftell(f);
    char *text = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(text, 1, (size_t)n, f);
    text[got] = '\0';
    fclose(f);
    return text;
}

static char *render_histogram(const MetricsHistogram *h) {
    FILE *f = tmpfile();
    metrics_write_histogram(h, "x_seconds", "Help text.", f);
    return slurp(f);
}

static void test_histogram_text(void **state) {
    (void)state;
    static const double bounds[] = {0.1, 0.5, 2.0};
    MetricsHistogram h = {.bounds = bounds, .n_bounds = 3};
    metrics_observe(&h, 0.05);
    metrics_observe(&h, 0.1); /* on a bound: that bucket (le is <=) */
    metrics_observe(&h, 1.0);
    metrics_observe(&h, 7.0); /* above every bound: +Inf only */
    char *text = render_histogram(&h);
    assert_string_equal(text, "# HELP x_seconds Help text.\n"
                              "# TYPE x_seconds histogram\n"
                              "x_seconds_bucket{le=\"0.1\"} 2\n"
                              "x_seconds_bucket{le=\"0.5\"} 2\n"
                              "x_seconds_bucket{le=\"2\"} 3\n"
                              "x_seconds_bucket{le=\"+Inf\"} 4\n"
                              "x_seconds_sum 8.15\n"
                              "x_seconds_count 4\n");
    free(text);
}

static void test_empty_histogram(void **state) {
    (void)state;
    static const double bounds[] = {1.0};
    MetricsHistogram h = {.bounds = bounds, .n_bounds = 1};
    char *text = render_histogram(&h);
    assert_non_null(strstr(text, "x_seconds_bucket{le=\"+Inf\"} 0\nx_seconds_sum 0\nx_seconds_count 0\n"));
    free(text);
}

static char *render_all(const Metrics *m) {
    MetricsGauges g = {.requests_waiting = 1, .sequences_waiting = 2, .sequences_running = 3,
                       .kv_blocks_used = 4, .kv_blocks_total = 50};
    FILE *f = tmpfile();
    metrics_write(m, &g, f);
    return slurp(f);
}

/* Offset of what in text, -1 when absent. */
static long position(const char *text, const char *what) {
    const char *p = strstr(text, what);
    return p != NULL ? (long)(p - text) : -1;
}

static void test_codes_sorted_and_capped(void **state) {
    (void)state;
    Metrics m;
    metrics_init(&m);
    metrics_count_code(&m, 404);
    metrics_count_code(&m, 200);
    metrics_count_code(&m, 200);
    metrics_count_code(&m, 400);
    char *text = render_all(&m);
    long a = position(text, "llmcc_requests_total{code=\"200\"} 2\n");
    long b = position(text, "llmcc_requests_total{code=\"400\"} 1\n");
    long c = position(text, "llmcc_requests_total{code=\"404\"} 1\n");
    assert_true(a >= 0 && a < b && b < c);
    free(text);
    for (int code = 100; code < 100 + METRICS_MAX_CODES + 5; code++) metrics_count_code(&m, code);
    assert_int_equal(m.n_codes, METRICS_MAX_CODES);
    for (int i = 1; i < m.n_codes; i++) assert_true(m.codes[i - 1] < m.codes[i]);
    long long total = 0;
    for (int i = 0; i < m.n_codes; i++) total += m.code_counts[i];
    assert_int_equal(total, 4 + METRICS_MAX_CODES + 5); /* nothing lost */
    assert_int_equal(m.codes[m.n_codes - 1], 599);
}

static void test_every_series(void **state) {
    (void)state;
    Metrics m;
    metrics_init(&m);
    metrics_observe(&m.ttft, 0.02);
    metrics_observe(&m.itl, 0.003);
    metrics_observe(&m.e2e, 0.4);
    m.prompt_tokens = 12;
    m.generation_tokens = 34;
    m.cancelled = 5;
    char *text = render_all(&m);
    static const char *const want[] = {
        "# TYPE llmcc_requests_total counter\n",
        "# TYPE llmcc_requests_cancelled_total counter\nllmcc_requests_cancelled_total 5\n",
        "llmcc_prompt_tokens_total 12\n", "llmcc_generation_tokens_total 34\n",
        "# TYPE llmcc_time_to_first_token_seconds histogram\n",
        "llmcc_time_to_first_token_seconds_bucket{le=\"0.02\"} 1\n",
        "llmcc_time_to_first_token_seconds_bucket{le=\"0.01\"} 0\n",
        "llmcc_inter_token_latency_seconds_bucket{le=\"0.005\"} 1\n",
        "llmcc_e2e_request_latency_seconds_count 1\n",
        "# TYPE llmcc_requests_waiting gauge\nllmcc_requests_waiting 1\n",
        "llmcc_sequences_waiting 2\n", "llmcc_sequences_running 3\n", "llmcc_kv_blocks_used 4\n",
        "llmcc_kv_blocks_total 50\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(text, want[i]) == NULL) fail_msg("missing %s in\n%s", want[i], text);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_empty_histogram),
        cmocka_unit_test(test_codes_sorted_and_capped),
        cmocka_unit_test(test_every_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
