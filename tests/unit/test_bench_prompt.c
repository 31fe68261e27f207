/* test_bench_prompt.c - synthetic prompts of an exact token count
 * (runtime/http/bench_prompt.h) with a SentencePiece-style tokenizer
 * (TinyStories, BOS added) and a byte-level one (SmolLM2): every length
 * from 1 to 300 re-encodes to exactly that many tokens, prompts differ
 * between requests and repeat with the seed; a vocabulary without word
 * tokens is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/bench_prompt.h"

#define FIX LLMCC_FIXTURES

static Tokenizer *load(json_t *root) {
    assert_non_null(root);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    Tokenizer *t = NULL;
    LlmError err = {{0}};
    if (tok_load_json(text, strlen(text), &t, &err) != LLM_OK) fail_msg("%s", err.msg);
    free(text);
    return t;
}

static Tokenizer *load_tiny(void) {
    return load(json_pack("{s:s,s:o,s:o}", "format", "hf", "tokenizer",
                          json_load_file(FIX "/models/tinystories-656k/tokenizer.json", 0, NULL),
                          "config",
                          json_load_file(FIX "/models/tinystories-656k/tokenizer_config.json",
                                         JSON_DECODE_INT_AS_REAL, NULL)));
}

static Tokenizer *load_smol(void) {
    json_error_t je;
    json_t *j = json_load_file(FIX "/tok/smollm2-tokenizer.json", 0, &je);
    if (j == NULL) fail_msg("%s", je.text);
    return load(j);
}

static int count(const Tokenizer *t, const char *text, int bos) {
    int32_t *ids = NULL;
    int n = 0;
    LlmError err = {{0}};
    if (tok_encode(t, text, strlen(text), bos ? TOK_ADD_BOS : 0, &ids, &n, &err) != LLM_OK)
        fail_msg("%s", err.msg);
    free(ids);
    return n;
}

static void check_exact(Tokenizer *t, int min_len) {
    BenchPrompter p;
    LlmError err = {{0}};
    if (bench_prompter_init(&p, t, &err) != LLM_OK) fail_msg("%s", err.msg);
    for (int len = min_len; len <= 300; len++) {
        char *a = NULL, *b = NULL, *c = NULL;
        int na = 0, nb = 0, nc = 0;
        assert_int_equal(bench_prompt_make(&p, 5, len, len, &a, &na, &err), LLM_OK);
        assert_int_equal(bench_prompt_make(&p, 5, len, len, &b, &nb, &err), LLM_OK);
        assert_int_equal(bench_prompt_make(&p, 5, len + 1000, len, &c, &nc, &err), LLM_OK);
        if (na != len || count(t, a, p.add_bos) != len)
            fail_msg("length %d: %d tokens (%d re-encoded): '%s'", len, na, count(t, a, p.add_bos), a);
        assert_string_equal(a, b);                  /* same seed and request */
        if (len >= 4) assert_string_not_equal(a, c); /* another request */
        free(a);
        free(b);
        free(c);
    }
    bench_prompter_free(&p);
    tok_free(t);
}

static void test_spm_exact(void **state) {
    (void)state;
    check_exact(load_tiny(), 2); /* BOS + at least one word */
}

static void test_byte_level_exact(void **state) {
    (void)state;
    check_exact(load_smol(), 1);
}

static void test_no_words(void **state) {
    (void)state;
    Tokenizer *t = load(json_pack(
        "{s:s,s:{s:{s:s,s:{s:i,s:i,s:i},s:[]}}}", "format", "hf", "tokenizer", "model", "type",
        "BPE", "vocab", "A", 0, "B", 1, "AB", 2, "merges"));
    BenchPrompter p;
    LlmError err = {{0}};
    assert_int_equal(bench_prompter_init(&p, t, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "has no whole-word tokens"));
    tok_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm_exact), cmocka_unit_test(test_byte_level_exact),
        cmocka_unit_test(test_no_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
