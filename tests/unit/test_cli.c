/* test_cli.c - the CLI end to end over a fake program and a temp payload.
 *
 * The fake forward() writes each token's id + 1 into its K slot and its
 * position into its V slot through the block table, checks that every
 * earlier position of the sequence is already there, and produces logits
 * that favour (token + 1) % vocab. So generated ids are consecutive and any
 * block-table or position mistake is counted in fake_kv_errors. `chat` runs
 * the same way with its stdin from a temp file (llm_cli_run_io). With
 * fake_ladder set, every logits row is the same ladder instead (token 100 + k
 * at 10 - k for k < 10, 0 elsewhere), for the penalty tests.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/payload.h"
#include "cli/args.h"
#include "cli/cli.h"
#include "engine/engine.h"
#include "load/model_load.h"
#include "cli/commands.h"
#include "tok/tok.h"


/* ---- fake program ------------------------------------------------------ */
static int fake_kv_errors; /* block-table / position mismatches seen */
static int fake_calls;     /* forward() calls */
static int fake_logit_rows; /* logits rows produced, summed over calls */
static int fake_ladder;     /* 1: the fixed ladder logits instead of the chain */

static float *kv_slot(const LlmForwardCtx *ctx, const LlmBatch *b, float *base, int t, int pos) {
    const int32_t *row = b->block_tables + (size_t)b->seq_index[t] * 16;
    int32_t block = row[pos / 4];
    if (block < 0 || block >= ctx->kv.n_blocks) return NULL;
    return base + block * 4 + pos % 4;
}

static void fake_forward(const LlmForwardCtx *ctx, const LlmBatch *b) {
    fake_calls++;
    fake_logit_rows += b->n_logits;
    for (int t = 0; t < b->n_tokens; t++) {
        float *k = kv_slot(ctx, b, ctx->kv.k, t, b->positions[t]);
        float *v = kv_slot(ctx, b, ctx->kv.v, t, b->positions[t]);
        if (k == NULL || v == NULL) { fake_kv_errors++; continue; }
        *k = (float)(b->tokens[t] + 1);
        *v = (float)b->positions[t];
    }
    for (int t = 0; t < b->n_tokens; t++)
        for (int p = 0; p < b->positions[t]; p++) {
            float *v = kv_slot(ctx, b, ctx->kv.v, t, p);
            if (v == NULL || *v != (float)p) fake_kv_errors++;
        }
    for (int r = 0; r < b->n_logits; r++) {
        float *row = b->logits + (size_t)r * 2048;
        memset(row, 0, sizeof(float) * 2048);
        if (fake_ladder)
            for (int k = 0; k < 10; k++) row[100 + k] = 10.0f - (float)k;
        else
            row[(b->tokens[b->logit_rows[r]] + 1) % 2048] = 10.0f;
    }
}

static uint8_t fake_weights[40];

static LlmProgram fake_program(void) {
    LlmProgram p = {
        .abi_version = LLM_PROGRAM_ABI, .target = "cpu",
        .manifest_json = "{\"arch\":\"fake\"}", .vocab_size = 2048, .hidden_size = 8,
        .n_layers = 1, .n_kv_heads = 1, .head_dim = 1, .max_context = 64, .max_tokens = 4,
        .block_size = 4, .max_blocks_per_seq = 16, .kv_elem_bytes = 4, .arena_bytes = 100,
        .weight_bytes = sizeof fake_weights, .weight_align = 64,
        .weight_hash = payload_weight_hash(fake_weights, sizeof fake_weights),
        .engine = &llm_engine_cpu, .arch = "test",
        .forward = fake_forward,
    };
    return p;
}

/* ---- helpers ----------------------------------------------------------- */
static char payload_path[64];

/* The tokenizer description exactly as the compiler embeds it. */
static char *tokenizer_json(void) {
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(LLMCC_FIXTURES "/models/tinystories-656k", &m, &err) != LLM_OK) fail_msg("%s", err.msg);
    char *json = json_dumps(m.tokenizer, JSON_COMPACT);
    loaded_model_free(&m);
    assert_non_null(json);
    return json;
}

