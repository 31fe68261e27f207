/* test_cli_batch.c - `generate --input` and the serving `bench` end to end
 * over the simulated model (sim_model.h) and a temp payload carrying the
 * TinyStories tokenizer: every request line gives the reference
 * generator's tokens, alone or among the others, in a roomy or a tiny KV
 * pool; results come back one per line in input order; every kind of bad
 * line gets an error result naming its line and field while the others
 * run; bad flags are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "base/payload.h"
#include "cli/cli.h"
#include "load/model_load.h"
#include "tok/tok.h"

#include "sim_model.h"

static uint8_t weights[40];
static char payload_path[64], in_path[64], out_path[64], json_path[64];
static Tokenizer *tok;

static LlmProgram program(void) {
    LlmProgram p = sim_program();
    p.manifest_json = "{\"arch\":\"sim\"}";
    p.weight_bytes = sizeof weights;
    p.weight_align = 64;
    p.weight_hash = payload_weight_hash(weights, sizeof weights);
    return p;
}

static char *tokenizer_json(void) {
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(LLMCC_FIXTURES "/models/tinystories-656k", &m, &err) != LLM_OK) return NULL;
    char *json = json_dumps(m.tokenizer, JSON_COMPACT);
    loaded_model_free(&m);
    return json;
}

static void temp_name(char *buf, const char *stem) {
    snprintf(buf, 64, "/tmp/llmcc_%s_XXXXXX", stem);
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
}

static int setup(void **state) {
    (void)state;
    temp_name(payload_path, "batch_payload");
    temp_name(in_path, "batch_in");
    temp_name(out_path, "batch_out");
    temp_name(json_path, "batch_json");
    FILE *f = fopen(payload_path, "wb");
    fputs("\177ELF sim program", f);
    fclose(f);
    for (size_t i = 0; i < sizeof weights; i++) weights[i] = (uint8_t)(i * 5 + 3);
    char *t = tokenizer_json();
    LlmError err = {{0}};
    const char *manifest = "{\"arch\":\"sim\",\"target\":\"cpu\"}";
    int rc = t != NULL && payload_append(payload_path, weights, sizeof weights, t, strlen(t), manifest,
                                         strlen(manifest), &err) == LLM_OK &&
             tok_load_json(t, strlen(t), &tok, &err) == LLM_OK;
    free(t);
    return rc ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    unlink(payload_path);
    unlink(in_path);
    unlink(out_path);
    unlink(json_path);
    tok_free(tok);
    return 0;
}

/* ---- running the CLI ------------------------------------------------------ */

typedef struct Run {
    int code;
    char log[8192];
    json_t *results[64]; /* the output lines, parsed */
    int n_results;
} Run;

static void write_input(const char *text) {
    FILE *f = fopen(in_path, "w");
    fputs(text, f);
    fclose(f);
}

static void slurp(FILE *f, char *buf, size_t cap) {
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void read_results(Run *r) {
    FILE *f = fopen(out_path, "r");
    char line[65536];
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        json_error_t je;
        json_t *v = json_loads(line, 0, &je);
        if (v == NULL) fail_msg("output line %d is not JSON: %s", r->n_results + 1, je.text);
        r->results[r->n_results++] = v;
    }
    if (f != NULL) fclose(f);
}

/* Runs the CLI (argv[0] added; NULL-terminated arguments). */
static void run(Run *r, const char *first, ...) {
    LlmProgram p = program();
    char *argv[40] = {"model", (char *)first};
    int argc = 2;
    va_list ap;
    va_start(ap, first);
    for (char *s; (s = va_arg(ap, char *)) != NULL;) argv[argc++] = s;
    va_end(ap);
    memset(r, 0, sizeof *r);
    FILE *out = tmpfile(), *log = tmpfile();
    fclose(fopen(out_path, "w")); /* no stale results */
    r->code = llm_cli_run(argc, argv, &p, payload_path, out, log);
    fclose(out);
    slurp(log, r->log, sizeof r->log);
    read_results(r);
}

static void run_free(Run *r) {
    for (int i = 0; i < r->n_results; i++) json_decref(r->results[i]);
    r->n_results = 0;
}

static void expect_in(const char *hay, const char *needle) {
    if (strstr(hay, needle) == NULL) fail_msg("'%s' not found in:\n%s", needle, hay);
}

/* ---- checks against the reference ----------------------------------------- */

