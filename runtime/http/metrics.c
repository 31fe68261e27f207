/* metrics.c - counters, histograms, Prometheus text (see metrics.h). */
#include "http/metrics.h"

#include <string.h>

#include "base/error.h"

/* Bucket bounds in seconds (vLLM's, with finer steps at the low end for
 * small models). */
static const double METRICS_TTFT_BOUNDS[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                              0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
                                              40.0, 80.0};
static const double METRICS_ITL_BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1,
                                             0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5};
static const double METRICS_E2E_BOUNDS[] = {0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5,
                                             5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0};
#define METRICS_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void histogram_init(MetricsHistogram *h, const double *bounds, int n) {
    LLM_ASSERT(n <= METRICS_MAX_BUCKETS);
    memset(h, 0, sizeof *h);
    h->bounds = bounds;
    h->n_bounds = n;
}

void metrics_init(Metrics *m) {
    memset(m, 0, sizeof *m);
    histogram_init(&m->ttft, METRICS_TTFT_BOUNDS, METRICS_COUNT(METRICS_TTFT_BOUNDS));
    histogram_init(&m->itl, METRICS_ITL_BOUNDS, METRICS_COUNT(METRICS_ITL_BOUNDS));
    histogram_init(&m->e2e, METRICS_E2E_BOUNDS, METRICS_COUNT(METRICS_E2E_BOUNDS));
}

void metrics_count_code(Metrics *m, int code) {
    int i = 0;
    while (i < m->n_codes && m->codes[i] < code) i++;
    if (i < m->n_codes && m->codes[i] == code) {
        m->code_counts[i]++;
        return;
    }
    if (m->n_codes >= METRICS_MAX_CODES - 1 && code != 599) { /* the last slot is 599's */
        metrics_count_code(m, 599);
        return;
    }
    memmove(&m->codes[i + 1], &m->codes[i], sizeof(int) * (size_t)(m->n_codes - i));
    memmove(&m->code_counts[i + 1], &m->code_counts[i], sizeof(long long) * (size_t)(m->n_codes - i));
    m->codes[i] = code;
    m->code_counts[i] = 1;
    m->n_codes++;
}

void metrics_observe(MetricsHistogram *h, double seconds) {
    int b = 0;
    while (b < h->n_bounds && seconds > h->bounds[b]) b++;
    h->counts[b]++;
    h->sum += seconds;
    h->count++;
}

void metrics_write_histogram(const MetricsHistogram *h, const char *name, const char *help, FILE *f) {
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    long long cum = 0;
    for (int b = 0; b < h->n_bounds; b++) {
        cum += h->counts[b];
        fprintf(f, "%s_bucket{le=\"%g\"} %lld\n", name, h->bounds[b], cum);
    }
    cum += h->counts[h->n_bounds];
    fprintf(f, "%s_bucket{le=\"+Inf\"} %lld\n%s_sum %.9g\n%s_count %lld\n", name, cum, name, h->sum,
            name, h->count);
}

static void write_scalar(FILE *f, const char *name, const char *type, const char *help, long long v) {
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %lld\n", name, help, name, type, name, v);
}

void metrics_write(const Metrics *m, const MetricsGauges *g, FILE *f) {
    fputs("# HELP llmcc_requests_total Responses by HTTP status code.\n"
          "# TYPE llmcc_requests_total counter\n", f);
    for (int i = 0; i < m->n_codes; i++)
        fprintf(f, "llmcc_requests_total{code=\"%d\"} %lld\n", m->codes[i], m->code_counts[i]);
    write_scalar(f, "llmcc_requests_cancelled_total", "counter",
                 "Requests cancelled (client disconnected, or shutdown).", m->cancelled);
    write_scalar(f, "llmcc_prompt_tokens_total", "counter", "Prompt tokens of accepted requests.",
                 m->prompt_tokens);
    write_scalar(f, "llmcc_generation_tokens_total", "counter", "Tokens generated.",
                 m->generation_tokens);
    metrics_write_histogram(&m->ttft, "llmcc_time_to_first_token_seconds",
                            "Submission to the first token.", f);
    metrics_write_histogram(&m->itl, "llmcc_inter_token_latency_seconds",
                            "Gap between consecutive tokens of a sample.", f);
    metrics_write_histogram(&m->e2e, "llmcc_e2e_request_latency_seconds",
                            "Submission to the end of the request.", f);
    write_scalar(f, "llmcc_requests_waiting", "gauge",
                 "Requests queued in the server, not yet given to the scheduler.", g->requests_waiting);
    write_scalar(f, "llmcc_sequences_waiting", "gauge",
                 "Sequences waiting for admission by the scheduler.", g->sequences_waiting);
    write_scalar(f, "llmcc_sequences_running", "gauge", "Sequences holding KV blocks.",
                 g->sequences_running);
    write_scalar(f, "llmcc_kv_blocks_used", "gauge", "KV cache blocks in use.", g->kv_blocks_used);
    write_scalar(f, "llmcc_kv_blocks_total", "gauge", "KV cache blocks in the pool.", g->kv_blocks_total);
}
