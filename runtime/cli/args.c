/* args.c - argv -> CliArgs, driven by one table of options.
 *
 * Each option names the commands it belongs to and where its value goes
 * (offsetof into CliArgs), so adding a flag is one table row. Nothing here
 * exits or prints except cli_print_usage.
 */
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_url.h"
#include "sample/sampler.h"
#include "tok/chat_template.h"

typedef enum CliOptKind {
    CLI_OPT_STRING,
    CLI_OPT_INT,
    CLI_OPT_FLOAT,
    CLI_OPT_U64,
    CLI_OPT_KV_BUDGET,
    CLI_OPT_SWITCH,
    CLI_OPT_STRING_LIST, /* repeatable: const char *[cap], count at has_offset */
    CLI_OPT_INT_LIST     /* repeatable: int [cap] in min..max, count at has_offset */
} CliOptKind;

enum {
    CLI_IN_GENERATE = 1,
    CLI_IN_INFO = 2,
    CLI_IN_CHAT = 4,
    CLI_IN_BENCH = 8,
    CLI_IN_SERVE = 16,
    CLI_IN_ALL = 31
};
/* The scheduler's options: generate --input, the serving bench, serve. */
#define CLI_IN_SCHED (CLI_IN_GENERATE | CLI_IN_BENCH | CLI_IN_SERVE)
/* Sampling and decoding flags that generate and chat share. */
#define CLI_IN_GEN_CHAT (CLI_IN_GENERATE | CLI_IN_CHAT)

typedef struct CliOption {
    const char *name;  /* "--top-k" */
    const char *alias; /* "-n", or NULL */
    CliOptKind kind;
    unsigned commands; /* CLI_IN_* mask */
    size_t offset;     /* of the value in CliArgs */
    size_t has_offset; /* of the int "given" mark (a *_LIST: its count), or (size_t)-1 */
    int min, max;      /* range for CLI_OPT_INT and CLI_OPT_INT_LIST */
    int cap;           /* entries of a *_LIST array; values past it are counted, not stored */
} CliOption;

#define NO_MARK ((size_t)-1)
#define AT(f) offsetof(CliArgs, f)

