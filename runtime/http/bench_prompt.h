/* bench_prompt.h - synthetic prompts of a given token count, as text.
 *
 * A prompt is a run of the vocabulary's whole-word tokens (a space and 2 to
 * 16 lowercase letters, as "Ġword" or "▁word" decode) that stay one token
 * between other words ("w w" encodes to the token twice), drawn from a
 * stream seeded by (seed, request index), so prompts differ from request
 * to request (no shared prefix for a prefix cache to find) and repeat from
 * run to run. The text is re-encoded with the model's tokenizer, as the
 * server will encode it (BOS as the model adds it), and the word count
 * adjusted until it gives the asked count, trying a few streams if one
 * does not get there; *n_tokens says what it gave (the bench reports the
 * server's usage.prompt_tokens as the input length).
 */
#ifndef LLMCC_HTTP_BENCH_PROMPT_H
#define LLMCC_HTTP_BENCH_PROMPT_H

#include <stdint.h>

#include "base/error.h"
#include "tok/tok.h"

typedef struct BenchPrompter {
    const Tokenizer *tok; /* not owned */
    int32_t *words;       /* [n_words] ids of whole-word tokens */
    int n_words;
    int add_bos;          /* the model's default: BOS counts as a prompt token */
    int lead_space;       /* 1: the text starts with a space (byte-level BPE) */
} BenchPrompter;

/* Errors: a vocabulary without such word tokens. */
int bench_prompter_init(BenchPrompter *p, const Tokenizer *tok, LlmError *err);
void bench_prompter_free(BenchPrompter *p);

/* A prompt of tokens tokens (>= 1) for request index; *text malloc'd. */
int bench_prompt_make(const BenchPrompter *p, uint64_t seed, int index, int tokens, char **text,
                      int *n_tokens, LlmError *err);

#endif
