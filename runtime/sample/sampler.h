/* sampler.h - choosing the next token from a row of logits.
 *
 * The rule, in this order (gpu/gpu_sample.h implements the same one on the
 * device; tests/gpu/lab_main.cu checks the two against each other):
 *  1. penalties: each token in the request's penalty table (the distinct
 *     tokens of the prompt and of the output so far, with how often each
 *     was generated) gets sample_penalize (sample_row.h): repetition
 *     (HF / vLLM: logit / p if > 0, logit * p otherwise; prompt and output
 *     tokens), then frequency and presence (OpenAI: logit -= frequency *
 *     count + presence * (count > 0); generated tokens only, as vLLM does).
 *  2. logprobs, when asked: log-softmax of the penalised logits (before
 *     temperature, top-k, min-p and top-p), see below.
 *  3. temperature == 0 is greedy: the argmax of the penalised logits, ties
 *     to the lowest id; top-k, min-p and top-p are ignored. Otherwise:
 *  4. temperature: divide by it;
 *  5. top-k: keep the top_k largest (0 = all);
 *  6. softmax over what is left (weights exp(x - max), so the largest is 1;
 *     an infinite max gives weight 1 to the candidates equal to it, 0 to
 *     the rest);
 *  7. min-p: drop candidates whose probability is below min_p times the
 *     largest probability (weight < min_p);
 *  8. top-p: sorted by probability (ties: lower id first), keep the
 *     shortest prefix whose mass reaches top_p of what min-p left (at
 *     least one token);
 *  9. draw from what is left with the row's uniform u in [0, 1): the first
 *     candidate whose cumulative weight exceeds u * total. The uniform
 *     comes from the request's own LlmRng seeded by seed, so the same
 *     request gives the same tokens whatever else runs.
 * NaN logits never win and are never drawn (unless every logit is NaN:
 * then id 0). Candidates stay in id order when nothing needs the sort.
 *
 * Logprobs: log p(x) = (x - max) - log(sum over tokens of exp(y - max)),
 * x and y the penalised logits, NaN logits excluded (logprob -inf). This
 * is vLLM's default "raw" logprobs (taken before temperature, top-k and
 * top-p, so they describe the model rather than the sampling settings)
 * except for one choice: ours are taken after penalties, so that the
 * chosen token's logprob is measured on the distribution it was picked
 * from; vLLM V1 takes them before penalties. Without penalties the two
 * agree. The top list is the top_logprobs most likely tokens, ties to the
 * lower id; the chosen token is reported on its own whether or not it is
 * in that list.
 */
#ifndef LLMCC_SAMPLE_SAMPLER_H
#define LLMCC_SAMPLE_SAMPLER_H

#include <stdint.h>

#include "base/error.h"
#include "sample/rng.h"
#include "sample/sample_row.h"

typedef struct SamplerParams {
    float temperature;        /* >= 0; 0 = greedy */
    int top_k;                /* >= 0; 0 = no top-k cut */
    float top_p;              /* (0, 1]; 1 = no nucleus cut */
    float min_p;              /* [0, 1]; 0 = no min-p cut */
    float repetition_penalty; /* > 0; 1 = off */
    float presence_penalty;   /* [-2, 2]; 0 = off */
    float frequency_penalty;  /* [-2, 2]; 0 = off */
    int logprobs;             /* -1 = off; 0..LLM_LOGPROBS_MAX: chosen token + top N */
    uint64_t seed;            /* PRNG seed of this request */
} SamplerParams;

/* One candidate token during sampling. */
typedef struct SampleCandidate {
    float value; /* penalised logit, scaled logit, then unnormalised probability */
    int32_t id;  /* token id */
} SampleCandidate;

/* A sampler for one request. Owns scratch sized to the vocabulary and,
 * when a penalty is on, the request's penalty table. */
typedef struct Sampler {
    SamplerParams params;
    LlmRng rng;             /* per-request stream */
    int vocab;              /* logits per row */
    SampleCandidate *cands; /* [vocab] scratch */
    LlmTokenCount *counts;  /* [vocab] the penalty table, first-seen order; NULL if no penalty */
    int n_counts;           /* entries of counts in use */
    int32_t *slot;          /* [vocab] index of each id in counts, -1 = absent; NULL if no penalty */
} Sampler;

/* Greedy defaults: temperature 0, top_k 0, top_p 1, min_p 0, penalties
 * off (1, 0, 0), logprobs -1, seed 0. */
SamplerParams sampler_params_default(void);

/* What range-check messages call each parameter. */
typedef struct SamplerNames {
    const char *temperature, *top_k, *top_p, *min_p, *repetition_penalty, *presence_penalty,
        *frequency_penalty, *logprobs;
} SamplerNames;
/* The command-line flags: --temperature, --top-k, --top-p, --min-p,
 * --repeat-penalty, --presence-penalty, --frequency-penalty, --logprobs. */
extern const SamplerNames SAMPLER_FLAG_NAMES;
/* The request fields of the batch file and the HTTP API (OpenAI / vLLM
 * names): temperature, top_k, top_p, min_p, repetition_penalty,
 * presence_penalty, frequency_penalty, logprobs. */
extern const SamplerNames SAMPLER_FIELD_NAMES;

/* Checks ranges; messages name the parameter as names says and the value. */
int sampler_params_check(const SamplerParams *p, const SamplerNames *names, LlmError *err);
/* sampler_params_check with the flag names. */
int sampler_params_validate(const SamplerParams *p, LlmError *err);

/* p must be valid (sampler_params_validate). */
void sampler_init(Sampler *s, const SamplerParams *p, int vocab);
void sampler_free(Sampler *s);

/* 1 when a penalty is on, i.e. the sampler keeps a penalty table. */
int sampler_has_penalties(const Sampler *s);

/* Starts a request: empties the penalty table and lists the prompt's
 * tokens in it (count 0). Ids must be in 0..vocab-1. No-op without
 * penalties. The generator is not reseeded (chat keeps one stream). */
void sampler_begin(Sampler *s, const int32_t *prompt, int n);

/* Records a generated token (count + 1) in the penalty table. */
void sampler_accept(Sampler *s, int32_t id);

/* The request for the next token: this sampler's parameters, its penalty
 * table as the list at offset 0 (a caller batching several requests
 * concatenates their tables and moves counts_offset), and, when it
 * samples (temperature > 0), the next uniform of its generator. Greedy
 * requests draw nothing, so the stream is the same whatever the engine. */
void sampler_next_row(Sampler *s, LlmSampleRow *row);

/* Picks a token from a host logits row [vocab] by the rule above, with the
 * row's uniform. counts: the table row->counts_offset indexes; NULL means
 * no penalties, whatever the row says. cands: scratch of vocab entries.
 * lp: filled when row->logprobs is 1; NULL means none is wanted. (The
 * NULL conventions are gpu_sample's too.) */
int32_t sampler_pick(const LlmSampleRow *row, const LlmTokenCount *counts, const float *logits,
                     int vocab, SampleCandidate *cands, LlmTokenLogprobs *lp);

/* sampler_next_row + sampler_pick with this sampler's table and scratch.
 * Does not record the token: call sampler_accept with what is kept. */
int32_t sampler_sample(Sampler *s, const float *logits, LlmTokenLogprobs *lp);

/* Index of the largest value, ties to the lowest index; NaN ignored. */
int32_t sampler_argmax(const float *logits, int n);

#endif