static const CliOption CLI_OPTIONS[] = {
    {"--prompt", "-p", CLI_OPT_STRING, CLI_IN_GENERATE, AT(prompt), NO_MARK, 0, 0, 0},
    {"--n-predict", "-n", CLI_OPT_INT, CLI_IN_GEN_CHAT, AT(n_predict), NO_MARK, 0, INT_MAX, 0},
    {"--temperature", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(temperature), AT(has_temperature), 0, 0, 0},
    {"--top-k", NULL, CLI_OPT_INT, CLI_IN_GEN_CHAT, AT(top_k), AT(has_top_k), 0, INT_MAX, 0},
    {"--top-p", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(top_p), AT(has_top_p), 0, 0, 0},
    {"--seed", NULL, CLI_OPT_U64, CLI_IN_GEN_CHAT | CLI_IN_BENCH, AT(seed), AT(has_seed), 0, 0, 0},
    {"--min-p", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(min_p), AT(has_min_p), 0, 0, 0},
    {"--repeat-penalty", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(repeat_penalty),
     AT(has_repeat_penalty), 0, 0, 0},
    {"--presence-penalty", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(presence_penalty),
     AT(has_presence_penalty), 0, 0, 0},
    {"--frequency-penalty", NULL, CLI_OPT_FLOAT, CLI_IN_GEN_CHAT, AT(frequency_penalty),
     AT(has_frequency_penalty), 0, 0, 0},
    {"--logprobs", NULL, CLI_OPT_INT, CLI_IN_GEN_CHAT, AT(logprobs), AT(has_logprobs), 0, INT_MAX, 0},
    {"--logprobs-file", NULL, CLI_OPT_STRING, CLI_IN_GEN_CHAT, AT(logprobs_file), NO_MARK, 0, 0, 0},
    {"--stop", NULL, CLI_OPT_STRING_LIST, CLI_IN_GEN_CHAT, AT(stop), AT(n_stop), 0, 0,
     STOP_MAX_STRINGS},
    {"--stop-id", NULL, CLI_OPT_INT_LIST, CLI_IN_GEN_CHAT, AT(stop_ids), AT(n_stop_ids), 0, INT_MAX,
     CLI_MAX_STOP_IDS},
    {"--no-bos", NULL, CLI_OPT_SWITCH, CLI_IN_GENERATE, AT(no_bos), NO_MARK, 0, 0, 0},
    {"--ignore-eos", NULL, CLI_OPT_SWITCH, CLI_IN_GENERATE, AT(ignore_eos), NO_MARK, 0, 0, 0},
    {"--ids", NULL, CLI_OPT_STRING, CLI_IN_GENERATE, AT(ids), NO_MARK, 0, 0, 0},
    {"--print-ids", NULL, CLI_OPT_SWITCH, CLI_IN_GENERATE, AT(print_ids), NO_MARK, 0, 0, 0},
    {"--dump-logits", NULL, CLI_OPT_STRING, CLI_IN_GENERATE, AT(dump_logits), NO_MARK, 0, 0, 0},
    {"--system", NULL, CLI_OPT_STRING, CLI_IN_CHAT, AT(system), NO_MARK, 0, 0, 0},
    {"--chat-template", NULL, CLI_OPT_STRING, CLI_IN_CHAT | CLI_IN_SERVE, AT(chat_template), NO_MARK, 0, 0, 0},
    {"--threads", "-t", CLI_OPT_INT, CLI_IN_ALL, AT(n_threads), NO_MARK, 1, 4096, 0},
    {"--kv-memory", NULL, CLI_OPT_KV_BUDGET, CLI_IN_ALL, AT(kv_memory), NO_MARK, 0, 0, 0},
    {"--input", NULL, CLI_OPT_STRING, CLI_IN_GENERATE, AT(input), NO_MARK, 0, 0, 0},
    {"--output", NULL, CLI_OPT_STRING, CLI_IN_GENERATE, AT(output), NO_MARK, 0, 0, 0},
    {"--max-seqs", NULL, CLI_OPT_INT, CLI_IN_SCHED, AT(max_seqs), NO_MARK, 1, 4096, 0},
    {"--max-batch-tokens", NULL, CLI_OPT_INT, CLI_IN_SCHED, AT(max_batch_tokens),
     NO_MARK, 1, INT_MAX, 0},
    {"--concurrency", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(concurrency), AT(has_concurrency), 1, 4096, 0},
    {"--requests", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(requests), AT(has_requests), 1, 1000000, 0},
    {"--input-len", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(input_len), AT(has_input_len), 1, INT_MAX, 0},
    {"--output-len", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(output_len), AT(has_output_len), 1, INT_MAX, 0},
    {"--json", NULL, CLI_OPT_STRING, CLI_IN_BENCH, AT(bench_json), NO_MARK, 0, 0, 0},
    {"--prompt-len", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(prompt_len), AT(has_batch1_flag), 1, INT_MAX, 0},
    {"--gen-len", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(gen_len), AT(has_batch1_flag), 1, INT_MAX, 0},
    {"--batch", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(batch), AT(has_batch1_flag), 1, 1, 0},
    {"--runs", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(runs), AT(has_batch1_flag), 1, 1000, 0},
    {"--url", NULL, CLI_OPT_STRING, CLI_IN_BENCH, AT(url), NO_MARK, 0, 0, 0},
    {"--endpoint", NULL, CLI_OPT_STRING, CLI_IN_BENCH, AT(endpoint), NO_MARK, 0, 0, 0},
    {"--model", NULL, CLI_OPT_STRING, CLI_IN_BENCH, AT(model), NO_MARK, 0, 0, 0},
    {"--request-rate", NULL, CLI_OPT_FLOAT, CLI_IN_BENCH, AT(request_rate), AT(has_request_rate), 0, 0, 0},
    {"--input-len-range", NULL, CLI_OPT_FLOAT, CLI_IN_BENCH, AT(input_len_range), AT(has_len_range), 0, 0, 0},
    {"--output-len-range", NULL, CLI_OPT_FLOAT, CLI_IN_BENCH, AT(output_len_range), AT(has_len_range), 0, 0, 0},
    {"--timeout", NULL, CLI_OPT_INT, CLI_IN_BENCH, AT(timeout_s), AT(has_timeout), 1, 86400, 0},
    {"--host", NULL, CLI_OPT_STRING, CLI_IN_SERVE, AT(host), NO_MARK, 0, 0, 0},
    {"--port", NULL, CLI_OPT_INT, CLI_IN_SERVE, AT(port), NO_MARK, 0, 65535, 0},
    {"--api-key", NULL, CLI_OPT_STRING, CLI_IN_SERVE | CLI_IN_BENCH, AT(api_key), NO_MARK, 0, 0, 0},
    {"--max-concurrency", NULL, CLI_OPT_INT, CLI_IN_SERVE, AT(max_concurrency), NO_MARK, 1, 4096, 0},
    {"--max-queue", NULL, CLI_OPT_INT, CLI_IN_SERVE, AT(max_queue), NO_MARK, 0, 1000000, 0},
    {"--model-name", NULL, CLI_OPT_STRING, CLI_IN_SERVE, AT(model_name), NO_MARK, 0, 0, 0},
    {"--shutdown-timeout", NULL, CLI_OPT_INT, CLI_IN_SERVE, AT(shutdown_timeout), NO_MARK, 0, 3600, 0},
    {"--max-stream-buffer", NULL, CLI_OPT_INT, CLI_IN_SERVE, AT(max_stream_buffer), NO_MARK, 1024,
     INT_MAX, 0},
};

