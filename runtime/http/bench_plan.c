/* bench_plan.c - request lengths and Poisson arrivals (see bench_plan.h). */
#include "http/bench_plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample/rng.h"

/* Stream ids mixed into the seed, one per kind of draw. */
enum { PLAN_STREAM_LENGTHS = 1, PLAN_STREAM_ARRIVALS = 2 };

int bench_length_bounds(const char *flag, int len, double range, int *lo, int *hi, LlmError *err) {
    if (!(range >= 0.0 && range < 1.0))
        return llm_errorf(err, "%s %g: must be in [0, 1)", flag, range);
    double l = (double)len * (1.0 - range), h = (double)len * (1.0 + range);
    if (h > (double)INT32_MAX)
        return llm_errorf(err, "%s %g: %d x (1 + %g) is past %d tokens", flag, range, len, range,
                          INT32_MAX);
    *lo = (int)l < 1 ? 1 : (int)l;
    *hi = (int)h < *lo ? *lo : (int)h;
    return LLM_OK;
}

static int uniform_int(LlmRng *r, int lo, int hi) {
    uint64_t span = (uint64_t)(hi - lo) + 1;
    return lo + (int)(rng_next_u64(r) % span);
}

static void rng_stream(LlmRng *r, uint64_t seed, uint64_t stream) {
    rng_seed(r, seed ^ (stream * 0x9E3779B97F4A7C15ull));
}

int bench_plan_build(const BenchPlanConfig *cfg, BenchPlan *plan, LlmError *err) {
    memset(plan, 0, sizeof *plan);
    int in_lo = 1, in_hi = 1, out_lo = 1, out_hi = 1;
    LLM_ASSERT(cfg->requests >= 1 && cfg->input_len >= 1 && cfg->output_len >= 1);
    if (bench_length_bounds("--input-len-range", cfg->input_len, cfg->input_range, &in_lo, &in_hi,
                            err) != LLM_OK ||
        bench_length_bounds("--output-len-range", cfg->output_len, cfg->output_range, &out_lo,
                            &out_hi, err) != LLM_OK)
        return LLM_ERR;
    if (!(cfg->request_rate >= 0.0 && isfinite(cfg->request_rate)))
        return llm_errorf(err, "--request-rate %g: must be a positive number", cfg->request_rate);
    size_t n = (size_t)cfg->requests;
    plan->n = cfg->requests;
    plan->input_len = llm_xmalloc(n * sizeof(int));
    plan->output_len = llm_xmalloc(n * sizeof(int));
    plan->arrival = llm_xcalloc(n, sizeof(double));
    LlmRng lengths, arrivals;
    rng_stream(&lengths, cfg->seed, PLAN_STREAM_LENGTHS);
    rng_stream(&arrivals, cfg->seed, PLAN_STREAM_ARRIVALS);
    double t = 0.0;
    for (size_t i = 0; i < n; i++) {
        plan->input_len[i] = uniform_int(&lengths, in_lo, in_hi);
        plan->output_len[i] = uniform_int(&lengths, out_lo, out_hi);
        if (i > 0 && cfg->request_rate > 0.0)
            t += -log1p(-rng_next_double(&arrivals)) / cfg->request_rate;
        plan->arrival[i] = t;
    }
    return LLM_OK;
}

void bench_plan_free(BenchPlan *plan) {
    free(plan->input_len);
    free(plan->output_len);
    free(plan->arrival);
    memset(plan, 0, sizeof *plan);
}
