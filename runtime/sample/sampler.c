/* sampler.c - the host sampler: penalties, logprobs, greedy, temperature,
 * top-k, min-p, top-p and the draw (the rule is in sampler.h).
 *
 * Candidates start in id order holding the penalised logits. They are
 * sorted only when a cut needs the order (top_k or top_p < 1); a small
 * top-k narrows the set with a bounded selection first, so the common
 * k = 40 on a 150k vocabulary costs one pass, not a sort. Min-p needs no
 * order: it zeroes weights, and in sorted order what it keeps is a prefix.
 */
#include "sample/sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

SamplerParams sampler_params_default(void) {
    SamplerParams p = {.temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f,
                       .repetition_penalty = 1.0f, .presence_penalty = 0.0f,
                       .frequency_penalty = 0.0f, .logprobs = -1, .seed = 0};
    return p;
}

const SamplerNames SAMPLER_FLAG_NAMES = {
    "--temperature", "--top-k", "--top-p", "--min-p", "--repeat-penalty",
    "--presence-penalty", "--frequency-penalty", "--logprobs"};
const SamplerNames SAMPLER_FIELD_NAMES = {
    "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
    "presence_penalty", "frequency_penalty", "logprobs"};

static int check_openai_penalty(const char *name, float v, LlmError *err) {
    if (!(v >= -2.0f && v <= 2.0f))
        return llm_errorf(err, "%s %g: must be in [-2, 2]", name, (double)v);
    return LLM_OK;
}