void cli_print_usage(FILE *f, const char *prog_name) {
    fprintf(f,
            "usage: %s COMMAND [options]\n"
            "commands:\n"
            "  generate -p TEXT   generate a continuation of TEXT\n"
            "  generate --input FILE\n"
            "                     run every request of a JSON-lines file through the\n"
            "                     batching scheduler; one JSON result per line\n"
            "  chat               talk with the model: user lines on stdin, replies\n"
            "                     on stdout (EOF ends the session)\n"
            "  info               print the model manifest and memory plan\n"
            "  serve              OpenAI-compatible HTTP server: /v1/completions,\n"
            "                     /v1/chat/completions, /v1/models, /health, /metrics\n"
            "  bench              time prefill and decode; print tokens/s, bytes read per\n"
            "                     token and the ratio to the measured copy bandwidth;\n"
            "                     with --concurrency etc.: a serving load through the\n"
            "                     scheduler (throughput, TTFT, inter-token latency)\n"
            "generate options:\n"
            "  -p, --prompt TEXT      prompt text\n"
            "  --ids \"1 2 3\"          prompt as token ids instead of text\n"
            "  -n, --n-predict N      tokens to generate (default 128)\n"
            "  --temperature T        0 = greedy (default: the model's generation\n"
            "                         config if it has one, else greedy)\n"
            "  --top-k K              keep the K most likely tokens (0 = all)\n"
            "  --top-p P              nucleus mass in (0, 1] (1 = all)\n"
            "  --seed S               sampling seed (default: from time; printed)\n"
            "  --min-p P              drop tokens less likely than P x the most likely\n"
            "                         one, in [0, 1] (0 = off)\n"
            "  --repeat-penalty R     divide positive logits of prompt and generated tokens\n"
            "                         by R, multiply negative ones (> 0, 1 = off)\n"
            "  --presence-penalty P   subtract P from the logits of generated tokens\n"
            "                         ([-2, 2], 0 = off)\n"
            "  --frequency-penalty F  subtract F x (times generated) ([-2, 2], 0 = off)\n"
            "  --stop TEXT            end at TEXT (not printed); repeatable, up to 16,\n"
            "                         256 bytes each\n"
            "  --stop-id ID           end at token ID (not printed); repeatable, up to 16\n"
            "  --logprobs N           one JSON line per generated token: its logprob and\n"
            "                         the N most likely (0..20), to stderr\n"
            "  --logprobs-file FILE   write those lines to FILE instead\n"
            "  --no-bos               do not prepend BOS\n"
            "  --ignore-eos           keep generating after EOS\n"
            "  --print-ids            print the generated ids on a line 'ids: ...'\n"
            "  --dump-logits FILE     write float32 [n_prompt][vocab] prompt logits\n"
            "batch options (generate --input):\n"
            "  --input FILE           requests, one JSON object per line: \"prompt\" and\n"
            "                         optionally max_tokens, temperature, top_p, top_k,\n"
            "                         min_p, repetition_penalty, presence_penalty,\n"
            "                         frequency_penalty, stop, stop_token_ids, seed, n,\n"
            "                         logprobs, ignore_eos, id (the flags above are the\n"
            "                         defaults; -n is the default max_tokens)\n"
            "  --output FILE          results, one JSON object per input line, in input\n"
            "                         order (default: stdout)\n"
            "  --max-seqs N           sequences running at once (default: the step's token\n"
            "                         budget, at most 64; bench: --concurrency)\n"
            "  --max-batch-tokens N   tokens per forward step (default: the program's)\n"
            "bench options:\n"
            "  --prompt-len N         prompt tokens (default 16)\n"
            "  --gen-len N            generated tokens, greedy, EOS ignored (default 128)\n"
            "  --batch N              sequences (1 until batching lands)\n"
            "  --runs N               timed runs after one warm-up, median reported (default 3)\n"
            "  --concurrency C        serving load: C requests in flight (default 1)\n"
            "  --requests R           requests in all (default 4 x C)\n"
            "  --input-len I          prompt tokens per request (default 32)\n"
            "  --output-len O         generated tokens per request, EOS ignored (default 64)\n"
            "  --json FILE            also write the serving results as JSON\n"
            "  (and --max-seqs, --max-batch-tokens as for generate --input)\n"
            "bench --url options (load a running OpenAI-compatible server over HTTP;\n"
            "  --requests, --concurrency, --input-len, --output-len, --json as above):\n"
            "  --url URL              http://HOST:PORT[/PATH] of the server\n"
            "  --endpoint E           completions (default) or chat\n"
            "  --api-key KEY          sent as Authorization: Bearer KEY\n"
            "  --model NAME           the requests' model field (default: none sent)\n"
            "  --request-rate R       Poisson arrivals, R requests/s (--concurrency caps\n"
            "                         the requests in flight)\n"
            "  --input-len-range F    prompt lengths uniform in [I(1-F), I(1+F)], F in [0, 1)\n"
            "  --output-len-range F   output lengths uniform in [O(1-F), O(1+F)]\n"
            "  --seed S               lengths, arrivals and prompts (default 0)\n"
            "  --timeout S            fail a request after S s without data (default 600)\n"
            "chat options (and -n per reply and every sampling, stop and logprobs option):\n"
            "  --system TEXT          system message (default: the template's own,\n"
            "                         if it has one)\n"
            "  --chat-template NAME   chatml, llama3, llama2, mistral or phi3 (default:\n"
            "                         recognised from the model's chat template)\n"
            "serve options (and --max-seqs, --max-batch-tokens, --chat-template):\n"
            "  --host ADDR            address to listen on (default 127.0.0.1)\n"
            "  --port N               port (default 8080; 0 = a free one, printed)\n"
            "  --api-key KEY          require Authorization: Bearer KEY on /v1/ (default:\n"
            "                         $LLMCC_API_KEY if set, else no key)\n"
            "  --max-concurrency N    requests in the scheduler at once (default: --max-seqs)\n"
            "  --max-queue N          requests waiting beyond those; more get 429 (default 1024)\n"
            "  --model-name NAME      the model's name in the API (default: this file's name)\n"
            "  --shutdown-timeout S   seconds in-flight requests get after SIGINT/SIGTERM\n"
            "                         (default 5)\n"
            "  --max-stream-buffer N  bytes of a stream its client has not read yet before\n"
            "                         the request is cancelled and the connection closed\n"
            "                         (default 4194304)\n"
            "common options:\n"
            "  -t, --threads N        worker threads (default: all cores)\n"
            "  --kv-memory SIZE       KV cache budget, e.g. 512M, 2G, or a fraction of\n"
            "                         the free memory, e.g. 0.9 (default: one sequence\n"
            "                         of the full context)\n"
            "  -h, --help             this text\n",
            prog_name);
}

