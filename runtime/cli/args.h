/* args.h - command-line parsing for the compiled model's CLI.
 *
 * Parses argv into CliArgs without touching the model; every bad value gives
 * an LlmError that names the flag and the value. Does not apply defaults
 * that depend on the model (sampling defaults from the manifest, context
 * limits): the commands do that.
 */
#ifndef LLMCC_CLI_ARGS_H
#define LLMCC_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "kv/kv_budget.h"
#include "sample/sampler.h"
#include "sample/stop.h"

#define CLI_MAX_STOP_IDS 16 /* --stop-id values per run */

typedef enum CliCommand {
    CLI_CMD_HELP = 0, /* --help, -h, or no command */
    CLI_CMD_GENERATE,
    CLI_CMD_CHAT,
    CLI_CMD_INFO,
    CLI_CMD_BENCH,
    CLI_CMD_SERVE
} CliCommand;

typedef struct CliArgs {
    CliCommand command;
    const char *prompt;      /* -p TEXT, NULL when absent (points into argv) */
    const char *ids;         /* --ids "1 2 3", NULL when absent */
    int n_predict;           /* -n, tokens to generate (per reply in chat), default 128 */
    float temperature;       /* --temperature, valid when has_temperature */
    int has_temperature;     /* 1 when given */
    int top_k;               /* --top-k, valid when has_top_k */
    int has_top_k;
    float top_p;             /* --top-p, valid when has_top_p */
    int has_top_p;
    uint64_t seed;           /* --seed, valid when has_seed */
    int has_seed;
    float min_p;             /* --min-p, valid when has_min_p */
    int has_min_p;
    float repeat_penalty;    /* --repeat-penalty, valid when has_repeat_penalty */
    int has_repeat_penalty;
    float presence_penalty;  /* --presence-penalty, valid when has_presence_penalty */
    int has_presence_penalty;
    float frequency_penalty; /* --frequency-penalty, valid when has_frequency_penalty */
    int has_frequency_penalty;
    int logprobs;            /* --logprobs N (top N, 0..20), valid when has_logprobs */
    int has_logprobs;
    const char *logprobs_file; /* --logprobs-file FILE, NULL = stderr */
    const char *stop[STOP_MAX_STRINGS]; /* --stop TEXT, repeatable (point into argv) */
    int n_stop;              /* --stop flags given (may exceed STOP_MAX_STRINGS: an error) */
    int stop_ids[CLI_MAX_STOP_IDS]; /* --stop-id ID, repeatable */
    int n_stop_ids;          /* --stop-id flags given (may exceed CLI_MAX_STOP_IDS: an error) */
    int no_bos;              /* --no-bos: never prepend BOS */
    int ignore_eos;          /* --ignore-eos: keep going past EOS */
    int print_ids;           /* --print-ids: "ids: ..." line after the text */
    const char *dump_logits; /* --dump-logits FILE, NULL when absent */
    int n_threads;           /* --threads, 0 = all online cores */
    KvBudget kv_memory;      /* --kv-memory bytes or fraction, default one full-context sequence */
    const char *system;      /* chat --system TEXT, NULL when absent */
    const char *chat_template; /* chat --chat-template NAME, NULL = the model's */
    const char *input;       /* generate --input FILE: JSON lines of requests, NULL = -p / --ids */
    const char *output;      /* generate --output FILE: JSON lines of results, NULL = stdout */
    int max_seqs;            /* --max-seqs: sequences running at once, 0 = the default */
    int max_batch_tokens;    /* --max-batch-tokens: tokens per step, 0 = the program's */
    int concurrency;         /* bench --concurrency, valid when has_concurrency (default 1) */
    int has_concurrency;
    int requests;            /* bench --requests, valid when has_requests (default 4 x concurrency) */
    int has_requests;
    int input_len;           /* bench --input-len, valid when has_input_len (default 32) */
    int has_input_len;
    int output_len;          /* bench --output-len, valid when has_output_len (default 64) */
    int has_output_len;
    const char *bench_json;  /* bench --json FILE, NULL when absent */
    int prompt_len;          /* bench --prompt-len, default 16 */
    int gen_len;             /* bench --gen-len, default 128 */
    int batch;               /* bench --batch, default 1 */
    int runs;                /* bench --runs, default 3 */
    int has_batch1_flag;     /* 1 when --prompt-len, --gen-len, --batch or --runs was given */
    const char *url;         /* bench --url http://HOST:PORT: load an HTTP server, NULL = in process */
    const char *endpoint;    /* bench --endpoint completions|chat, NULL = completions */
    const char *model;       /* bench --model NAME: the requests' "model" field, NULL = none */
    float request_rate;      /* bench --request-rate, requests/s, valid when has_request_rate */
    int has_request_rate;
    float input_len_range;   /* bench --input-len-range F in [0, 1) (default 0) */
    float output_len_range;  /* bench --output-len-range F in [0, 1) (default 0) */
    int has_len_range;       /* 1 when either range was given */
    int timeout_s;           /* bench --timeout, seconds without a byte (default 600) */
    int has_timeout;
    const char *argv0;       /* the program as invoked (serve's default model name) */
    const char *host;        /* serve --host, default 127.0.0.1 */
    int port;                /* serve --port, default 8080; 0 = a free port */
    const char *api_key;     /* serve / bench --url --api-key KEY; NULL: serve reads $LLMCC_API_KEY, bench sends none */
    int max_concurrency;     /* serve --max-concurrency, 0 = --max-seqs */
    int max_queue;           /* serve --max-queue, default 1024 */
    const char *model_name;  /* serve --model-name, NULL = the executable's file name */
    int shutdown_timeout;    /* serve --shutdown-timeout seconds, default 5 */
    int max_stream_buffer;   /* serve --max-stream-buffer bytes, 0 = HTTP_DEFAULT_MAX_BUFFERED */
} CliArgs;

/* 1 when bench runs the serving load (any of --concurrency, --requests,
 * --input-len, --output-len, --json, --url), 0 for the batch-1 bench. */
int cli_bench_serving(const CliArgs *a);

/* 1 when bench loads an HTTP server (--url): the session needs only the
 * tokenizer. */
int cli_bench_http(const CliArgs *a);

/* Fills a with defaults, then parses argv[1..argc-1]. */
int cli_args_parse(int argc, char **argv, CliArgs *a, LlmError *err);

/* Copies the sampling flags that were given (has_*) over p. */
void cli_apply_sampling_flags(const CliArgs *a, SamplerParams *p);

/* Writes the usage text (prog_name is argv[0]). */
void cli_print_usage(FILE *f, const char *prog_name);

/* Value parsers; flag is used in the messages ("-n: ..."). */
int cli_parse_int(const char *flag, const char *s, int min, int max, int *out, LlmError *err);
int cli_parse_float(const char *flag, const char *s, float *out, LlmError *err);
int cli_parse_u64(const char *flag, const char *s, uint64_t *out, LlmError *err);
/* A byte count: a number with an optional binary suffix K, M, G or T
 * (case-insensitive, optionally followed by "B" or "iB"): 512M, 2G, 1.5G,
 * 1048576 (kv_budget.h's syntax, fractions refused). */
int cli_parse_bytes(const char *flag, const char *s, size_t *out, LlmError *err);
/* Token ids separated by spaces/commas, each in 0..vocab-1; *ids malloc'd. */
int cli_parse_ids(const char *flag, const char *s, int vocab, int32_t **ids, int *n,
                  LlmError *err);

#endif
