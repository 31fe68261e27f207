/* bench_plan.h - what an HTTP serving benchmark sends, decided before it
 * starts: every request's prompt and output length and its arrival time.
 *
 * Lengths: L exactly, or with a range F in [0, 1) uniform over the integers
 * of [int(L(1-F)), int(L(1+F))] (vLLM benchmark_serving's random dataset;
 * never below 1). Arrivals: all at 0 (a fixed number of clients keep one
 * request in flight each), or a Poisson process of rate lambda: the gaps
 * are exponential with mean 1 / lambda, the first request at 0. Everything
 * comes from one seed (xoshiro256**, sample/rng.h), lengths and arrivals
 * from separate streams, so the same seed gives the same plan, and turning
 * on --request-rate does not change the lengths.
 */
#ifndef LLMCC_HTTP_BENCH_PLAN_H
#define LLMCC_HTTP_BENCH_PLAN_H

#include <stdint.h>

#include "base/error.h"

typedef struct BenchPlanConfig {
    int requests;        /* >= 1 */
    int input_len;       /* prompt tokens, >= 1 */
    double input_range;  /* F of the prompt lengths, [0, 1) */
    int output_len;      /* max_tokens, >= 1 */
    double output_range; /* F of the output lengths, [0, 1) */
    double request_rate; /* requests/s of the Poisson arrivals; 0 = all at time 0 */
    uint64_t seed;
} BenchPlanConfig;

typedef struct BenchPlan {
    int n;            /* requests */
    int *input_len;   /* [n] prompt tokens */
    int *output_len;  /* [n] max_tokens */
    double *arrival;  /* [n] seconds from the start, non-decreasing, arrival[0] = 0 */
} BenchPlan;

/* The integer range [*lo, *hi] of a length L with range F (flag names the
 * option in messages: "--input-len-range"). Errors: F outside [0, 1). */
int bench_length_bounds(const char *flag, int len, double range, int *lo, int *hi, LlmError *err);

int bench_plan_build(const BenchPlanConfig *cfg, BenchPlan *plan, LlmError *err);
void bench_plan_free(BenchPlan *plan);

#endif