int cli_parse_int(const char *flag, const char *s, int min, int max, int *out, LlmError *err) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || isspace((unsigned char)*s))
        return llm_errorf(err, "%s: expected an integer, got '%s'", flag, s);
    if (errno == ERANGE || v < min || v > max)
        return llm_errorf(err, "%s: %s is out of range [%d, %d]", flag, s, min, max);
    *out = (int)v;
    return LLM_OK;
}

int cli_parse_float(const char *flag, const char *s, float *out, LlmError *err) {
    char *end = NULL;
    errno = 0;
    float v = strtof(s, &end);
    if (end == s || *end != '\0' || isspace((unsigned char)*s) || v != v)
        return llm_errorf(err, "%s: expected a number, got '%s'", flag, s);
    if (errno == ERANGE) return llm_errorf(err, "%s: %s is out of range", flag, s);
    *out = v;
    return LLM_OK;
}

int cli_parse_u64(const char *flag, const char *s, uint64_t *out, LlmError *err) {
    char *end = NULL;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return llm_errorf(err, "%s: expected a non-negative integer, got '%s'", flag, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') return llm_errorf(err, "%s: expected a non-negative integer, got '%s'", flag, s);
    if (errno == ERANGE) return llm_errorf(err, "%s: %s is out of range", flag, s);
    *out = (uint64_t)v;
    return LLM_OK;
}

int cli_parse_bytes(const char *flag, const char *s, size_t *out, LlmError *err) {
    KvBudget b;
    if (kv_budget_parse(flag, s, &b, err) != LLM_OK) return LLM_ERR;
    if (b.kind != KV_BUDGET_BYTES)
        return llm_errorf(err, "%s: expected a size like 512M or 2G, got '%s'", flag, s);
    *out = b.bytes;
    return LLM_OK;
}

int cli_parse_ids(const char *flag, const char *s, int vocab, int32_t **ids, int *n,
                  LlmError *err) {
    size_t cap = strlen(s) / 2 + 1;
    int32_t *buf = llm_xmalloc(sizeof(int32_t) * cap);
    int count = 0;
    const char *p = s;
    for (;;) {
        while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n') p++;
        if (*p == '\0') break;
        char *end = NULL;
        errno = 0;
        long v = isdigit((unsigned char)*p) ? strtol(p, &end, 10) : -1;
        if (end == NULL || errno == ERANGE || v >= vocab || (*end && !strchr(" ,\t\n", *end))) {
            int len = (int)strcspn(p, " ,\t\n");
            free(buf);
            return llm_errorf(err, "%s: '%.*s' is not a token id in [0, %d)", flag, len, p, vocab);
        }
        buf[count++] = (int32_t)v;
        p = end;
    }
    *ids = buf;
    *n = count;
    return LLM_OK;
}

static const CliOption *option_find(const char *arg) {
    for (size_t i = 0; i < sizeof CLI_OPTIONS / sizeof CLI_OPTIONS[0]; i++) {
        const CliOption *o = &CLI_OPTIONS[i];
        if (strcmp(arg, o->name) == 0 || (o->alias && strcmp(arg, o->alias) == 0)) return o;
    }
    return NULL;
}

/* Appends value to a repeatable option's array (counted past its cap, so
 * that the check names how many were given). */
static int option_append(const CliOption *o, const char *flag, const char *value, CliArgs *a,
                         LlmError *err) {
    char *field = (char *)a + o->offset;
    int *count = (int *)(void *)((char *)a + o->has_offset);
    int v = 0;
    if (o->kind == CLI_OPT_INT_LIST && cli_parse_int(flag, value, o->min, o->max, &v, err) != LLM_OK)
        return LLM_ERR;
    if (*count < o->cap) {
        if (o->kind == CLI_OPT_STRING_LIST) ((const char **)(void *)field)[*count] = value;
        else ((int *)(void *)field)[*count] = v;
    }
    (*count)++;
    return LLM_OK;
}

/* Stores value (the flag's argument as typed) into a per o. */
static int option_store(const CliOption *o, const char *flag, const char *value, CliArgs *a,
                        LlmError *err) {
    char *field = (char *)a + o->offset;
    int rc = LLM_OK;
    switch (o->kind) {
    case CLI_OPT_STRING: *(const char **)(void *)field = value; break;
    case CLI_OPT_INT: rc = cli_parse_int(flag, value, o->min, o->max, (int *)(void *)field, err); break;
    case CLI_OPT_FLOAT: rc = cli_parse_float(flag, value, (float *)(void *)field, err); break;
    case CLI_OPT_U64: rc = cli_parse_u64(flag, value, (uint64_t *)(void *)field, err); break;
    case CLI_OPT_KV_BUDGET: rc = kv_budget_parse(flag, value, (KvBudget *)(void *)field, err); break;
    case CLI_OPT_SWITCH: *(int *)(void *)field = 1; break;
    case CLI_OPT_STRING_LIST:
    case CLI_OPT_INT_LIST: return option_append(o, flag, value, a, err);
    }
    if (rc == LLM_OK && o->has_offset != NO_MARK) *(int *)(void *)((char *)a + o->has_offset) = 1;
    return rc;
}

static int parse_command(const char *word, CliArgs *a, unsigned *mask, LlmError *err) {
    if (strcmp(word, "generate") == 0) {
        a->command = CLI_CMD_GENERATE;
        *mask = CLI_IN_GENERATE;
    } else if (strcmp(word, "chat") == 0) {
        a->command = CLI_CMD_CHAT;
        *mask = CLI_IN_CHAT;
    } else if (strcmp(word, "info") == 0) {
        a->command = CLI_CMD_INFO;
        *mask = CLI_IN_INFO;
    } else if (strcmp(word, "serve") == 0) {
        a->command = CLI_CMD_SERVE;
        *mask = CLI_IN_SERVE;
    } else if (strcmp(word, "bench") == 0) {
        a->command = CLI_CMD_BENCH;
        *mask = CLI_IN_BENCH;
    } else if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
        a->command = CLI_CMD_HELP;
    } else {
        return llm_errorf(err, "unknown command '%s'", word);
    }
    return LLM_OK;
}

