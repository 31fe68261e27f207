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
 */
#ifndef LLMCC_CLI_LOGPROBS_JSON_H
#define LLMCC_CLI_LOGPROBS_JSON_H

#include <stdio.h>

#include "sample/sample_row.h"
#include "tok/tok.h"

void logprobs_json_write(FILE *f, const Tokenizer *tok, int index, const LlmTokenLogprobs *lp);

#endif
