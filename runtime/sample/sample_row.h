/* sample_row.h - one sampling request for one logits row, as every engine
 * takes it (the cpu engine picks on the host, the cuda engine on the
 * device; see sampler.h and gpu/gpu_sample.h for the rule), the entries of
 * the penalty table a row points into, and the logprobs a row may return.
 *
 * Plain C structs with fixed-size fields: the cuda engine copies arrays of
 * them to the device as they are. A zero-initialised LlmSampleRow is plain
 * greedy: no penalties (n_counts 0), no logprobs. The one piece of
 * arithmetic host and device must agree on bit for bit, the penalty of one
 * logit, lives here too, so both compile the same expression.
 */
#ifndef LLMCC_SAMPLE_SAMPLE_ROW_H
#define LLMCC_SAMPLE_SAMPLE_ROW_H

#include <stdint.h>

#if defined(__CUDACC__)
#define LLM_SAMPLE_HD __host__ __device__
#else
#define LLM_SAMPLE_HD
#endif

/* Most top logprobs a row may ask for (OpenAI's limit). */
#define LLM_LOGPROBS_MAX 20

/* One entry of a request's penalty table: a distinct token of the prompt
 * or of the output so far. */
typedef struct LlmTokenCount {
    int32_t id;    /* token id in 0..vocab-1; distinct within one row's list */
    int32_t count; /* times generated so far; 0 = seen in the prompt only */
} LlmTokenCount;

typedef struct LlmSampleRow {
    float temperature;        /* >= 0; 0 = greedy */
    int top_k;                /* >= 0; 0 = no cut */
    float top_p;              /* (0, 1]; 1 = no cut */
    float min_p;              /* [0, 1]; 0 = no cut */
    float repetition_penalty; /* > 0; 1 = off (prompt and output tokens) */
    float presence_penalty;   /* [-2, 2]; 0 = off (output tokens) */
    float frequency_penalty;  /* [-2, 2]; 0 = off (output tokens, per occurrence) */
    int32_t counts_offset;    /* first entry of this row's list in the step's LlmTokenCount table */
    int32_t n_counts;         /* entries in that list; 0 = no penalty applies */
    int32_t logprobs;         /* 1 = return the chosen token's logprob; 0 = none */
    int32_t top_logprobs;     /* 0..LLM_LOGPROBS_MAX: also the top n (when logprobs is 1) */
    double uniform;           /* [0, 1), drawn from the request's own generator */
} LlmSampleRow;

/* What a row with logprobs == 1 returns. Log-probabilities are the
 * log-softmax of the logits after penalties, before temperature (sampler.h
 * says why). */
typedef struct LlmTokenLogprobs {
    int32_t id;                             /* the chosen token */
    float logprob;                          /* its log-probability (<= 0, -inf possible) */
    int32_t n_top;                          /* entries of top_*: min(top_logprobs, non-NaN logits) */
    int32_t top_ids[LLM_LOGPROBS_MAX];      /* most likely first; ties: lower id first */
    float top_logprobs[LLM_LOGPROBS_MAX];   /* log-probabilities of top_ids */
} LlmTokenLogprobs;

/* 1 when some penalty changes the logits of the row's listed tokens. */
static inline LLM_SAMPLE_HD int sample_row_has_penalties(const LlmSampleRow *r) {
    return r->n_counts > 0 && (r->repetition_penalty != 1.0f || r->presence_penalty != 0.0f ||
                               r->frequency_penalty != 0.0f);
}

/* 1 when the row is an argmax of the raw logits and nothing else: the
 * engines' greedy fast path (gpu_sample_greedy) takes only such rows. */
static inline LLM_SAMPLE_HD int sample_row_is_plain_greedy(const LlmSampleRow *r) {
    return r->temperature == 0.0f && !sample_row_has_penalties(r) && r->logprobs == 0;
}

/* The penalised logit v of a token listed in the row's table, count its
 * LlmTokenCount.count: repetition first (HF / vLLM: a positive logit is
 * divided by the penalty, a negative one multiplied), then frequency
 * (v -= frequency * count), then presence (v -= presence if count > 0),
 * as vLLM orders them. Every operation rounds on its own (no fused
 * multiply-add: the host is built with -ffp-contract=off, the device uses
 * the _rn intrinsics), so host and device agree bit for bit. NaN stays
 * NaN, infinities stay infinite. */
static inline LLM_SAMPLE_HD float sample_penalize(float v, int32_t count, const LlmSampleRow *r) {
#if defined(__CUDA_ARCH__)
    if (r->repetition_penalty != 1.0f)
        v = v > 0.0f ? __fdiv_rn(v, r->repetition_penalty) : __fmul_rn(v, r->repetition_penalty);
    if (count > 0) {
        v = __fsub_rn(v, __fmul_rn(r->frequency_penalty, (float)count));
        v = __fsub_rn(v, r->presence_penalty);
    }
#else
    if (r->repetition_penalty != 1.0f)
        v = v > 0.0f ? v / r->repetition_penalty : v * r->repetition_penalty;
    if (count > 0) {
        float f = r->frequency_penalty * (float)count;
        v = v - f;
        v = v - r->presence_penalty;
    }
#endif
    return v;
}

#endif