static void args_defaults(CliArgs *a) {
    memset(a, 0, sizeof *a);
    a->command = CLI_CMD_HELP;
    a->prompt_len = 16;
    a->gen_len = 128;
    a->batch = 1;
    a->runs = 3;
    a->concurrency = 1;
    a->input_len = 32;
    a->output_len = 64;
    a->n_predict = 128;
    a->top_p = 1.0f;
    a->timeout_s = 600;
    a->host = "127.0.0.1";
    a->port = 8080;
    a->max_queue = 1024;
    a->shutdown_timeout = 5;
}

void cli_apply_sampling_flags(const CliArgs *a, SamplerParams *p) {
    if (a->has_temperature) p->temperature = a->temperature;
    if (a->has_top_k) p->top_k = a->top_k;
    if (a->has_top_p) p->top_p = a->top_p;
    if (a->has_min_p) p->min_p = a->min_p;
    if (a->has_repeat_penalty) p->repetition_penalty = a->repeat_penalty;
    if (a->has_presence_penalty) p->presence_penalty = a->presence_penalty;
    if (a->has_frequency_penalty) p->frequency_penalty = a->frequency_penalty;
    if (a->has_logprobs) p->logprobs = a->logprobs;
}

/* Range checks that need no model: sampling and stop flags, the id syntax. */
static int args_check_values(const CliArgs *a, LlmError *err) {
    SamplerParams p = sampler_params_default();
    cli_apply_sampling_flags(a, &p);
    if (sampler_params_validate(&p, err) != LLM_OK) return LLM_ERR;
    if (a->logprobs_file != NULL && !a->has_logprobs)
        return llm_errorf(err, "--logprobs-file %s: give --logprobs N too", a->logprobs_file);
    if (stop_strings_validate(a->stop, a->n_stop, err) != LLM_OK) return LLM_ERR;
    if (a->n_stop_ids > CLI_MAX_STOP_IDS)
        return llm_errorf(err, "--stop-id: %d stop ids, at most %d", a->n_stop_ids, CLI_MAX_STOP_IDS);
    ChatFamily family;
    if (a->chat_template != NULL && chat_family_parse(a->chat_template, &family, err) != LLM_OK)
        return LLM_ERR;
    if (a->ids != NULL) {
        int32_t *ids = NULL;
        int n = 0;
        if (cli_parse_ids("--ids", a->ids, INT32_MAX, &ids, &n, err) != LLM_OK) return LLM_ERR;
        free(ids);
        if (n == 0) return llm_errorf(err, "--ids: '%s' holds no token ids", a->ids);
    }
    return LLM_OK;
}