/* The request a line describes (the fields this file uses). */
static SchedRequest line_request(const char *prompt_text, int32_t **ids, const json_t *spec) {
    SchedRequest q = {.sampling = sampler_params_default(), .n = 1};
    assert_int_equal(tok_encode(tok, prompt_text, strlen(prompt_text), tok_add_bos_default(tok), ids,
                                &q.n_prompt, NULL), LLM_OK);
    q.prompt = *ids;
    q.max_tokens = (int)json_integer_value(json_object_get(spec, "max_tokens"));
    q.sampling.temperature = (float)json_number_value(json_object_get(spec, "temperature"));
    q.sampling.seed = (uint64_t)json_integer_value(json_object_get(spec, "seed"));
    if (json_object_get(spec, "top_k")) q.sampling.top_k = (int)json_integer_value(json_object_get(spec, "top_k"));
    if (json_object_get(spec, "repetition_penalty"))
        q.sampling.repetition_penalty = (float)json_number_value(json_object_get(spec, "repetition_penalty"));
    if (json_object_get(spec, "n")) q.n = (int)json_integer_value(json_object_get(spec, "n"));
    q.ignore_eos = json_is_true(json_object_get(spec, "ignore_eos"));
    return q;
}

/* Result object res holds the reference's tokens for every choice. */
static void expect_reference(const json_t *res, const json_t *spec) {
    int32_t *ids = NULL;
    SchedRequest q = line_request(json_string_value(json_object_get(spec, "prompt")), &ids, spec);
    const json_t *choices = json_object_get(res, "choices");
    if (choices == NULL) fail_msg("no choices in %s", json_dumps(res, 0));
    assert_int_equal(json_array_size(choices), q.n);
    assert_int_equal(json_integer_value(json_object_get(res, "prompt_tokens")), q.n_prompt);
    for (int j = 0; j < q.n; j++) {
        Ref ref;
        reference(&q, j, &ref);
        const json_t *got = json_object_get(json_array_get(choices, (size_t)j), "token_ids");
        assert_int_equal(json_array_size(got), ref.n);
        for (int i = 0; i < ref.n; i++)
            assert_int_equal(json_integer_value(json_array_get(got, (size_t)i)), ref.ids[i]);
        const char *reason = json_string_value(json_object_get(json_array_get(choices, (size_t)j), "stop_reason"));
        assert_string_equal(reason, sched_cause_name(ref.cause));
    }
    free(ids);
}

/* ---- tests ----------------------------------------------------------------- */

static const char *GOOD_LINES[] = {
    "{\"prompt\":\"Once upon a time\",\"max_tokens\":12,\"temperature\":0,\"seed\":1,\"id\":\"a\"}",
    "{\"prompt\":\"The dog ran to the park and saw a big red ball.\",\"max_tokens\":20,\"temperature\":0.9,\"seed\":7}",
    "{\"prompt\":\"Lily\",\"max_tokens\":9,\"temperature\":1.0,\"seed\":3,\"n\":3,\"ignore_eos\":true}",
    "{\"prompt\":\"A cat sat on the mat, and then it\",\"max_tokens\":16,\"temperature\":0,\"seed\":0,\"repetition_penalty\":1.4}",
    "{\"prompt\":\"Tom and Sue played all day in the sun\",\"max_tokens\":25,\"temperature\":0.7,\"seed\":11,\"top_k\":40,\"ignore_eos\":true}",
    "{\"prompt\":\"\",\"max_tokens\":6,\"temperature\":0,\"seed\":0}",
};
enum { N_GOOD = sizeof GOOD_LINES / sizeof GOOD_LINES[0] };

static void write_good(void) {
    char text[4096] = "";
    for (int i = 0; i < N_GOOD; i++) {
        strcat(text, GOOD_LINES[i]);
        strcat(text, i == 2 ? "\n\n" : "\n"); /* a blank line counts for numbering only */
    }
    write_input(text);
}

static void expect_good_results(const Run *r) {
    assert_int_equal(r->n_results, N_GOOD);
    for (int i = 0; i < N_GOOD; i++) {
        json_t *spec = json_loads(GOOD_LINES[i], 0, NULL);
        expect_reference(r->results[i], spec);
        assert_int_equal(json_integer_value(json_object_get(r->results[i], "line")), i + 1 + (i > 2));
        json_decref(spec);
    }
    assert_string_equal(json_string_value(json_object_get(r->results[0], "id")), "a");
}

