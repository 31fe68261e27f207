/* sampler.c - greedy, temperature, top-k, top-p sampling (see sampler.h).
 *
 * Candidates are sorted only when a cut needs the order (top_k or
 * top_p < 1); a small top-k narrows the set with a bounded selection first,
 * so the common k = 40 on a 150k vocabulary costs one pass, not a sort.
 */
#include "sample/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

SamplerParams sampler_params_default(void) {
    SamplerParams p = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .seed = 0};
    return p;
}

int sampler_params_validate(const SamplerParams *p, LlmError *err) {
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        return llm_errorf(err, "--temperature %g: must be a finite number >= 0",
                          (double)p->temperature);
    if (p->top_k < 0) return llm_errorf(err, "--top-k %d: must be >= 0", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return llm_errorf(err, "--top-p %g: must be in (0, 1]", (double)p->top_p);
    return LLM_OK;
}

void sampler_init(Sampler *s, const SamplerParams *p, int vocab) {
    LLM_ASSERT(vocab > 0);
    s->params = *p;
    s->vocab = vocab;
    rng_seed(&s->rng, p->seed);
    s->cands = llm_xmalloc(sizeof(SampleCandidate) * (size_t)vocab);
}

void sampler_free(Sampler *s) {
    free(s->cands);
    memset(s, 0, sizeof *s);
}

int32_t sampler_argmax(const float *logits, int n) {
    int32_t best = 0;
    float best_v = -INFINITY;
    int found = 0;
    for (int i = 0; i < n; i++) {
        float v = logits[i];
        if (isnan(v)) continue;
        if (!found || v > best_v) {
            best = i;
            best_v = v;
            found = 1;
        }
    }
    return best;
}

/* 1 when candidate a ranks before b: larger value, then lower id. */
static int ranks_before(const SampleCandidate *a, const SampleCandidate *b) {
    return a->value > b->value || (a->value == b->value && a->id < b->id);
}

static int compare_candidates(const void *pa, const void *pb) {
    const SampleCandidate *a = pa, *b = pb;
    if (ranks_before(a, b)) return -1;
    return ranks_before(b, a) ? 1 : 0;
}

/* Keeps the k best of c [n] in the first k slots, sorted by rank. A small k
 * keeps a sorted window (O(n * k) worst case, O(n) typical); a large k
 * sorts everything. */
static int select_top_k(SampleCandidate *c, int n, int k) {
    if (k <= 0 || k >= n) return n;
    if (k > 64) {
        qsort(c, (size_t)n, sizeof *c, compare_candidates);
        return k;
    }
    qsort(c, (size_t)k, sizeof *c, compare_candidates);
    for (int i = k; i < n; i++) {
        if (!ranks_before(&c[i], &c[k - 1])) continue;
        SampleCandidate x = c[i];
        int j = k - 1;
        for (; j > 0 && ranks_before(&x, &c[j - 1]); j--) c[j] = c[j - 1];
        c[j] = x;
    }
    return k;
}

/* Turns scaled logits c [n] into unnormalised exp weights; returns the sum.
 * An infinite maximum gives all its mass to the candidates equal to it. */
static double softmax_weights(SampleCandidate *c, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (c[i].value > mx) mx = c[i].value;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        c[i].value = isinf(mx) ? (c[i].value == mx ? 1.0f : 0.0f) : expf(c[i].value - mx);
        sum += c[i].value;
    }
    return sum;
}

/* Shortest prefix of sorted c [n] whose weight reaches top_p of sum (at
 * least one); *sum becomes the prefix's weight. */
static int nucleus_cut(const SampleCandidate *c, int n, float top_p, double *sum) {
    double target = (double)top_p * *sum, acc = 0.0;
    int keep = 0;
    while (keep < n && (keep == 0 || acc < target)) acc += c[keep++].value;
    *sum = acc;
    return keep;
}

/* Draws from weights c [n] with total mass sum. */
static int32_t draw(double uniform, const SampleCandidate *c, int n, double sum) {
    double u = uniform * sum;
    double acc = 0.0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].value <= 0.0f) continue;
        acc += c[i].value;
        last = i;
        if (u < acc) return c[i].id;
    }
    return c[last].id; /* rounding left u at the very top */
}

int32_t sampler_pick(const LlmSampleRow *row, const float *logits, int vocab,
                     SampleCandidate *cands) {
    if (row->temperature == 0.0f) return sampler_argmax(logits, vocab);
    int n = 0;
    for (int i = 0; i < vocab; i++) {
        if (isnan(logits[i])) continue;
        cands[n].id = i;
        cands[n++].value = logits[i] / row->temperature;
    }
    if (n == 0) return 0;
    int sorted = row->top_k > 0 && row->top_k < n;
    n = select_top_k(cands, n, row->top_k);
    if (row->top_p < 1.0f && !sorted) qsort(cands, (size_t)n, sizeof *cands, compare_candidates);
    double sum = softmax_weights(cands, n);
    if (row->top_p < 1.0f) n = nucleus_cut(cands, n, row->top_p, &sum);
    return draw(row->uniform, cands, n, sum);
}

void sampler_next_row(Sampler *s, LlmSampleRow *row) {
    row->temperature = s->params.temperature;
    row->top_k = s->params.top_k;
    row->top_p = s->params.top_p;
    row->uniform = s->params.temperature == 0.0f ? 0.0 : rng_next_double(&s->rng);
}

int32_t sampler_sample(Sampler *s, const float *logits) {
    LlmSampleRow row;
    sampler_next_row(s, &row);
    return sampler_pick(&row, logits, s->vocab, s->cands);
}
