/* bench_stats.h - the serving metrics that `bench --concurrency` (in
 * process) and `bench --url` (over HTTP) both report, computed, printed
 * and written to JSON by the same code so that the two read side by side.
 *
 * Percentiles interpolate linearly between ranks (numpy's default); times
 * are kept in seconds and reported in milliseconds. requests/s counts the
 * requests that completed; total tokens/s adds their prompt tokens.
 */
#ifndef LLMCC_CLI_BENCH_STATS_H
#define LLMCC_CLI_BENCH_STATS_H

#include <stdio.h>

#include <jansson.h>

#include "base/error.h"

typedef struct BenchSummary {
    double mean, p50, p90, p99; /* milliseconds */
} BenchSummary;

typedef struct BenchMetrics {
    double seconds;          /* duration of the load, > 0 */
    long long completed;     /* requests that completed */
    long long failed;        /* requests that failed (0 in process) */
    long long input_tokens;  /* prompt tokens of the completed requests */
    long long output_tokens; /* generated tokens of the completed requests */
    BenchSummary ttft, itl, e2e;
} BenchMetrics;

/* The p-th percentile (0..100) of sorted [n]; 0 when n is 0. */
double bench_percentile(const double *sorted, long long n, double p);

/* Sorts v [n] (seconds) and summarises it in milliseconds. */
BenchSummary bench_summarize(double *v, long long n);

/* Prints completed/failed requests, duration, requests/s, tokens/s and the latency table. */
void bench_print_metrics(FILE *out, const BenchMetrics *m);

/* Sets duration_s, completed, failed, requests_per_s, output_tokens_per_s,
 * total_tokens_per_s, ttft_ms, itl_ms and e2e_ms ({mean, p50, p90, p99})
 * in obj. */
void bench_metrics_to_json(json_t *obj, const BenchMetrics *m);

/* Writes obj to path (indented); the message names --json PATH. */
int bench_write_json(const json_t *obj, const char *path, LlmError *err);

#endif