/* The prompt source of generate: -p, --ids or --input, and what goes with
 * each. */
static int args_check_generate(const CliArgs *a, LlmError *err) {
    int sources = (a->prompt != NULL) + (a->ids != NULL) + (a->input != NULL);
    if (sources == 0)
        return llm_errorf(err, "generate: give a prompt with -p TEXT or --ids \"1 2 3\", or a "
                          "file of requests with --input FILE");
    if (sources > 1) return llm_errorf(err, "generate: give one of -p, --ids and --input");
    if (a->input == NULL) {
        if (a->output != NULL) return llm_errorf(err, "--output %s: goes with --input", a->output);
        if (a->max_seqs || a->max_batch_tokens)
            return llm_errorf(err, "--max-seqs and --max-batch-tokens go with --input");
        return LLM_OK;
    }
    if (a->dump_logits || a->logprobs_file || a->print_ids)
        return llm_errorf(err, "--input: --dump-logits, --logprobs-file and --print-ids are for "
                          "a single prompt (results carry token_ids and logprobs)");
    if (a->n_predict == 0) return llm_errorf(err, "-n 0: batch requests need at least one token");
    return LLM_OK;
}

int cli_bench_serving(const CliArgs *a) {
    return a->has_concurrency || a->has_requests || a->has_input_len || a->has_output_len ||
           a->bench_json != NULL || a->url != NULL;
}

