/* sampler.h - choosing the next token from a row of logits.
 *
 * temperature == 0 is greedy: argmax, ties to the lowest id. Otherwise, in
 * this order: divide logits by temperature; keep the top_k largest (0 = all);
 * softmax over what is left, sorted by probability (ties: lower id first);
 * keep the shortest prefix whose mass reaches top_p (at least one token);
 * draw from the renormalised prefix with the request's own LlmRng seeded by
 * seed. Same params and logits -> same tokens. NaN logits never win and are
 * never drawn (unless every logit is NaN: then id 0).
 * Not here yet: min-p, penalties, logprobs (later issues).
 */
#ifndef LLMCC_SAMPLE_SAMPLER_H
#define LLMCC_SAMPLE_SAMPLER_H

#include <stdint.h>

#include "base/error.h"
#include "sample/rng.h"
#include "sample/sample_row.h"

typedef struct SamplerParams {
    float temperature; /* >= 0; 0 = greedy */
    int top_k;         /* >= 0; 0 = no top-k cut */
    float top_p;       /* (0, 1]; 1 = no nucleus cut */
    uint64_t seed;     /* PRNG seed of this request */
} SamplerParams;

/* One candidate token during sampling. */
typedef struct SampleCandidate {
    float value; /* scaled logit, then unnormalised probability */
    int32_t id;  /* token id */
} SampleCandidate;

/* A sampler for one request. Owns scratch sized to the vocabulary. */
typedef struct Sampler {
    SamplerParams params;
    LlmRng rng;             /* per-request stream */
    int vocab;              /* logits per row */
    SampleCandidate *cands; /* [vocab] scratch */
} Sampler;

/* Greedy defaults: temperature 0, top_k 0, top_p 1, seed 0. */
SamplerParams sampler_params_default(void);

/* Checks ranges; messages name the flag (--temperature, --top-k, --top-p)
 * and the value. */
int sampler_params_validate(const SamplerParams *p, LlmError *err);

/* p must be valid (sampler_params_validate). */
void sampler_init(Sampler *s, const SamplerParams *p, int vocab);
void sampler_free(Sampler *s);

/* Picks a token id in 0..vocab-1 from logits [vocab]. */
int32_t sampler_sample(Sampler *s, const float *logits);

/* Index of the largest value, ties to the lowest index; NaN ignored. */
int32_t sampler_argmax(const float *logits, int n);

/* The request for the next token: this sampler's parameters and, when it
 * samples (temperature > 0), the next uniform of its generator. Greedy
 * requests draw nothing, so the stream is the same whatever the engine. */
void sampler_next_row(Sampler *s, LlmSampleRow *row);

/* Picks a token from a host logits row by the rule above, with the row's
 * uniform. cands: scratch of vocab entries. */
int32_t sampler_pick(const LlmSampleRow *row, const float *logits, int vocab,
                     SampleCandidate *cands);

#endif
