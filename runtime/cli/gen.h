/* gen.h - the decode engine that `generate` and `chat` share: one sequence
 * in one KV slot, chunked prefill, token-by-token decode with streaming
 * text through the stop-string matcher, per-token logprobs lines.
 * Internal to runtime/cli.
 *
 * The caller owns the order: gen_state_init, gen_open (sampler, stop
 * strings, logprobs output, KV slot), then any number of rounds of
 * gen_begin (the round's whole prompt, for the penalties), gen_prefill
 * (tokens appended at n_past; the caller may first lower n_past to keep
 * only a prefix of what the cache holds, and gen_prefill truncates the KV
 * sequence to it; it returns the first sampled token), gen_decode,
 * gen_flush; finally gen_state_free.
 *
 * Where the token is picked: always inside the engine's step (on the
 * device for the cuda target), with the request's full sampling row, its
 * penalty table (the Sampler's list) and, with --logprobs, its logprobs;
 * logits come to the host only for --dump-logits.
 */
#ifndef LLMCC_CLI_GEN_H
#define LLMCC_CLI_GEN_H

#include <stdio.h>

#include "cli/args.h"
#include "cli/session.h"
#include "sample/sampler.h"
#include "sample/stop.h"

typedef enum GenStop {
    GEN_STOP_LENGTH = 0, /* -n tokens generated */
    GEN_STOP_EOS,        /* the model produced EOS */
    GEN_STOP_EOT,        /* the model produced the end-of-turn token (chat) */
    GEN_STOP_STRING,     /* the text reached a --stop string */
    GEN_STOP_TOKEN,      /* the model produced a --stop-id token */
    GEN_STOP_CONTEXT,    /* max_context positions used */
    GEN_STOP_KV_FULL,    /* the KV pool has no free block */
    GEN_STOP_ERROR       /* the engine failed (device error; message printed) */
} GenStop;

/* Which logits rows a forward step produces, and whether the token after
 * its last one is sampled. */
typedef enum GenLogits {
    GEN_LOGITS_NONE = 0, /* a prefill chunk before the last: nothing */
    GEN_LOGITS_LAST,     /* the last token's row, sampled by the engine */
    GEN_LOGITS_ALL,      /* every token's row to the host (--dump-logits), nothing sampled */
    GEN_LOGITS_ALL_LAST  /* every token's row to the host, and the last one sampled */
} GenLogits;

typedef struct GenState {
    CliSession *s;        /* not owned */
    const CliArgs *a;     /* n_predict, ignore_eos, dump_logits; not owned */
    int seq;              /* KV sequence slot, -1 before gen_open */
    int n_past;           /* tokens whose K/V the cache holds (positions 0..n_past-1) */
    int32_t eot_id;       /* extra stop token (chat's end of turn), -1 = none */
    int32_t *tokens;      /* [max_tokens] batch scratch */
    int32_t *positions;   /* [max_tokens] */
    int32_t *seq_index;   /* [max_tokens], all 0 (one block-table row) */
    int32_t *logit_rows;  /* [max_tokens] */
    float *logits;        /* [max_tokens][vocab] host logits (--dump-logits), else NULL */
    LlmSampleRow *rows;   /* [max_tokens or 1] a step's sampling rows (only the last samples) */
    int32_t *ids;         /* [max_tokens or 1] the engine's sampled ids */
    LlmTokenLogprobs *lps; /* [max_tokens or 1] the engine's logprobs (the last row's is used) */
    FILE *dump;           /* --dump-logits file, or NULL */
    TokDecoder *dec;      /* streaming detokenizer, NULL before gen_reset_decoder */
    Sampler sampler;
    StopMatcher stops;    /* --stop strings over the round's text */
    FILE *lp_out;         /* --logprobs lines: the log, a --logprobs-file, or NULL (off) */
    int lp_owned;         /* 1 when lp_out is a file gen_open opened */
    LlmTokenLogprobs next_lp; /* logprobs of the token sampled last (when on) */
    int32_t *out_ids;     /* [n_predict + 1] ids generated this round */
    int n_out;            /* entries of out_ids */
    char *text;           /* [text_cap] the round's emitted text, NUL-terminated */
    size_t text_len, text_cap;
    GenStop stop;         /* why the last gen_decode returned */
} GenState;

double gen_now_seconds(void);
const char *gen_stop_name(GenStop stop);

void gen_state_init(GenState *g, CliSession *s, const CliArgs *a);
void gen_state_free(GenState *g);
/* Sampler from the session's defaults and the flags, the stop strings and
 * ids (checked against the vocabulary), the logprobs output (log or
 * --logprobs-file), and a KV slot. */
int gen_open(GenState *g, FILE *log, LlmError *err);
/* Starts a round whose whole prompt is ids [n] (cached part included):
 * the penalty table lists them; the stop matcher and text start empty. */
void gen_begin(GenState *g, const int32_t *ids, int n);
/* A fresh detokenizer, fed prime [n] without output (so the first
 * generated piece keeps the spacing it has after them). */
void gen_reset_decoder(GenState *g, const int32_t *prime, int n);

/* Runs ids [n] at positions n_past.. in chunks of max_tokens and samples
 * the token after the last one into *first. Errors when the KV pool cannot
 * hold n_past + n tokens or the engine fails. */
int gen_prefill(GenState *g, const int32_t *ids, int n, int32_t *first, LlmError *err);
/* Decodes from next (sampled from the prefill) until a stop condition,
 * streaming text to out; resets n_out first. */
void gen_decode(GenState *g, int32_t next, FILE *out);
/* Writes what the detokenizer and the stop matcher still hold. */
void gen_flush(GenState *g, FILE *out);

#endif