static void make_payload(const char *manifest) {
    strcpy(payload_path, "/tmp/llmcc_test_cli_XXXXXX");
    int fd = mkstemp(payload_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\177ELF fake program", 17), 17);
    close(fd);
    for (size_t i = 0; i < sizeof fake_weights; i++) fake_weights[i] = (uint8_t)(i * 7 + 1);
    char *tok = tokenizer_json();
    LlmError err = {{0}};
    assert_int_equal(payload_append(payload_path, fake_weights, sizeof fake_weights, tok,
                                    strlen(tok), manifest, strlen(manifest), &err), LLM_OK);
    free(tok);
}

static int setup(void **state) {
    (void)state;
    make_payload("{\"arch\":\"fake\",\"target\":\"cpu\",\"hyper\":{\"layers\":1}}");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(payload_path);
    return 0;
}

typedef struct RunResult {
    int code;      /* exit code */
    char out[8192]; /* stdout text */
    char log[8192]; /* stderr text */
} RunResult;

static void slurp(FILE *f, char *buf, size_t cap) {
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the CLI on a NULL-terminated argument list (argv[0] added). */
static void run_cli(RunResult *r, const LlmProgram *prog, ...) {
    char *argv[32] = {"model"};
    int argc = 1;
    va_list ap;
    va_start(ap, prog);
    for (char *s; (s = va_arg(ap, char *)) != NULL;) argv[argc++] = s;
    va_end(ap);
    FILE *out = tmpfile(), *log = tmpfile();
    fake_kv_errors = fake_calls = fake_logit_rows = 0;
    r->code = llm_cli_run(argc, argv, prog, payload_path, out, log);
    slurp(out, r->out, sizeof r->out);
    slurp(log, r->log, sizeof r->log);
}

static void expect_in(const char *hay, const char *needle) {
    if (strstr(hay, needle) == NULL) fail_msg("'%s' not found in:\n%s", needle, hay);
}

/* Runs `chat` with input as stdin (argv[0] and "chat" added). */
static void run_chat(RunResult *r, const LlmProgram *prog, const char *input, ...) {
    char *argv[32] = {"model", "chat"};
    int argc = 2;
    va_list ap;
    va_start(ap, input);
    for (char *s; (s = va_arg(ap, char *)) != NULL;) argv[argc++] = s;
    va_end(ap);
    FILE *in = tmpfile(), *out = tmpfile(), *log = tmpfile();
    fputs(input, in);
    rewind(in);
    fake_kv_errors = fake_calls = fake_logit_rows = 0;
    r->code = llm_cli_run_io(argc, argv, prog, payload_path, in, out, log);
    fclose(in);
    slurp(out, r->out, sizeof r->out);
    slurp(log, r->log, sizeof r->log);
}

/* ---- tests ------------------------------------------------------------- */
static void test_generate_ids(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "generate", "--ids", "5 6 7", "-n", "5", "--print-ids", "--threads", "2", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids: 8 9 10 11 12\n");
    expect_in(r.log, "prompt tokens: 3, generated tokens: 5");
    expect_in(r.log, "stop: length");
    assert_int_equal(fake_kv_errors, 0);
    assert_int_equal(fake_calls, 1 + 4);      /* one prefill step, 4 decode steps */
    assert_int_equal(fake_logit_rows, 1 + 4);
}

static void test_generate_chunked_prefill(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "generate", "--ids", "10,11,12,13,14,15,16,17,18,19", "-n", "2",
            "--print-ids", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids: 20 21\n");
    assert_int_equal(fake_calls, 3 + 1);      /* 4 + 4 + 2 prompt tokens, then 1 decode */
    assert_int_equal(fake_logit_rows, 1 + 1); /* only the last prompt token */
    assert_int_equal(fake_kv_errors, 0);
}

static void test_generate_eos(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "generate", "--ids", "1", "--print-ids", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids:\n");
    expect_in(r.log, "stop: eos");
    run_cli(&r, &p, "generate", "--ids", "1", "--print-ids", "--ignore-eos", "-n", "1", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.log, "stop: length");
    expect_in(r.out, "ids: 2\n");
}

static void test_generate_limits(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    char ids[400] = "";
    for (int i = 0; i < 60; i++) sprintf(ids + strlen(ids), "%d ", 100 + i);
    RunResult r;
    run_cli(&r, &p, "generate", "--ids", ids, "-n", "10", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.log, "generated tokens: 5");
    expect_in(r.log, "stop: context");
    assert_int_equal(fake_kv_errors, 0);
    run_cli(&r, &p, "generate", "--ids", "5 6 7 8 9", "-n", "10", "--kv-memory", "64", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.log, "generated tokens: 4");
    expect_in(r.log, "stop: kv-full");
    run_cli(&r, &p, "generate", "--ids", "5 6 7 8 9", "--kv-memory", "32", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "raise --kv-memory");
    run_cli(&r, &p, "generate", "--ids", ids, "--ids", "5 3000", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--ids: '3000' is not a token id in [0, 2048)");
    run_cli(&r, &p, "generate", "--ids", "5", "--kv-memory", "16", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--kv-memory 16: too small");
}

/* --kv-memory as a fraction of free memory (host MemAvailable on the cpu
 * target, capped at what one full-context sequence can use) and as a
 * decimal size. */
static void test_kv_memory_fraction(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "info", "--kv-memory", "0.5", NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    expect_in(r.out, "kv pool             16 blocks");
    run_cli(&r, &p, "generate", "--ids", "5 6 7", "-n", "3", "--print-ids", "--kv-memory", "0.9",
            NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids: 8 9 10\n");
    assert_int_equal(fake_kv_errors, 0);
    run_cli(&r, &p, "info", "--kv-memory", "1e3", NULL); /* 1000 / 32-byte blocks */
    assert_int_equal(r.code, 0);
    expect_in(r.out, "kv pool             31 blocks");
    run_cli(&r, &p, "info", "--kv-memory", "1.5", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--kv-memory: 1.5 is not a whole number of bytes");
}

static void test_dump_logits(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    char path[] = "/tmp/llmcc_test_logits_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    RunResult r;
    run_cli(&r, &p, "generate", "--ids", "5 6 7 8 9 10", "-n", "1", "--dump-logits", path,
            "--print-ids", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids: 11\n");
    FILE *f = fopen(path, "rb");
    float *rows = llm_xmalloc(sizeof(float) * 7 * 2048);
    size_t got = fread(rows, sizeof(float), 7 * 2048, f);
    fclose(f);
    assert_int_equal(got, 6 * 2048);
    for (int i = 0; i < 6; i++) assert_true(rows[(size_t)i * 2048 + 6 + (size_t)i] == 10.0f);
    free(rows);
    unlink(path);
}

static void test_generate_sampling_seed(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult a, b;
    run_cli(&a, &p, "generate", "--ids", "5", "-n", "8", "--temperature", "5", "--seed", "9",
            "--print-ids", NULL);
    run_cli(&b, &p, "generate", "--ids", "5", "-n", "8", "--temperature", "5", "--seed", "9",
            "--print-ids", NULL);
    assert_int_equal(a.code, 0);
    assert_string_equal(a.out, b.out);
    expect_in(a.log, "seed: 9");
}

static void test_generate_text(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "generate", "-p", "Once upon a time", "-n", "5", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.log, "generated tokens: 5");
}

/* Penalties through the CLI (sampled in the engine's step), on the ladder logits. */
static void test_generate_penalties(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    fake_ladder = 1;
    run_cli(&r, &p, "generate", "--ids", "5", "-n", "4", "--print-ids", NULL);
    expect_in(r.out, "ids: 100 100 100 100\n");
    /* frequency 2: 100 | 100 at 8 < 101 at 9 | 100 8, 101 7, 102 8: 100 | 100 6: 102 */
    run_cli(&r, &p, "generate", "--ids", "5", "-n", "4", "--print-ids", "--frequency-penalty", "2", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "ids: 100 101 100 102\n");
    assert_int_equal(fake_kv_errors, 0);
    /* presence 1.5: 100 | 101 | 100 8.5, 101 7.5, 102 8: 100 | 100 again */
    run_cli(&r, &p, "generate", "--ids", "5", "-n", "4", "--print-ids", "--presence-penalty", "1.5", NULL);
    expect_in(r.out, "ids: 100 101 100 100\n");
    /* repetition 2 counts the prompt: 100 at 5 | 101 | 102 | 103 */
    run_cli(&r, &p, "generate", "--ids", "100 5", "-n", "3", "--print-ids", "--repeat-penalty", "2", NULL);
    expect_in(r.out, "ids: 101 102 103\n");
    /* sampled: at temperature 0.01 a gap of 0.5 is a factor e^50, so the
     * draws follow the presence sequence above whatever the seed */
    run_cli(&r, &p, "generate", "--ids", "5", "-n", "4", "--print-ids", "--presence-penalty", "1.5",
            "--temperature", "0.01", "--top-k", "5", "--min-p", "0.5", NULL);
    expect_in(r.out, "ids: 100 101 100 100\n");
    fake_ladder = 0;
}

/* The number after "key": in a JSON line. */
static double json_number_after(const char *line, const char *key) {
    const char *at = strstr(line, key);
    if (at == NULL) fail_msg("'%s' not in %s", key, line);
    return strtod(at + strlen(key), NULL);
}

static void test_generate_logprobs(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    /* chain logits: 10 at the next id, 0 at the 2047 others */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "2", "--logprobs", "2", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "AB\n");
    const char *l0 = strstr(r.log, "{\"index\":0,\"id\":26,\"token\":\"A\",\"bytes\":[65],\"logprob\":");
    const char *l1 = strstr(r.log, "{\"index\":1,\"id\":27,\"token\":\"B\",\"bytes\":[66],\"logprob\":");
    if (l0 == NULL || l1 == NULL) fail_msg("logprobs lines missing:\n%s", r.log);
    double want = -log1p(2047.0 * exp(-10.0));
    assert_true(fabs(json_number_after(l0, "\"logprob\":") - want) < 1e-6);
    /* top 2: the token itself, then id 0 (the lowest of the tied zeros) */
    expect_in(l0, "\"top_logprobs\":[{\"id\":26,\"token\":\"A\",\"bytes\":[65],\"logprob\":");
    const char *second = strstr(l0, "},{\"id\":0,\"token\":");
    if (second == NULL) fail_msg("%s", l0);
    assert_true(fabs(json_number_after(second, "\"logprob\":") - (want - 10.0)) < 1e-5);
    /* --logprobs 0: the chosen token only; --logprobs-file: there, not the log */
    char path[] = "/tmp/llmcc_test_lp_XXXXXX";
    close(mkstemp(path));
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "3", "--logprobs", "0", "--logprobs-file", path, NULL);
    assert_int_equal(r.code, 0);
    assert_null(strstr(r.log, "\"index\""));
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    expect_in(buf, "{\"index\":2,\"id\":28,\"token\":\"C\"");
    expect_in(buf, "\"top_logprobs\":[]}\n");
    int lines = 0;
    for (const char *c = buf; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 3);
    /* the token that ends the round (EOS, id 2) gets its line too */
    run_cli(&r, &p, "generate", "--ids", "1", "--logprobs", "0", NULL);
    expect_in(r.log, "{\"index\":0,\"id\":2,");
    expect_in(r.log, "stop: eos");
}

static void test_generate_stop(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    /* ids 26.. are the letters A..: the chain writes "ABCDEFGH" one token each */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "8", NULL);
    assert_string_equal(r.out, "ABCDEFGH\n");
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "8", "--stop", "CDE", "--print-ids", NULL);
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "AB\nids: 26 27 28 29 30\n"); /* "CDE" spans three tokens */
    expect_in(r.log, "stop: stop-string");
    /* held "CD" is released when "X" fails to follow */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "8", "--stop", "CDX", NULL);
    assert_string_equal(r.out, "ABCDEFGH\n");
    expect_in(r.log, "stop: length");
    /* held text at the end of the round is flushed */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "4", "--stop", "DE", NULL);
    assert_string_equal(r.out, "ABCD\n");
    /* several: the first to complete */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "8", "--stop", "EFG", "--stop", "F", NULL);
    assert_string_equal(r.out, "ABCDE\n");
    /* a stop id ends the round before the token, like EOS */
    run_cli(&r, &p, "generate", "--ids", "25", "-n", "8", "--stop-id", "40", "--stop-id", "29",
            "--print-ids", NULL);
    assert_string_equal(r.out, "ABC\nids: 26 27 28\n");
    expect_in(r.log, "stop: stop-token");
}

