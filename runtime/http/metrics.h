/* metrics.h - the server's counters and latency histograms, written in
 * the Prometheus text exposition format (version 0.0.4) for GET /metrics.
 *
 * Series (all prefixed llmcc_):
 *   requests_total{code="200"}        counter, responses by HTTP status
 *   requests_cancelled_total          counter, requests cancelled (client gone, shutdown)
 *   prompt_tokens_total               counter, prompt tokens of accepted requests
 *   generation_tokens_total           counter, tokens generated (all samples)
 *   time_to_first_token_seconds       histogram, submission to first token
 *   inter_token_latency_seconds       histogram, every gap between two tokens of a sample
 *   e2e_request_latency_seconds       histogram, submission to the last sample's finish
 *   requests_waiting                  gauge, requests queued in the server, not yet scheduled
 *   sequences_waiting                 gauge, sequences the scheduler has not admitted
 *   sequences_running                 gauge, sequences holding KV blocks
 *   kv_blocks_used, kv_blocks_total   gauges, the paged KV pool
 * Not thread-safe (the server's one thread owns it).
 */
#ifndef LLMCC_HTTP_METRICS_H
#define LLMCC_HTTP_METRICS_H

#include <stdio.h>

#define METRICS_MAX_BUCKETS 24 /* finite bounds per histogram */
#define METRICS_MAX_CODES 16   /* distinct status codes counted */

typedef struct MetricsHistogram {
    const double *bounds;                   /* [n_bounds] ascending upper bounds, seconds */
    int n_bounds;                           /* <= METRICS_MAX_BUCKETS */
    long long counts[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: above all */
    double sum;                             /* of the observed values, seconds */
    long long count;                        /* observations */
} MetricsHistogram;

/* The state gauges, read when /metrics is asked. */
typedef struct MetricsGauges {
    int requests_waiting;
    int sequences_waiting;
    int sequences_running;
    int kv_blocks_used;
    int kv_blocks_total;
} MetricsGauges;

typedef struct Metrics {
    int codes[METRICS_MAX_CODES];         /* status codes seen, ascending */
    long long code_counts[METRICS_MAX_CODES];
    int n_codes;
    long long cancelled;
    long long prompt_tokens;
    long long generation_tokens;
    MetricsHistogram ttft, itl, e2e;
} Metrics;

void metrics_init(Metrics *m);
/* Counts one response with status code (past METRICS_MAX_CODES - 1
 * distinct codes, new ones are counted as 599). */
void metrics_count_code(Metrics *m, int code);
void metrics_observe(MetricsHistogram *h, double seconds);
/* Writes every series. */
void metrics_write(const Metrics *m, const MetricsGauges *g, FILE *f);
/* One histogram's HELP, TYPE, cumulative _bucket lines, _sum and _count. */
void metrics_write_histogram(const MetricsHistogram *h, const char *name, const char *help, FILE *f);

#endif
