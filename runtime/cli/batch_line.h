/* batch_line.h - one line of a `generate --input` file: a JSON object
 * that becomes a scheduler request, and the JSON object that reports it.
 * Internal to runtime/cli.
 *
 * Request fields (OpenAI / vLLM names; anything else is an error, so a
 * typo is not silently ignored):
 *   prompt              string, required; tokenized with BOS as the model
 *                       wants it (--no-bos: never), so "" is a valid prompt
 *                       when the model adds BOS
 *   max_tokens          integer >= 1 (default -n, cut to what the context
 *                       leaves; given explicitly, past the context is an error)
 *   temperature, top_p, min_p, repetition_penalty, presence_penalty,
 *   frequency_penalty   numbers
 *   top_k               integer (-1, as vLLM spells "no cut", means 0)
 *   seed                integer >= 0 (default: from --seed, or the time,
 *                       mixed with the line number; sample j uses seed + j)
 *   n                   integer, parallel samples
 *   logprobs            integer 0..20 (the chosen token plus the top N), or null
 *   stop                string or array of strings, or null
 *   stop_token_ids      array of integers
 *   ignore_eos          boolean
 *   id                  anything; copied to the result
 * Command-line sampling, stop and --ignore-eos flags are the defaults of
 * every line. Type and presence errors name the line and the field; range
 * errors come from sched_submit and name the field too.
 */
#ifndef LLMCC_CLI_BATCH_LINE_H
#define LLMCC_CLI_BATCH_LINE_H

#include <jansson.h>

#include "cli/args.h"
#include "cli/session.h"
#include "sched/sched.h"

/* What every line starts from. */
typedef struct BatchDefaults {
    SamplerParams sampling; /* manifest generation config + flags */
    uint64_t seed;          /* base of the default seeds */
    int max_tokens;         /* -n */
    int add_bos;            /* tokenizer flags for tok_encode */
    const CliArgs *a;       /* --stop, --stop-id, --ignore-eos */
} BatchDefaults;

/* One request line and what became of it. */
typedef struct BatchLine {
    int line;              /* 1-based line number in the file */
    json_t *id;            /* the line's "id", or NULL */
    int32_t *prompt;       /* [req.n_prompt] token ids */
    const char *stop[STOP_MAX_STRINGS + 1]; /* point into doc or a->stop */
    int32_t stop_ids[SCHED_MAX_STOP_IDS + 1];
    json_t *doc;           /* the parsed line (owns the stop strings) */
    SchedRequest req;      /* what is submitted (points into this record) */
    int max_tokens_given;  /* 1 when the line set max_tokens */
    SchedId sched_id;      /* 0 until submitted */
    int done;              /* 1 when the scheduler finished it (or it failed) */
    char *error;           /* message, when the line was refused */
} BatchLine;

/* Parses text [len] (line number line) into *b; errors read
 * "line N: field \"x\": ...". *b is filled enough for batch_line_free
 * either way. */
int batch_line_parse(const CliSession *s, const BatchDefaults *d, const char *text, size_t len,
                     int line, BatchLine *b, LlmError *err);
void batch_line_free(BatchLine *b);

/* The result object of a finished line (all its samples). */
json_t *batch_line_result(const CliSession *s, const BatchLine *b, const SchedInfo *info,
                          const SchedOutput *const *outs);
/* The result object of a refused line: {"line": N, "id": ..., "error": msg}. */
json_t *batch_line_error(const BatchLine *b);

/* The default seed of a line: base + line x 0x9E3779B97F4A7C15 (mod 2^64). */
uint64_t batch_line_seed(uint64_t base, int line);

#endif