static void test_batch_matches_reference(void **state) {
    (void)state;
    write_good();
    Run r;
    memset(&sim, 0, sizeof sim);
    run(&r, "generate", "--input", in_path, "--output", out_path, NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    expect_good_results(&r);
    assert_int_equal(sim.kv_errors, 0);
    expect_in(r.log, "batch: 6 requests (0 refused)");
    expect_in(r.log, "kv cache: peak ");
    assert_null(strchr(r.log, '\r')); /* no progress bar: the log is not a terminal */
    run_free(&r);
    /* a tiny pool (12 blocks of 32 bytes) and 5 tokens per step: preemption, same tokens */
    memset(&sim, 0, sizeof sim);
    run(&r, "generate", "--input", in_path, "--output", out_path, "--kv-memory", "384",
        "--max-batch-tokens", "5", "--max-seqs", "4", NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    expect_good_results(&r);
    assert_int_equal(sim.kv_errors, 0);
    assert_true(sim.max_t <= 5);
    if (strstr(r.log, " 0 preemptions") != NULL) fail_msg("no preemption: %s", r.log);
    run_free(&r);
}

/* Each line alone in a file gives its result in the batch. */
static void test_alone_equals_batch(void **state) {
    (void)state;
    for (int i = 0; i < N_GOOD; i++) {
        char text[1024];
        snprintf(text, sizeof text, "%s\n", GOOD_LINES[i]);
        write_input(text);
        Run r;
        run(&r, "generate", "--input", in_path, "--output", out_path, NULL);
        assert_int_equal(r.code, 0);
        assert_int_equal(r.n_results, 1);
        json_t *spec = json_loads(GOOD_LINES[i], 0, NULL);
        expect_reference(r.results[0], spec);
        json_decref(spec);
        run_free(&r);
    }
}

/* Every bad line: an error result naming the line and field, in place;
 * the good lines around them still run. */
static const struct { const char *line; const char *error; } BAD_LINES[] = {
    {"not json", "not valid JSON"},
    {"[1, 2]", "expected a JSON object, got an array"},
    {"{\"max_tokens\": 3}", "field \"prompt\" is missing"},
    {"{\"prompt\": 5}", "field \"prompt\": expected a string, got an integer"},
    {"{\"prompt\": \"x\", \"temprature\": 1}", "field \"temprature\": not a request field"},
    {"{\"prompt\": \"x\", \"prompt\": \"y\"}", "duplicate object key"},
    {"{\"prompt\": \"x\", \"max_tokens\": \"5\"}", "field \"max_tokens\": expected an integer, got a string"},
    {"{\"prompt\": \"x\", \"max_tokens\": 0}", "field \"max_tokens\": 0 is out of range"},
    {"{\"prompt\": \"x\", \"max_tokens\": 100}", "max_tokens 100: with the prompt's 3 tokens that is past the context of 64 tokens (at most 61)"},
    {"{\"prompt\": \"x\", \"temperature\": \"hot\"}", "field \"temperature\": expected a number, got a string"},
    {"{\"prompt\": \"x\", \"temperature\": -1}", "temperature -1: must be a finite number >= 0"},
    {"{\"prompt\": \"x\", \"top_p\": 1.5}", "top_p 1.5: must be in (0, 1]"},
    {"{\"prompt\": \"x\", \"top_k\": 1.5}", "field \"top_k\": expected an integer, got a number with a fraction"},
    {"{\"prompt\": \"x\", \"top_k\": -2}", "field \"top_k\": -2 is out of range [-1, 2147483647]"},
    {"{\"prompt\": \"x\", \"min_p\": 2}", "min_p 2: must be in [0, 1]"},
    {"{\"prompt\": \"x\", \"repetition_penalty\": 0}", "repetition_penalty 0: must be a finite number > 0"},
    {"{\"prompt\": \"x\", \"presence_penalty\": 3}", "presence_penalty 3: must be in [-2, 2]"},
    {"{\"prompt\": \"x\", \"frequency_penalty\": -3}", "frequency_penalty -3: must be in [-2, 2]"},
    {"{\"prompt\": \"x\", \"n\": 0}", "n 0: must be in [1, 16]"},
    {"{\"prompt\": \"x\", \"n\": 17}", "n 17: must be in [1, 16]"},
    {"{\"prompt\": \"x\", \"n\": \"2\"}", "field \"n\": expected an integer, got a string"},
    {"{\"prompt\": \"x\", \"seed\": 1.5}", "field \"seed\": expected an integer, got a number with a fraction"},
    {"{\"prompt\": \"x\", \"seed\": -1}", "field \"seed\": -1 is out of range"},
    {"{\"prompt\": \"x\", \"logprobs\": 21}", "logprobs 21: must be in [0, 20]"},
    {"{\"prompt\": \"x\", \"logprobs\": \"all\"}", "field \"logprobs\": expected an integer, got a string"},
    {"{\"prompt\": \"x\", \"stop\": 5}", "field \"stop\": expected a string or an array of strings"},
    {"{\"prompt\": \"x\", \"stop\": [\"a\", 1]}", "field \"stop\": element 1 is an integer, expected a string"},
    {"{\"prompt\": \"x\", \"stop\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
     "field \"stop\": 17 strings, at most 16"},
    {"{\"prompt\": \"x\", \"stop\": \"\"}", "stop '': a stop string must not be empty"},
    {"{\"prompt\": \"x\", \"stop\": \"a\\u0000b\"}", "\\u0000 is not allowed"},
    {"{\"prompt\": \"x\", \"stop_token_ids\": \"2\"}", "field \"stop_token_ids\": expected an array of integers"},
    {"{\"prompt\": \"x\", \"stop_token_ids\": [99999]}", "stop_token_ids: 99999 is not a token id in [0, 2048)"},
    {"{\"prompt\": \"x\", \"stop_token_ids\": [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}",
     "field \"stop_token_ids\": 17 ids, at most 16"},
    {"{\"prompt\": \"x\", \"ignore_eos\": \"yes\"}", "field \"ignore_eos\": expected a boolean, got a string"},
    {"{\"prompt\": \"once upon a time there was a little girl who loved to play in the park with "
     "her friends every single day of the week and she was very happy because the sun was warm and "
     "the grass was green and the birds sang songs for her and her mom and dad and her little dog "
     "who ran and jumped and barked at the ducks in the pond until the sun went down and it was "
     "time to go home for dinner and a warm bath and a story before bed\"}",
     "leave no room to generate in the context of 64 tokens"},
};
enum { N_BAD = sizeof BAD_LINES / sizeof BAD_LINES[0] };

static void test_bad_lines(void **state) {
    (void)state;
    char *text = calloc(1, 65536);
    strcat(text, GOOD_LINES[0]);
    strcat(text, "\n");
    for (int i = 0; i < N_BAD; i++) {
        strcat(text, BAD_LINES[i].line);
        strcat(text, "\n");
    }
    strcat(text, GOOD_LINES[1]); /* no final newline */
    write_input(text);
    free(text);
    Run r;
    run(&r, "generate", "--input", in_path, "--output", out_path, NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    assert_int_equal(r.n_results, N_BAD + 2);
    for (int i = 0; i < N_BAD; i++) {
        const json_t *res = r.results[i + 1];
        const char *msg = json_string_value(json_object_get(res, "error"));
        char want[32];
        snprintf(want, sizeof want, "line %d: ", i + 2);
        if (msg == NULL || strncmp(msg, want, strlen(want)) != 0 || strstr(msg, BAD_LINES[i].error) == NULL)
            fail_msg("line %d: got '%s', want '%s...%s'", i + 2, msg ? msg : "(no error)", want,
                     BAD_LINES[i].error);
        assert_int_equal(json_integer_value(json_object_get(res, "line")), i + 2);
    }
    json_t *spec = json_loads(GOOD_LINES[1], 0, NULL);
    expect_reference(r.results[N_BAD + 1], spec);
    json_decref(spec);
    char summary[64];
    snprintf(summary, sizeof summary, "batch: %d requests (%d refused)", N_BAD + 2, N_BAD);
    expect_in(r.log, summary);
    run_free(&r);
    /* an error result keeps the line's id; an empty prompt without BOS has no tokens */
    write_input("{\"prompt\": \"\", \"id\": 42}\n");
    run(&r, "generate", "--input", in_path, "--output", out_path, "--no-bos", NULL);
    assert_int_equal(r.code, 0);
    assert_int_equal(json_integer_value(json_object_get(r.results[0], "id")), 42);
    expect_in(json_string_value(json_object_get(r.results[0], "error")), "line 1: prompt: no tokens");
    run_free(&r);
}

/* Flags are the lines' defaults; logprobs and stop strings in results. */
static void test_defaults_and_fields(void **state) {
    (void)state;
    write_input("{\"prompt\": \"Once upon a time\"}\n"
                "{\"prompt\": \"Once upon a time\", \"logprobs\": 2, \"stop_token_ids\": [7]}\n");
    Run r;
    run(&r, "generate", "--input", in_path, "--output", out_path, "-n", "7", "--temperature", "0",
        "--ignore-eos", NULL);
    assert_int_equal(r.code, 0);
    const json_t *c0 = json_array_get(json_object_get(r.results[0], "choices"), 0);
    const json_t *c1 = json_array_get(json_object_get(r.results[1], "choices"), 0);
    assert_int_equal(json_integer_value(json_object_get(c0, "completion_tokens")), 7);
    assert_string_equal(json_string_value(json_object_get(c0, "finish_reason")), "length");
    const json_t *lp = json_object_get(c1, "logprobs");
    const json_t *ids = json_object_get(c1, "token_ids");
    assert_int_equal(json_array_size(lp), json_array_size(ids));
    for (size_t i = 0; i < json_array_size(lp); i++) {
        const json_t *e = json_array_get(lp, i);
        assert_int_equal(json_integer_value(json_object_get(e, "id")), json_integer_value(json_array_get(ids, i)));
        assert_int_equal(json_array_size(json_object_get(e, "top_logprobs")), 2);
        assert_true(json_real_value(json_object_get(e, "logprob")) <= 0.0);
    }
    assert_null(json_object_get(c0, "logprobs"));
    /* the greedy text of line 1, cut by a stop string taken from its middle */
    const char *text = json_string_value(json_object_get(c0, "text"));
    size_t len = strlen(text);
    char stop[8] = "";
    for (size_t at = len / 3; at + 4 < len && stop[0] == '\0'; at++)
        if (text[at] >= 'a' && text[at] <= 'z' && text[at + 3] >= 'a' && text[at + 3] <= 'z') {
            memcpy(stop, text + at, 4);
            stop[4] = '\0';
        }
    assert_true(stop[0] != '\0');
    size_t cut = (size_t)(strstr(text, stop) - text);
    char *want = strndup(text, cut);
    run_free(&r);
    char line[256];
    snprintf(line, sizeof line, "{\"prompt\": \"Once upon a time\", \"stop\": [\"zzzz\", \"%s\"]}\n", stop);
    write_input(line);
    run(&r, "generate", "--input", in_path, "--output", out_path, "-n", "7", "--temperature", "0",
        "--ignore-eos", NULL);
    assert_int_equal(r.code, 0);
    c0 = json_array_get(json_object_get(r.results[0], "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(c0, "text")), want);
    assert_string_equal(json_string_value(json_object_get(c0, "stop_reason")), "stop_string");
    assert_string_equal(json_string_value(json_object_get(c0, "stop")), stop);
    assert_string_equal(json_string_value(json_object_get(c0, "finish_reason")), "stop");
    free(want);
    run_free(&r);
}

static void test_flag_errors(void **state) {
    (void)state;
    write_good();
    Run r;
    run(&r, "generate", "--input", "/nonexistent/in.jsonl", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--input /nonexistent/in.jsonl: cannot open");
    run(&r, "generate", "--input", in_path, "--output", "/nonexistent/out.jsonl", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--output /nonexistent/out.jsonl: cannot open for writing");
    run(&r, "generate", "--input", "/tmp", NULL); /* a directory: fopen works, fread does not */
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--input /tmp: read error");
    run(&r, "generate", "--input", in_path, "--output", "/dev/full", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--output /dev/full: write failed");
    run(&r, "generate", "--input", in_path, "-p", "hi", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "give one of -p, --ids and --input");
    run(&r, "generate", "-p", "hi", "--output", out_path, NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "goes with --input");
    run(&r, "generate", "-p", "hi", "--max-seqs", "2", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--max-seqs and --max-batch-tokens go with --input");
    run(&r, "generate", "--input", in_path, "--print-ids", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "are for a single prompt");
    run(&r, "generate", "--input", in_path, "-n", "0", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "-n 0: batch requests need at least one token");
    run(&r, "generate", "--input", in_path, "--max-seqs", "0", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--max-seqs: 0 is out of range");
    run(&r, "generate", "--input", in_path, "--max-batch-tokens", "17", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--max-batch-tokens 17: must be in [1, 16]");
    run(&r, "generate", "--input", in_path, "--stop-id", "5000", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--stop-id 5000: not a token id in [0, 2048)");
    run(&r, "generate", "--input", in_path, "--temperature", "-1", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--temperature -1");
}

/* ---- bench ------------------------------------------------------------------ */

static void test_bench_serving(void **state) {
    (void)state;
    Run r;
    memset(&sim, 0, sizeof sim);
    run(&r, "bench", "--concurrency", "3", "--requests", "7", "--input-len", "5", "--output-len", "4",
        "--json", json_path, NULL);
    if (r.code != 0) fail_msg("%s", r.log);
    assert_int_equal(sim.logit_rows, 7 * 4 + 4); /* the requests and the warm-up, EOS ignored */
    assert_int_equal(sim.kv_errors, 0);
    json_error_t je;
    json_t *j = json_load_file(json_path, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "requests")), 7);
    assert_int_equal(json_integer_value(json_object_get(j, "concurrency")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "max_seqs")), 3);
    static const char *keys[] = {"ttft_ms", "itl_ms", "e2e_ms"};
    for (int i = 0; i < 3; i++) {
        const json_t *s = json_object_get(j, keys[i]);
        double p50 = json_real_value(json_object_get(s, "p50")), p99 = json_real_value(json_object_get(s, "p99"));
        assert_true(p50 >= 0.0 && p99 >= p50);
        assert_non_null(json_object_get(s, "mean"));
        assert_non_null(json_object_get(s, "p90"));
    }
    const json_t *kv = json_object_get(j, "kv");
    int peak = (int)json_integer_value(json_object_get(kv, "peak_used_blocks"));
    assert_true(peak >= 6 && peak <= (int)json_integer_value(json_object_get(kv, "blocks")));
    assert_true(json_real_value(json_object_get(kv, "peak_live_pct")) > 50.0);
    assert_true(json_real_value(json_object_get(j, "output_tokens_per_s")) > 0.0);
    /* step time: every fed token (7 prompts of 5, 3 more tokens each) in
     * one of the two kinds of step, every prompt token in a mixed one */
    const json_t *t = json_object_get(j, "step_time");
    long long dsteps = json_integer_value(json_object_get(t, "decode_steps"));
    long long msteps = json_integer_value(json_object_get(t, "mixed_steps"));
    long long dtok = json_integer_value(json_object_get(t, "decode_tokens"));
    long long mtok = json_integer_value(json_object_get(t, "mixed_tokens"));
    assert_int_equal(dsteps + msteps, json_integer_value(json_object_get(j, "steps")));
    assert_int_equal(dtok + mtok, 7 * (5 + 3));
    assert_true(mtok >= 7 * 5 && msteps >= 3 && dsteps >= 3 && dtok <= 3 * dsteps);
    double de = json_real_value(json_object_get(t, "decode_engine_s"));
    double me = json_real_value(json_object_get(t, "mixed_engine_s"));
    assert_true(de >= 0.0 && me >= 0.0 && de + me <= json_real_value(json_object_get(t, "run_s")));
    json_decref(j);
    (void)r;
}

static void test_bench_errors(void **state) {
    (void)state;
    Run r;
    run(&r, "bench", "--concurrency", "2", "--prompt-len", "8", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "are for the batch-1 bench");
    run(&r, "bench", "--max-seqs", "2", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "go with the serving load");
    run(&r, "bench", "--input-len", "40", "--output-len", "40", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--input-len 40 + --output-len 40 exceed the context of 64 tokens");
    run(&r, "bench", "--requests", "0", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--requests: 0 is out of range");
    run(&r, "bench", "--concurrency", "0", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--concurrency: 0 is out of range");
    run(&r, "bench", "--input-len", "0", NULL);
    assert_int_equal(r.code, 2);
    expect_in(r.log, "--input-len: 0 is out of range");
    run(&r, "bench", "--concurrency", "2", "--json", "/nonexistent/b.json", "--output-len", "2", NULL);
    assert_int_equal(r.code, 1);
    expect_in(r.log, "--json /nonexistent/b.json: cannot write");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_matches_reference),
        cmocka_unit_test(test_alone_equals_batch),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_defaults_and_fields),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_bench_serving),
        cmocka_unit_test(test_bench_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