static void test_sampling_flag_errors(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "generate", "-p", "x", "--min-p", "2", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--min-p 2: must be in [0, 1]");
    run_cli(&r, &p, "generate", "-p", "x", "--repeat-penalty", "0", NULL);
    expect_in(r.log, "--repeat-penalty 0: must be a finite number > 0");
    run_cli(&r, &p, "generate", "-p", "x", "--presence-penalty", "3", NULL);
    expect_in(r.log, "--presence-penalty 3: must be in [-2, 2]");
    run_cli(&r, &p, "generate", "-p", "x", "--frequency-penalty", "-2.5", NULL);
    expect_in(r.log, "--frequency-penalty -2.5: must be in [-2, 2]");
    run_cli(&r, &p, "generate", "-p", "x", "--frequency-penalty", "nan", NULL);
    expect_in(r.log, "--frequency-penalty: expected a number, got 'nan'");
    run_cli(&r, &p, "generate", "-p", "x", "--logprobs", "21", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--logprobs 21: must be in [0, 20]");
    run_cli(&r, &p, "generate", "-p", "x", "--logprobs", "-1", NULL);
    expect_in(r.log, "--logprobs: -1 is out of range");
    run_cli(&r, &p, "generate", "-p", "x", "--logprobs-file", "/tmp/x", NULL);
    expect_in(r.log, "--logprobs-file /tmp/x: give --logprobs N too");
    run_cli(&r, &p, "generate", "-p", "x", "--logprobs", "1", "--logprobs-file", "/nonexistent/dir/f", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--logprobs-file /nonexistent/dir/f: cannot open for writing");
    run_cli(&r, &p, "generate", "-p", "x", "--stop", "", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--stop '': a stop string must not be empty");
    char *argv[40] = {"model", "generate", "-p", "x"};
    int argc = 4;
    for (int i = 0; i < 17; i++) {
        argv[argc++] = "--stop";
        argv[argc++] = "s";
    }
    CliArgs a;
    LlmError err = {{0}};
    assert_int_equal(cli_args_parse(argc, argv, &a, &err), LLM_ERR);
    expect_in(err.msg, "--stop: 17 stop strings, at most 16");
    assert_int_equal(cli_args_parse(argc - 2, argv, &a, &err), LLM_OK);
    assert_int_equal(a.n_stop, 16);
    for (int i = 4; i < argc; i += 2) argv[i] = "--stop-id";
    assert_int_equal(cli_args_parse(argc, argv, &a, &err), LLM_ERR);
    expect_in(err.msg, "--stop-id: expected an integer, got 's'");
    for (int i = 5; i < argc; i += 2) argv[i] = "7";
    assert_int_equal(cli_args_parse(argc, argv, &a, &err), LLM_ERR);
    expect_in(err.msg, "--stop-id: 17 stop ids, at most 16");
    run_cli(&r, &p, "generate", "--ids", "5", "--stop-id", "5000", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--stop-id 5000: not a token id in [0, 2048)");
    run_cli(&r, &p, "generate", "--ids", "5", "--stop-id", "-3", NULL);
    expect_in(r.log, "--stop-id: -3 is out of range");
    run_cli(&r, &p, "info", "--stop", "x", NULL);
    expect_in(r.log, "info: unknown option '--stop'");
}

static void test_info(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, "info", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "\"arch\": \"fake\"");
    expect_in(r.out, "memory plan:");
    expect_in(r.out, "kv pool             16 blocks, 512 bytes");
    expect_in(r.out, "arena               100 bytes");
}

static void test_usage_errors(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    run_cli(&r, &p, NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "usage:");
    run_cli(&r, &p, "--help", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "usage:");
    run_cli(&r, &p, "serve", "--help", NULL);
    assert_int_equal(r.code, 0);
    expect_in(r.out, "serve");
    run_cli(&r, &p, "bogus", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "unknown command 'bogus'");
    run_cli(&r, &p, "generate", "-p", "x", "-n", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "-n: missing value");
    run_cli(&r, &p, "generate", "-p", "x", "-n", "abc", NULL);
    expect_in(r.log, "-n: expected an integer, got 'abc'");
    run_cli(&r, &p, "generate", "-p", "x", "--temperature", "-1", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--temperature -1");
    run_cli(&r, &p, "generate", "-p", "x", "--top-p", "2", NULL);
    expect_in(r.log, "--top-p 2");
    run_cli(&r, &p, "generate", "-p", "x", "--kv-memory", "12X", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--kv-memory: expected a size like 512M or 2G, got '12X'");
    run_cli(&r, &p, "generate", "-p", "x", "--threads", "0", NULL);
    expect_in(r.log, "--threads: 0 is out of range");
    run_cli(&r, &p, "generate", "--ids", "1 x", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--ids: 'x'");
    run_cli(&r, &p, "generate", NULL);
    expect_in(r.log, "give a prompt");
    run_cli(&r, &p, "info", "--top-k", "3", NULL);
    expect_in(r.log, "info: unknown option '--top-k'");
}

static void test_bad_payload(void **state) {
    (void)state;
    LlmProgram p = fake_program();
    RunResult r;
    p.weight_hash ^= 1;
    run_cli(&r, &p, "info", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "weight hash");
    p = fake_program();
    p.abi_version = 99;
    run_cli(&r, &p, "info", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "ABI version 99");
    p = fake_program();
    p.weight_bytes = 41;
    run_cli(&r, &p, "info", NULL);
    expect_in(r.log, "weight section is 40 bytes, the program expects 41");
}

static void test_parse_bytes(void **state) {
    (void)state;
    size_t v = 0;
    LlmError err = {{0}};
    assert_int_equal(cli_parse_bytes("--kv-memory", "512M", &v, &err), LLM_OK);
    assert_int_equal(v, (size_t)512 << 20);
    assert_int_equal(cli_parse_bytes("--kv-memory", "2g", &v, &err), LLM_OK);
    assert_int_equal(v, (size_t)2 << 30);
    assert_int_equal(cli_parse_bytes("--kv-memory", "3KiB", &v, &err), LLM_OK);
    assert_int_equal(v, 3072);
    assert_int_equal(cli_parse_bytes("--kv-memory", "1000", &v, &err), LLM_OK);
    assert_int_equal(v, 1000);
    assert_int_equal(cli_parse_bytes("--kv-memory", "0", &v, &err), LLM_ERR);
    assert_int_equal(cli_parse_bytes("--kv-memory", "-5M", &v, &err), LLM_ERR);
    assert_int_equal(cli_parse_bytes("--kv-memory", "99999999999999999999", &v, &err), LLM_ERR);
    assert_int_equal(cli_parse_bytes("--kv-memory", "1.5K", &v, &err), LLM_OK);
    assert_int_equal(v, 1536);
    assert_int_equal(cli_parse_bytes("--max-bytes", "0.5", &v, &err), LLM_ERR); /* no fractions */
    expect_in(err.msg, "--max-bytes: expected a size like 512M or 2G, got '0.5'");
}

static void test_manifest_generation_defaults(void **state) {
    (void)state;
    CliSession s;
    memset(&s, 0, sizeof s);
    s.manifest = json_loads("{\"generation\":{\"temperature\":0.5,\"top_k\":3,\"top_p\":0.9,"
                            "\"min_p\":0.05,\"repetition_penalty\":1.1}}", 0, NULL);
    CliArgs a;
    LlmError err = {{0}};
    char *argv[] = {"model", "generate", "-p", "x", "--top-k", "7", NULL};
    assert_int_equal(cli_args_parse(6, argv, &a, &err), LLM_OK);
    SamplerParams sp;
    assert_int_equal(cmd_sampler_params(&s, &a, &sp, &err), LLM_OK);
    assert_true(sp.temperature == 0.5f);
    assert_int_equal(sp.top_k, 7);
    assert_true(sp.top_p == 0.9f);
    assert_true(sp.min_p == 0.05f);
    assert_true(sp.repetition_penalty == 1.1f);
    assert_int_equal(sp.logprobs, -1);
    char *argv2[] = {"model", "generate", "-p", "x", "--repeat-penalty", "1.3", "--min-p", "0.2",
                     "--presence-penalty", "-0.5", "--frequency-penalty", "0.25", "--logprobs", "3", NULL};
    assert_int_equal(cli_args_parse(14, argv2, &a, &err), LLM_OK);
    assert_int_equal(cmd_sampler_params(&s, &a, &sp, &err), LLM_OK);
    assert_true(sp.repetition_penalty == 1.3f && sp.min_p == 0.2f);
    assert_true(sp.presence_penalty == -0.5f && sp.frequency_penalty == 0.25f);
    assert_int_equal(sp.logprobs, 3);
    json_decref(s.manifest);
    s.manifest = json_loads("{\"generation\":{\"repetition_penalty\":0}}", 0, NULL);
    assert_int_equal(cli_args_parse(6, argv, &a, &err), LLM_OK);
    assert_int_equal(cmd_sampler_params(&s, &a, &sp, &err), LLM_ERR);
    expect_in(err.msg, "--repeat-penalty 0");
    json_decref(s.manifest);
    s.manifest = json_loads("{\"generation\":{\"temperature\":\"hot\"}}", 0, NULL);
    assert_int_equal(cmd_sampler_params(&s, &a, &sp, &err), LLM_ERR);
    expect_in(err.msg, "generation.temperature");
    json_decref(s.manifest);
    s.manifest = NULL;
    assert_int_equal(cmd_sampler_params(&s, &a, &sp, &err), LLM_OK);
    assert_true(sp.temperature == 0.0f); /* greedy without a generation object */
}

/* A fake program with room for a few chat turns (256 positions). */
static LlmProgram chat_program(void) {
    LlmProgram p = fake_program();
    p.max_context = 256;
    p.max_blocks_per_seq = 64;
    return p;
}

/* The "prompt tokens: P prefilled, R reused" numbers of a chat summary. */
static void prompt_counts(const char *log, long *prefilled, long *reused) {
    const char *at = strstr(log, "prompt tokens: ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "prompt tokens: %ld prefilled, %ld reused", prefilled, reused), 2);
}

static void test_chat_two_turns(void **state) {
    (void)state;
    LlmProgram p = chat_program();
    RunResult r;
    run_chat(&r, &p, "Hi\n\nBye\n", "--chat-template", "chatml", "-n", "3", NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    int lines = 0;
    for (const char *c = r.out; *c; c++) lines += *c == '\n';
    assert_int_equal(lines, 2); /* two replies; the empty line is no turn */
    expect_in(r.log, "[reply 1 stopped: length]");
    expect_in(r.log, "[reply 2 stopped: length]");
    expect_in(r.log, "chat: 2 turns");
    expect_in(r.log, "generated tokens: 6");
    expect_in(r.log, "template: chatml");
    long prefilled = 0, reused = 0, first = 0, zero = -1;
    prompt_counts(r.log, &prefilled, &reused);
    assert_int_equal(fake_kv_errors, 0);
    run_chat(&r, &p, "Hi\n", "--chat-template", "chatml", "-n", "3", NULL);
    prompt_counts(r.log, &first, &zero);
    assert_int_equal(zero, 0);
    assert_true(first > 10);
    assert_true(reused >= first); /* turn 2 kept all of turn 1's prompt in the cache */
}

/* --stop in chat: the streamed reply and the stored turn are both cut. */
static void test_chat_stop(void **state) {
    (void)state;
    LlmProgram p = chat_program();
    RunResult r;
    run_chat(&r, &p, "Hi\n", "--chat-template", "chatml", "-n", "6", NULL);
    assert_int_equal(r.code, 0);
    char full[sizeof r.out];
    memcpy(full, r.out, sizeof full);
    size_t len = strcspn(full, "\n");
    full[len] = '\0';
    assert_true(len >= 4);
    char stop[8] = {0};
    memcpy(stop, full + len - 3, 2); /* two bytes before the last one */
    run_chat(&r, &p, "Hi\nHi\n", "--chat-template", "chatml", "-n", "6", "--stop", stop, NULL);
    assert_int_equal(r.code, 0);
    size_t cut = (size_t)(strstr(full, stop) - full);
    char want[sizeof r.out + 1];
    snprintf(want, sizeof want, "%.*s\n", (int)cut, full);
    if (strncmp(r.out, want, strlen(want)) != 0) fail_msg("got '%s', want '%s' first", r.out, want);
    expect_in(r.log, "[reply 1 stopped: stop-string]");
    assert_int_equal(fake_kv_errors, 0);
}

static void test_chat_errors(void **state) {
    (void)state;
    LlmProgram p = chat_program();
    RunResult r;
    run_chat(&r, &p, "Hi\n", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "chat: the model has no chat template");
    expect_in(r.log, "chatml, llama3, llama2, mistral, phi3");
    run_chat(&r, &p, "Hi\n", "--chat-template", "mistral", "--system", "Be brief.", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "no system role");
    run_chat(&r, &p, "Hi\n", "--chat-template", "vicuna", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "unknown template 'vicuna'");
    run_chat(&r, &p, "Hi\n", "-p", "x", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "chat: unknown option '-p'");
    run_chat(&r, &p, "", "--chat-template", "llama3", NULL); /* EOF at once */
    assert_int_equal(r.code, 0);
    expect_in(r.log, "chat: 0 turns");
    p.max_context = 16; /* a prompt longer than the context */
    run_chat(&r, &p, "Tell me a long story\n", "--chat-template", "phi3", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "the model's context is 16");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_ids),
        cmocka_unit_test(test_generate_chunked_prefill),
        cmocka_unit_test(test_generate_eos),
        cmocka_unit_test(test_generate_limits),
        cmocka_unit_test(test_kv_memory_fraction),
        cmocka_unit_test(test_dump_logits),
        cmocka_unit_test(test_generate_sampling_seed),
        cmocka_unit_test(test_generate_text),
        cmocka_unit_test(test_generate_penalties),
        cmocka_unit_test(test_generate_logprobs),
        cmocka_unit_test(test_generate_stop),
        cmocka_unit_test(test_sampling_flag_errors),
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_bad_payload),
        cmocka_unit_test(test_parse_bytes),
        cmocka_unit_test(test_manifest_generation_defaults),
        cmocka_unit_test(test_chat_two_turns),
        cmocka_unit_test(test_chat_stop),
        cmocka_unit_test(test_chat_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