int sampler_params_check(const SamplerParams *p, const SamplerNames *n, LlmError *err) {
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        return llm_errorf(err, "%s %g: must be a finite number >= 0", n->temperature,
                          (double)p->temperature);
    if (p->top_k < 0) return llm_errorf(err, "%s %d: must be >= 0", n->top_k, p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return llm_errorf(err, "%s %g: must be in (0, 1]", n->top_p, (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return llm_errorf(err, "%s %g: must be in [0, 1]", n->min_p, (double)p->min_p);
    if (!(p->repetition_penalty > 0.0f) || isinf(p->repetition_penalty))
        return llm_errorf(err, "%s %g: must be a finite number > 0 (1 = off)",
                          n->repetition_penalty, (double)p->repetition_penalty);
    if (check_openai_penalty(n->presence_penalty, p->presence_penalty, err) != LLM_OK ||
        check_openai_penalty(n->frequency_penalty, p->frequency_penalty, err) != LLM_OK)
        return LLM_ERR;
    if (p->logprobs < -1 || p->logprobs > LLM_LOGPROBS_MAX)
        return llm_errorf(err, "%s %d: must be in [0, %d]", n->logprobs, p->logprobs,
                          LLM_LOGPROBS_MAX);
    return LLM_OK;
}

int sampler_params_validate(const SamplerParams *p, LlmError *err) {
    return sampler_params_check(p, &SAMPLER_FLAG_NAMES, err);
}

static int penalties_on(const SamplerParams *p) {
    return p->repetition_penalty != 1.0f || p->presence_penalty != 0.0f ||
           p->frequency_penalty != 0.0f;
}

void sampler_init(Sampler *s, const SamplerParams *p, int vocab) {
    LLM_ASSERT(vocab > 0);
    memset(s, 0, sizeof *s);
    s->params = *p;
    s->vocab = vocab;
    rng_seed(&s->rng, p->seed);
    s->cands = llm_xmalloc(sizeof(SampleCandidate) * (size_t)vocab);
    if (penalties_on(p)) {
        s->counts = llm_xmalloc(sizeof(LlmTokenCount) * (size_t)vocab);
        s->slot = llm_xmalloc(sizeof(int32_t) * (size_t)vocab);
        for (int i = 0; i < vocab; i++) s->slot[i] = -1;
    }
}

void sampler_free(Sampler *s) {
    free(s->cands);
    free(s->counts);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

int sampler_has_penalties(const Sampler *s) { return s->slot != NULL; }

/* The table entry of id, added with count 0 if absent. */
static LlmTokenCount *table_entry(Sampler *s, int32_t id) {
    LLM_ASSERT(id >= 0 && id < s->vocab);
    if (s->slot[id] < 0) {
        s->slot[id] = s->n_counts;
        s->counts[s->n_counts].id = id;
        s->counts[s->n_counts++].count = 0;
    }
    return &s->counts[s->slot[id]];
}

void sampler_begin(Sampler *s, const int32_t *prompt, int n) {
    if (s->slot == NULL) return;
    for (int i = 0; i < s->n_counts; i++) s->slot[s->counts[i].id] = -1;
    s->n_counts = 0;
    for (int i = 0; i < n; i++) table_entry(s, prompt[i]);
}

void sampler_accept(Sampler *s, int32_t id) {
    if (s->slot == NULL) return;
    table_entry(s, id)->count++;
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

/* ---- candidates ---------------------------------------------------------- */

/* 1 when candidate a ranks before b: larger value, then lower id. */
static int ranks_before(const SampleCandidate *a, const SampleCandidate *b) {
    return a->value > b->value || (a->value == b->value && a->id < b->id);
}

static int compare_candidates(const void *pa, const void *pb) {
    const SampleCandidate *a = pa, *b = pb;
    if (ranks_before(a, b)) return -1;
    return ranks_before(b, a) ? 1 : 0;
}

/* Overwrites the listed tokens' values (c in id order) with their
 * penalised logits, computed from the raw logits. */
static void apply_penalties(SampleCandidate *c, int vocab, const float *logits,
                            const LlmSampleRow *row, const LlmTokenCount *list) {
    for (int j = 0; j < row->n_counts; j++) {
        int32_t id = list[j].id;
        LLM_ASSERT(id >= 0 && id < vocab);
        c[id].value = sample_penalize(logits[id], list[j].count, row);
    }
}

/* The penalised logit of token id (raw logit v). */
static float penalised_logit(const LlmSampleRow *row, const LlmTokenCount *list, int32_t id,
                             float v) {
    if (list == NULL) return v;
    for (int j = 0; j < row->n_counts; j++)
        if (list[j].id == id) return sample_penalize(v, list[j].count, row);
    return v;
}

/* Index of the largest non-NaN value of c [n] (in id order), ties to the
 * lowest; 0 if all are NaN. */
static int32_t argmax_candidates(const SampleCandidate *c, int n) {
    int32_t best = 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (isnan(c[i].value)) continue;
        if (!found || c[i].value > c[best].value) {
            best = i;
            found = 1;
        }
    }
    return best;
}

/* ---- logprobs ------------------------------------------------------------ */

/* What a log-softmax over one row needs: its max and log(sum of weights). */
typedef struct LogNorm {
    float mx;       /* largest non-NaN value (-inf if none) */
    double log_sum; /* log of the summed softmax weights */
} LogNorm;

static LogNorm log_normaliser(const SampleCandidate *c, int n) {
    LogNorm z = {-INFINITY, 0.0};
    for (int i = 0; i < n; i++)
        if (!isnan(c[i].value) && c[i].value > z.mx) z.mx = c[i].value;
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        float v = c[i].value;
        if (isnan(v)) continue;
        sum += isinf(z.mx) ? (v == z.mx ? 1.0 : 0.0) : (double)expf(v - z.mx);
    }
    z.log_sum = log(sum);
    return z;
}

/* log p of a penalised logit x under z; NaN -> -inf. */
static float logprob_of(float x, const LogNorm *z) {
    if (isnan(x)) return -INFINITY;
    if (isinf(z->mx)) return x == z->mx ? (float)-z->log_sum : -INFINITY;
    return (float)((double)(x - z->mx) - z->log_sum);
}

/* The k best non-NaN candidates of c [n] (id order) into lp's top list. */
static void top_logprobs(const SampleCandidate *c, int n, int k, const LogNorm *z,
                         LlmTokenLogprobs *lp) {
    SampleCandidate top[LLM_LOGPROBS_MAX];
    int m = 0;
    for (int i = 0; i < n && k > 0; i++) {
        if (isnan(c[i].value)) continue;
        if (m == k && !ranks_before(&c[i], &top[k - 1])) continue;
        int j = m < k ? m++ : k - 1;
        for (; j > 0 && ranks_before(&c[i], &top[j - 1]); j--) top[j] = top[j - 1];
        top[j] = c[i];
    }
    lp->n_top = m;
    for (int j = 0; j < m; j++) {
        lp->top_ids[j] = top[j].id;
        lp->top_logprobs[j] = logprob_of(top[j].value, z);
    }
}

/* ---- the draw ------------------------------------------------------------ */

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

/* Zeroes the weights below min_p (the largest weight is 1, so this is
 * "probability < min_p * max probability"); returns the new sum. */
static double min_p_cut(SampleCandidate *c, int n, float min_p) {
    double sum = 0.0;
    for (int i = 0; i < n; i++) {
        if (c[i].value < min_p) c[i].value = 0.0f;
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

/* Steps 4-9 of the rule over penalised logits c [vocab] in id order. */
static int32_t sample_candidates(const LlmSampleRow *row, SampleCandidate *c, int vocab) {
    int n = 0;
    for (int i = 0; i < vocab; i++) {
        if (isnan(c[i].value)) continue;
        c[n].id = c[i].id;
        c[n++].value = c[i].value / row->temperature;
    }
    if (n == 0) return 0;
    int sorted = row->top_k > 0 && row->top_k < n;
    n = select_top_k(c, n, row->top_k);
    if (row->top_p < 1.0f && !sorted) qsort(c, (size_t)n, sizeof *c, compare_candidates);
    double sum = softmax_weights(c, n);
    if (row->min_p > 0.0f) sum = min_p_cut(c, n, row->min_p);
    if (row->top_p < 1.0f) n = nucleus_cut(c, n, row->top_p, &sum);
    return draw(row->uniform, c, n, sum);
}

int32_t sampler_pick(const LlmSampleRow *row, const LlmTokenCount *counts, const float *logits,
                     int vocab, SampleCandidate *cands, LlmTokenLogprobs *lp) {
    int pen = counts != NULL && sample_row_has_penalties(row);
    int want_lp = lp != NULL && row->logprobs != 0;
    if (row->temperature == 0.0f && !pen && !want_lp) return sampler_argmax(logits, vocab);
    const LlmTokenCount *list = pen ? counts + row->counts_offset : NULL;
    for (int i = 0; i < vocab; i++) {
        cands[i].id = i;
        cands[i].value = logits[i];
    }
    if (pen) apply_penalties(cands, vocab, logits, row, list);
    LogNorm z = {0.0f, 0.0};
    if (want_lp) {
        z = log_normaliser(cands, vocab);
        top_logprobs(cands, vocab, row->top_logprobs, &z, lp);
    }
    int32_t id = row->temperature == 0.0f ? argmax_candidates(cands, vocab)
                                          : sample_candidates(row, cands, vocab);
    if (want_lp) {
        lp->id = id;
        lp->logprob = logprob_of(penalised_logit(row, list, id, logits[id]), &z);
    }
    return id;
}

void sampler_next_row(Sampler *s, LlmSampleRow *row) {
    const SamplerParams *p = &s->params;
    LlmSampleRow r = {
        .temperature = p->temperature, .top_k = p->top_k, .top_p = p->top_p, .min_p = p->min_p,
        .repetition_penalty = p->repetition_penalty, .presence_penalty = p->presence_penalty,
        .frequency_penalty = p->frequency_penalty, .counts_offset = 0, .n_counts = s->n_counts,
        .logprobs = p->logprobs >= 0, .top_logprobs = p->logprobs > 0 ? p->logprobs : 0,
        .uniform = p->temperature == 0.0f ? 0.0 : rng_next_double(&s->rng),
    };
    *row = r;
}

int32_t sampler_sample(Sampler *s, const float *logits, LlmTokenLogprobs *lp) {
    LlmSampleRow row;
    sampler_next_row(s, &row);
    return sampler_pick(&row, s->counts, logits, s->vocab, s->cands, lp);
}
