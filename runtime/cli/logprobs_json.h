/* logprobs_json.h - one JSON line per generated token for --logprobs.
 * Internal to runtime/cli.
 *
 * {"index":I,"id":ID,"token":TEXT,"bytes":[...],"logprob":LP,
 *  "top_logprobs":[{"id":..,"token":..,"bytes":[..],"logprob":..}, ...]}
 * index counts the round's generated tokens from 0 (the token that ended
 * the round, EOS or a stop id, included); token is the token's own text
 * (tok_token_bytes) with bytes that are not valid UTF-8 on their own
 * written as U+FFFD, bytes its exact bytes (as OpenAI's API gives them);
 * logprob is the log-probability (sampler.h: after penalties, before
 * temperature), -inf written as -9999.0 as OpenAI-compatible servers do.
 * top_logprobs is [] for --logprobs 0.
 * The same object through jansson for the batch results, and a lossy
 * UTF-8 string helper they share.
 */
#ifndef LLMCC_CLI_LOGPROBS_JSON_H
#define LLMCC_CLI_LOGPROBS_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "sample/sample_row.h"
#include "tok/tok.h"

void logprobs_json_write(FILE *f, const Tokenizer *tok, int index, const LlmTokenLogprobs *lp);

/* The same fields as a jansson object, without "index" (batch results). */
json_t *logprobs_json_object(const Tokenizer *tok, const LlmTokenLogprobs *lp);

/* A JSON string of s [n]: valid UTF-8 copied, any other byte as U+FFFD
 * (jansson takes only valid UTF-8). */
json_t *json_text(const char *s, size_t n);

#endif