int cli_bench_http(const CliArgs *a) { return a->command == CLI_CMD_BENCH && a->url != NULL; }

/* bench --url: its own flags' values, and no flags of the in-process loads. */
static int args_check_bench_http(const CliArgs *a, LlmError *err) {
    if (a->url == NULL) {
        if (a->api_key || a->endpoint || a->model || a->has_request_rate || a->has_len_range ||
            a->has_timeout || a->has_seed)
            return llm_errorf(err, "bench: --api-key, --endpoint, --model, --request-rate, "
                              "--input-len-range, --output-len-range, --timeout and --seed go "
                              "with --url");
        return LLM_OK;
    }
    HttpUrl url;
    if (http_url_parse(a->url, &url, err) != LLM_OK) return LLM_ERR;
    if (a->has_batch1_flag || a->max_seqs || a->max_batch_tokens)
        return llm_errorf(err, "bench --url: --prompt-len, --gen-len, --batch, --runs, --max-seqs "
                          "and --max-batch-tokens are for the in-process benches");
    if (a->endpoint != NULL && strcmp(a->endpoint, "completions") != 0 &&
        strcmp(a->endpoint, "chat") != 0)
        return llm_errorf(err, "--endpoint %s: expected completions or chat", a->endpoint);
    if (a->has_request_rate && !(a->request_rate > 0.0f && a->request_rate <= 1e6f))
        return llm_errorf(err, "--request-rate %g: must be in (0, 1e6] requests/s",
                          (double)a->request_rate);
    if (!(a->input_len_range >= 0.0f && a->input_len_range < 1.0f))
        return llm_errorf(err, "--input-len-range %g: must be in [0, 1)", (double)a->input_len_range);
    if (!(a->output_len_range >= 0.0f && a->output_len_range < 1.0f))
        return llm_errorf(err, "--output-len-range %g: must be in [0, 1)",
                          (double)a->output_len_range);
    return LLM_OK;
}

/* The batch-1 bench and the serving load take different flags. */
static int args_check_bench(const CliArgs *a, LlmError *err) {
    if (cli_bench_serving(a) && a->has_batch1_flag)
        return llm_errorf(err, "bench: --prompt-len, --gen-len, --batch and --runs are for the "
                          "batch-1 bench; the serving load takes --input-len, --output-len, "
                          "--requests");
    if (!cli_bench_serving(a) && (a->max_seqs || a->max_batch_tokens))
        return llm_errorf(err, "bench: --max-seqs and --max-batch-tokens go with the serving "
                          "load (--concurrency, --requests, --input-len, --output-len)");
    return args_check_bench_http(a, err);
}

int cli_args_parse(int argc, char **argv, CliArgs *a, LlmError *err) {
    args_defaults(a);
    a->argv0 = argc > 0 ? argv[0] : "model";
    if (argc < 2) return LLM_OK;
    unsigned mask = 0;
    if (parse_command(argv[1], a, &mask, err) != LLM_OK) return LLM_ERR;
    for (int i = 2; i < argc && a->command != CLI_CMD_HELP; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            a->command = CLI_CMD_HELP;
            break;
        }
        const CliOption *o = option_find(arg);
        if (o == NULL || !(o->commands & mask))
            return llm_errorf(err, "%s: unknown option '%s'", argv[1], arg);
        const char *value = NULL;
        if (o->kind != CLI_OPT_SWITCH) {
            if (i + 1 >= argc) return llm_errorf(err, "%s: missing value", arg);
            value = argv[++i];
        }
        if (option_store(o, arg, value, a, err) != LLM_OK) return LLM_ERR;
    }
    if (a->command == CLI_CMD_GENERATE && args_check_generate(a, err) != LLM_OK) return LLM_ERR;
    if (a->command == CLI_CMD_BENCH && args_check_bench(a, err) != LLM_OK) return LLM_ERR;
    return args_check_values(a, err);
}
