/* commands.h - the CLI subcommands, each over an open session.
 * Internal to runtime/cli. Text results go to out, progress and summaries to
 * log; errors come back in err (the caller prints them). */
#ifndef LLMCC_CLI_COMMANDS_H
#define LLMCC_CLI_COMMANDS_H

#include <stdio.h>

#include "cli/args.h"
#include "cli/session.h"
#include "sample/sampler.h"
#include "tok/chat_template.h"

int cmd_generate(CliSession *s, const CliArgs *a, FILE *out, FILE *log, LlmError *err);
/* generate --input: a JSON-lines file of requests through the scheduler;
 * see cmd_batch.c and batch_line.h. */
int cmd_generate_batch(CliSession *s, const CliArgs *a, FILE *out, FILE *log, LlmError *err);
/* Reads user lines from in until EOF; see cmd_chat.c. */
int cmd_chat(CliSession *s, const CliArgs *a, FILE *in, FILE *out, FILE *log, LlmError *err);
/* The model's chat template (or the family name, NULL: recognise it),
 * with its BOS/EOS texts and end-of-turn token id (-1 if not one token). */
int cmd_chat_template(const CliSession *s, const char *name, ChatTemplate *t, int32_t *end_of_turn,
                      LlmError *err);
/* serve: the OpenAI-compatible HTTP server until SIGINT/SIGTERM; see
 * cmd_serve.c and http/server.h. */
int cmd_serve(CliSession *s, const CliArgs *a, FILE *log, LlmError *err);
int cmd_info(CliSession *s, const CliArgs *a, FILE *out, LlmError *err);
/* Times prefill and greedy decode; prints the roofline ratio. */
int cmd_bench(CliSession *s, const CliArgs *a, FILE *out, LlmError *err);
/* bench --concurrency ...: a serving load through the scheduler; see
 * cmd_bench_serve.c. */
int cmd_bench_serve(CliSession *s, const CliArgs *a, FILE *out, LlmError *err);
/* bench --url ...: a load against an OpenAI-compatible HTTP server; see
 * cmd_bench_http.c. Needs only the session's tokenizer. */
int cmd_bench_http(CliSession *s, const CliArgs *a, FILE *out, LlmError *err);

/* Sampling parameters for a request: greedy, overridden by the manifest's
 * "generation" object (generation_config.json: temperature, top_k, top_p,
 * min_p, repetition_penalty), overridden by flags. */
int cmd_sampler_params(const CliSession *s, const CliArgs *a, SamplerParams *p, LlmError *err);

#endif
