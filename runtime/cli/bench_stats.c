/* bench_stats.c - serving-benchmark statistics and their printing (see
 * bench_stats.h). */
#include "cli/bench_stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(const double *sorted, long long n, double p) {
    if (n == 0) return 0.0;
    double pos = p / 100.0 * (double)(n - 1);
    long long lo = (long long)floor(pos);
    if (lo >= n - 1) return sorted[n - 1];
    return sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (pos - (double)lo);
}

BenchSummary bench_summarize(double *v, long long n) {
    if (n > 0) qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0.0;
    for (long long i = 0; i < n; i++) sum += v[i];
    BenchSummary s = {n ? 1e3 * sum / (double)n : 0.0, 1e3 * bench_percentile(v, n, 50),
                      1e3 * bench_percentile(v, n, 90), 1e3 * bench_percentile(v, n, 99)};
    return s;
}

void bench_print_metrics(FILE *out, const BenchMetrics *m) {
    long long all = m->completed + m->failed;
    fprintf(out, "requests               %lld completed, %lld failed (success rate %.1f%%)\n",
            m->completed, m->failed, all ? 100.0 * (double)m->completed / (double)all : 0.0);
    fprintf(out, "duration               %.3f s\n", m->seconds);
    fprintf(out, "requests/s             %.3f\n", (double)m->completed / m->seconds);
    fprintf(out, "output tokens/s        %.1f\n", (double)m->output_tokens / m->seconds);
    fprintf(out, "total tokens/s         %.1f (prompt + output)\n",
            (double)(m->output_tokens + m->input_tokens) / m->seconds);
    fprintf(out, "                       %10s %10s %10s %10s\n", "mean", "p50", "p90", "p99");
    const BenchSummary *sums[3] = {&m->ttft, &m->itl, &m->e2e};
    const char *names[3] = {"TTFT (ms)", "inter-token (ms)", "end-to-end (ms)"};
    for (int i = 0; i < 3; i++)
        fprintf(out, "%-22s %10.3f %10.3f %10.3f %10.3f\n", names[i], sums[i]->mean, sums[i]->p50,
                sums[i]->p90, sums[i]->p99);
}

static json_t *summary_json(BenchSummary s) {
    return json_pack("{s:f,s:f,s:f,s:f}", "mean", s.mean, "p50", s.p50, "p90", s.p90, "p99", s.p99);
}

void bench_metrics_to_json(json_t *obj, const BenchMetrics *m) {
    json_object_set_new(obj, "duration_s", json_real(m->seconds));
    json_object_set_new(obj, "completed", json_integer(m->completed));
    json_object_set_new(obj, "failed", json_integer(m->failed));
    json_object_set_new(obj, "requests_per_s", json_real((double)m->completed / m->seconds));
    json_object_set_new(obj, "output_tokens_per_s", json_real((double)m->output_tokens / m->seconds));
    json_object_set_new(obj, "total_tokens_per_s",
                        json_real((double)(m->output_tokens + m->input_tokens) / m->seconds));
    json_object_set_new(obj, "ttft_ms", summary_json(m->ttft));
    json_object_set_new(obj, "itl_ms", summary_json(m->itl));
    json_object_set_new(obj, "e2e_ms", summary_json(m->e2e));
}

int bench_write_json(const json_t *obj, const char *path, LlmError *err) {
    if (json_dump_file(obj, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) == 0) return LLM_OK;
    return llm_errorf(err, "--json %s: cannot write", path);
}
