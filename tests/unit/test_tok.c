/* test_tok.c - tokenizer tests against ids recorded from Hugging Face and
 * llama.cpp (tests/fixtures/tok/, made by make_tok_reference.py):
 * tinystories (HF tokenizer.json, SentencePiece-style BPE), SmolLM2 (GGUF
 * byte-level BPE), llama.cpp's six vocab-only GGUF files and their vectors
 * (tests/fixtures/tok/vocab/, read through model_load_tokenizer), streaming
 * decode, round trips, bad input and invalid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "load/model_load.h"
#include "tok/tok.h"

#define FIX LLMCC_FIXTURES

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static Tokenizer *load_text(const char *text, size_t len) {
    Tokenizer *t = NULL;
    LlmError err = {{0}};
    if (tok_load_json(text, len, &t, &err) != LLM_OK) fail_msg("load: %s", err.msg);
    return t;
}

static Tokenizer *load_hf_dir(const char *dir) {
    char p1[512], p2[512];
    snprintf(p1, sizeof p1, "%s/tokenizer.json", dir);
    snprintf(p2, sizeof p2, "%s/tokenizer_config.json", dir);
    json_t *root = json_pack("{s:s, s:o, s:o}", "format", "hf", "tokenizer",
                             json_load_file(p1, 0, NULL), "config",
                             /* model_max_length overflows a json integer */
                             json_load_file(p2, JSON_DECODE_INT_AS_REAL, NULL));
    assert_non_null(root);
    char *text = json_dumps(root, JSON_COMPACT);
    Tokenizer *t = load_text(text, strlen(text));
    free(text);
    json_decref(root);
    return t;
}

static Tokenizer *load_fixture(const char *name) {
    char path[512];
    size_t len;
    snprintf(path, sizeof path, "%s/tok/%s", FIX, name);
    char *text = read_all(path, &len);
    Tokenizer *t = load_text(text, len);
    free(text);
    return t;
}

/* A vocab-only GGUF of tests/fixtures/tok/vocab/, through the loader. */
static Tokenizer *load_vocab(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/tok/vocab/ggml-vocab-%s.gguf", FIX, name);
    json_t *desc = NULL;
    LlmError err = {{0}};
    if (model_load_tokenizer(path, &desc, &err) != LLM_OK) fail_msg("load: %s", err.msg);
    char *text = json_dumps(desc, JSON_COMPACT);
    Tokenizer *t = load_text(text, strlen(text));
    free(text);
    json_decref(desc);
    return t;
}

static Tokenizer *load_tiny(void) { return load_hf_dir(FIX "/models/tinystories-656k"); }

/* Decodes ids through the streaming decoder; returns malloc'd text. */
static char *decode_all(const Tokenizer *t, const int32_t *ids, int n) {
    TokDecoder *d = tok_decoder_new(t);
    size_t cap = 1024 + (size_t)n * TOK_DECODE_MAX, len = 0;
    char *s = malloc(cap), out[TOK_DECODE_MAX];
    for (int i = 0; i < n; i++) {
        size_t k = tok_decoder_push(d, ids[i], out);
        memcpy(s + len, out, k), len += k;
    }
    size_t k;
    while ((k = tok_decoder_flush(d, out)) > 0) memcpy(s + len, out, k), len += k;
    s[len] = 0;
    tok_decoder_free(d);
    return s;
}

static int ids_equal(json_t *want, const int32_t *ids, int n) {
    if (json_array_size(want) != (size_t)n) return 0;
    for (int i = 0; i < n; i++)
        if (json_integer_value(json_array_get(want, (size_t)i)) != ids[i]) return 0;
    return 1;
}

static void print_ids(const char *label, const int32_t *ids, int n) {
    fprintf(stderr, "  %s:", label);
    for (int i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Checks encode and streaming decode of every reference string. */
static void check_reference(Tokenizer *t, const char *key, int add_bos, int skip) {
    json_t *ref = json_load_file(FIX "/tok/tok_reference.json", 0, NULL);
    assert_non_null(ref);
    json_t *strs = json_object_get(ref, "strings"), *want = json_object_get(ref, key);
    char dkey[64];
    snprintf(dkey, sizeof dkey, "%s_decode", key);
    json_t *dec = json_object_get(ref, dkey);
    int bad = 0;
    for (size_t i = 0; i < json_array_size(strs); i++) {
        json_t *s = json_array_get(strs, i);
        int32_t *ids;
        int n;
        LlmError err;
        assert_int_equal(tok_encode(t, json_string_value(s), json_string_length(s), add_bos,
                                    &ids, &n, &err), LLM_OK);
        json_t *w = json_array_get(want, i);
        if (!ids_equal(w, ids, n)) {
            fprintf(stderr, "%s: encode mismatch for \"%s\"\n", key, json_string_value(s));
            print_ids("got ", ids, n);
            bad++;
        }
        char *text = decode_all(t, ids + skip, n - skip);
        if (strcmp(text, json_string_value(json_array_get(dec, i))) != 0) {
            fprintf(stderr, "%s: decode mismatch: got \"%s\" want \"%s\"\n", key, text,
                    json_string_value(json_array_get(dec, i)));
            bad++;
        }
        free(text);
        free(ids);
    }
    json_decref(ref);
    assert_int_equal(bad, 0);
}

static void test_tinystories_reference(void **state) {
    (void)state;
    Tokenizer *t = load_tiny();
    assert_string_equal(tok_kind_name(t), "spm-bpe");
    assert_int_equal(tok_vocab_size(t), 2048);
    assert_int_equal(tok_bos_id(t), 1);
    assert_int_equal(tok_eos_id(t), 2);
    assert_int_equal(tok_add_bos_default(t), 1);
    check_reference(t, "tinystories", 1, 1);
    tok_free(t);
}

static void test_smollm2_reference(void **state) {
    (void)state;
    Tokenizer *t = load_fixture("smollm2-tokenizer.json");
    assert_string_equal(tok_kind_name(t), "byte-bpe");
    assert_int_equal(tok_vocab_size(t), 49152);
    assert_int_equal(tok_add_bos_default(t), 0);
    check_reference(t, "smollm2", 0, 0);
    tok_free(t);
}

/* Runs llama.cpp's vectors (.inp/.out); returns passes, *total set. */
static int run_vectors(Tokenizer *t, const char *name, int *total) {
    char path[512];
    size_t ilen, olen;
    snprintf(path, sizeof path, "%s/tok/vocab/ggml-vocab-%s.gguf.inp", FIX, name);
    char *inp = read_all(path, &ilen);
    snprintf(path, sizeof path, "%s/tok/vocab/ggml-vocab-%s.gguf.out", FIX, name);
    char *out = read_all(path, &olen);
    const char *sep = "\n__ggml_vocab_test__\n";
    char *s = inp, *line = out;
    int pass = 0;
    *total = 0;
    for (char *e; (e = strstr(s, sep)) != NULL; s = e + strlen(sep)) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        int32_t *ids;
        int n;
        LlmError err;
        tok_encode(t, s, (size_t)(e - s), 0, &ids, &n, &err);
        char got[8192] = "";
        size_t g = 0;
        for (int i = 0; i < n && g + 16 < sizeof got; i++)
            g += (size_t)snprintf(got + g, sizeof got - g, "%s%d", i ? " " : "", ids[i]);
        const char *want = line;
        while (*want == ' ') want++;
        if (strcmp(got, want) == 0) pass++;
        else fprintf(stderr, "%s: \"%.*s\"\n  got  %s\n  want %s\n", name, (int)(e - s), s, got, want);
        free(ids);
        line = nl + 1;
        (*total)++;
    }
    free(inp);
    free(out);
    fprintf(stderr, "%s: %d/%d vectors pass\n", name, pass, *total);
    return pass;
}

static void check_vectors(const char *name) {
    Tokenizer *t = load_vocab(name);
    int total, pass = run_vectors(t, name, &total);
    assert_int_equal(total, 46);
    assert_int_equal(pass, total);
    tok_free(t);
}

static void test_vectors_gpt2(void **state) { (void)state; check_vectors("gpt-2"); }
static void test_vectors_llama_spm(void **state) { (void)state; check_vectors("llama-spm"); }
static void test_vectors_phi3(void **state) { (void)state; check_vectors("phi-3"); }
static void test_vectors_deepseek_llm(void **state) { (void)state; check_vectors("deepseek-llm"); }
static void test_vectors_falcon(void **state) { (void)state; check_vectors("falcon"); }
static void test_vectors_starcoder(void **state) { (void)state; check_vectors("starcoder"); }

/* Emoji split over <0xNN> byte-fallback tokens: nothing is emitted until
 * the 4th byte completes the char; outputs are always whole chars. */
static void test_stream_byte_fallback(void **state) {
    (void)state;
    Tokenizer *t = load_vocab("llama-spm");
    const char *text = "a\xF0\x9F\xA6\x99" "b \xE4\xBD\xA0";
    int32_t *ids;
    int n;
    LlmError err;
    assert_int_equal(tok_encode(t, text, strlen(text), 0, &ids, &n, &err), LLM_OK);
    TokDecoder *d = tok_decoder_new(t);
    char out[TOK_DECODE_MAX], all[256] = "";
    int saw_empty = 0;
    for (int i = 0; i < n; i++) {
        size_t k = tok_decoder_push(d, ids[i], out);
        saw_empty |= k == 0;
        for (size_t j = 0; j < k; j++) /* never a dangling lead byte at the end */
            if (j + 1 == k) assert_true(((uint8_t)out[j] & 0xC0) != 0xC0);
        strcat(all, out);
    }
    assert_int_equal(tok_decoder_flush(d, out), 0);
    assert_true(saw_empty);
    assert_string_equal(all, text);
    tok_decoder_free(d);
    free(ids);
    /* a lone lead byte: held, then U+FFFD at flush */
    d = tok_decoder_new(t);
    assert_int_equal(tok_decoder_push(d, 3 + 0xF0, out), 0);
    assert_int_equal(tok_decoder_flush(d, out), 3);
    assert_string_equal(out, "\xEF\xBF\xBD");
    tok_decoder_free(d);
    tok_free(t);
}

/* Byte-level: token bytes concatenate back to the exact input, invalid
 * UTF-8 included (bytes 0xF5-0xFF, which no UTF-8 text holds, have no
 * symbol in the SmolLM2 vocab and are dropped, so they are not used). */
static void test_byte_level_round_trip(void **state) {
    (void)state;
    Tokenizer *t = load_fixture("smollm2-tokenizer.json");
    const char *texts[] = {"Hello  world\n\n  x", "caf\xC3\xA9 \xF0\x9F\x98\x80 \xE4\xBD\xA0",
                           "bad \x80\xBF utf8 \xC3 end \xE2\x82", "<|im_start|>user\n1234<|im_end|>"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        int32_t *ids;
        int n;
        LlmError err;
        assert_int_equal(tok_encode(t, texts[k], strlen(texts[k]), 0, &ids, &n, &err), LLM_OK);
        char buf[512];
        size_t len = 0;
        for (int i = 0; i < n; i++) {
            int b = tok_token_bytes(t, ids[i], buf + len, sizeof buf - len);
            assert_true(b >= 0);
            len += (size_t)b;
        }
        assert_int_equal(len, strlen(texts[k]));
        assert_memory_equal(buf, texts[k], len);
        if (k != 2) {
            char *dec = decode_all(t, ids, n);
            assert_string_equal(dec, texts[k]);
            free(dec);
        }
        free(ids);
    }
    char one[8];
    assert_int_equal(tok_token_bytes(t, 49152, one, sizeof one), -1);
    assert_int_equal(tok_token_bytes(t, -1, one, sizeof one), -1);
    tok_free(t);
}

/* Byte sequences that look like UTF-8 but are not well-formed (surrogates,
 * overlongs, past U+10FFFF) decode to one U+FFFD per byte, as Python's and
 * Rust's lossy decoders do (found by tests/fuzz/fuzz_tok_encode). */
static void test_decode_ill_formed(void **state) {
    (void)state;
    Tokenizer *t = load_vocab("gpt-2");
    const char *in[] = {"\xED\xA0\x80", "\xE0\x80", "\xF4\x90\x80\x80", "\xF0\x8F\xBF"};
    const int n_fffd[] = {3, 2, 4, 3};
    for (int k = 0; k < 4; k++) {
        int32_t *ids;
        int n;
        LlmError err;
        assert_int_equal(tok_encode(t, in[k], strlen(in[k]), 0, &ids, &n, &err), LLM_OK);
        char *dec = decode_all(t, ids, n);
        char want[16] = "";
        for (int i = 0; i < n_fffd[k]; i++) strcat(want, "\xEF\xBF\xBD");
        assert_string_equal(dec, want);
        free(dec);
        free(ids);
    }
    tok_free(t);
}

/* Random bytes through every tokenizer: no crash, ids in range. */
static void test_invalid_utf8_never_crashes(void **state) {
    (void)state;
    Tokenizer *ts[3] = {load_tiny(), load_fixture("smollm2-tokenizer.json"),
                        load_vocab("llama-spm")};
    uint32_t seed = 12345;
    char buf[300];
    for (int round = 0; round < 200; round++) {
        size_t len = (size_t)(round % 37) * 8;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
        }
        for (int k = 0; k < 3; k++) {
            int32_t *ids;
            int n;
            LlmError err;
            assert_int_equal(tok_encode(ts[k], buf, len, 1, &ids, &n, &err), LLM_OK);
            for (int i = 0; i < n; i++) assert_true(ids[i] >= 0 && ids[i] < tok_vocab_size(ts[k]));
            free(decode_all(ts[k], ids, n));
            free(ids);
        }
    }
    for (int k = 0; k < 3; k++) tok_free(ts[k]);
}

static void expect_load_error(const char *json, const char *want1, const char *want2) {
    Tokenizer *t = (Tokenizer *)1;
    LlmError err = {{0}};
    assert_int_equal(tok_load_json(json, strlen(json), &t, &err), LLM_ERR);
    assert_null(t);
    if (!strstr(err.msg, want1) || !strstr(err.msg, want2))
        fail_msg("message \"%s\" lacks \"%s\" / \"%s\"", err.msg, want1, want2);
}


/* The TinyStories tokenizer with its normalizer sequence extended by one
 * Unicode form: NFKC folds the ligature U+FB01 to "fi" and full-width
 * "\uFF21" to "A"; NFC leaves them. */
static Tokenizer *load_tiny_with_form(const char *form) {
    json_t *tj = json_load_file(FIX "/models/tinystories-656k/tokenizer.json", 0, NULL);
    assert_non_null(tj);
    json_t *seq = json_object_get(json_object_get(tj, "normalizer"), "normalizers");
    json_array_insert_new(seq, 0, json_pack("{s:s}", "type", form));
    json_t *root = json_pack("{s:s, s:o, s:{}}", "format", "hf", "tokenizer", tj, "config");
    char *text = json_dumps(root, JSON_COMPACT);
    Tokenizer *t = load_text(text, strlen(text));
    free(text);
    json_decref(root);
    return t;
}

static int same_encoding(const Tokenizer *t, const char *a, const char *b) {
    int32_t *x, *y;
    int nx, ny;
    LlmError err;
    assert_int_equal(tok_encode(t, a, strlen(a), 0, &x, &nx, &err), LLM_OK);
    assert_int_equal(tok_encode(t, b, strlen(b), 0, &y, &ny, &err), LLM_OK);
    int same = nx == ny && memcmp(x, y, sizeof *x * (size_t)nx) == 0;
    free(x);
    free(y);
    return same;
}

static void test_unicode_normalizers(void **state) {
    (void)state;
    Tokenizer *nfkc = load_tiny_with_form("NFKC"), *nfc = load_tiny_with_form("NFC");
    Tokenizer *nfd = load_tiny_with_form("NFD");
    assert_true(same_encoding(nfkc, "\xEF\xAC\x81sh \xEF\xBC\xA1", "fish A"));
    assert_false(same_encoding(nfc, "\xEF\xAC\x81sh", "fish"));
    assert_true(same_encoding(nfc, "cafe\xCC\x81", "caf\xC3\xA9")); /* composed */
    assert_true(same_encoding(nfd, "caf\xC3\xA9", "cafe\xCC\x81")); /* decomposed */
    tok_free(nfkc);
    tok_free(nfc);
    tok_free(nfd);
}

/* add_eos_token from tokenizer_config.json: EOS appended when asked. */
static void test_add_eos(void **state) {
    (void)state;
    json_t *root = json_pack("{s:s, s:o, s:{s:b, s:b, s:s, s:s}}", "format", "hf", "tokenizer",
                             json_load_file(FIX "/models/tinystories-656k/tokenizer.json", 0, NULL),
                             "config", "add_bos_token", 1, "add_eos_token", 1, "bos_token",
                             "<|start_story|>", "eos_token", "<|end_story|>");
    char *text = json_dumps(root, JSON_COMPACT);
    Tokenizer *t = load_text(text, strlen(text));
    free(text);
    json_decref(root);
    assert_int_equal(tok_add_eos_default(t), 1);
    int32_t *ids;
    int n;
    LlmError err;
    assert_int_equal(tok_encode(t, "Hi", 2, TOK_ADD_BOS | TOK_ADD_EOS, &ids, &n, &err), LLM_OK);
    assert_true(n >= 3);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[n - 1], 2);
    free(ids);
    assert_int_equal(tok_encode(t, "Hi", 2, TOK_ADD_BOS, &ids, &n, &err), LLM_OK);
    assert_int_not_equal(ids[n - 1], 2);
    free(ids);
    tok_free(t);
}

static void test_bad_input(void **state) {
    (void)state;
    expect_load_error("{\"format\":\"hf\",\"tokenizer\":{\"model\":{\"type\":\"BPE\","
                      "\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\",\"a zz\"]}}}",
                      "tokenizer.json", "merges[1] \"a zz\": token \"zz\"");
    expect_load_error("{\"format\":\"hf\",\"tokenizer\":{\"model\":{\"type\":\"BPE\","
                      "\"vocab\":{\"a\":0,\"b\":-5},\"merges\":[]}}}",
                      "tokenizer.json", "model.vocab[\"b\"]: token id -5");
    expect_load_error("{\"format\":\"hf\",\"tokenizer\":{\"model\":{\"type\":\"BPE\",\"merges\":[]}}}",
                      "tokenizer.json", "model.vocab is missing");
    expect_load_error("{\"format\":\"gguf\",\"meta\":{\"tokenizer.ggml.model\":\"gpt2\","
                      "\"tokenizer.ggml.merges\":[]}}",
                      "GGUF metadata", "tokenizer.ggml.tokens is missing");
    expect_load_error("{\"format\":\"gguf\",\"meta\":{\"tokenizer.ggml.model\":\"gpt2\","
                      "\"tokenizer.ggml.tokens\":[\"a\",\"b\"],\"tokenizer.ggml.merges\":[],"
                      "\"tokenizer.ggml.bos_token_id\":7}}",
                      "GGUF metadata", "bos_token_id 7 is out of range");
    expect_load_error("{\"format\":\"gguf\",\"meta\":{\"tokenizer.ggml.model\":\"gpt2\","
                      "\"tokenizer.ggml.tokens\":[\"a\",\"b\"],\"tokenizer.ggml.merges\":[\"a q\"]}}",
                      "GGUF metadata", "merges[0] \"a q\": token \"q\"");
    expect_load_error("{\"format\":\"gguf\",\"meta\":{\"tokenizer.ggml.model\":\"bert\","
                      "\"tokenizer.ggml.tokens\":[\"a\"]}}", "GGUF metadata", "\"bert\"");
    expect_load_error("{\"format\":\"xml\"}", "format", "xml");
    expect_load_error("{not json", "tokenizer description", "JSON");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tinystories_reference),
        cmocka_unit_test(test_smollm2_reference),
        cmocka_unit_test(test_vectors_gpt2),
        cmocka_unit_test(test_vectors_llama_spm),
        cmocka_unit_test(test_vectors_phi3),
        cmocka_unit_test(test_vectors_deepseek_llm),
        cmocka_unit_test(test_vectors_falcon),
        cmocka_unit_test(test_vectors_starcoder),
        cmocka_unit_test(test_stream_byte_fallback),
        cmocka_unit_test(test_byte_level_round_trip),
        cmocka_unit_test(test_invalid_utf8_never_crashes),
        cmocka_unit_test(test_decode_ill_formed),
        cmocka_unit_test(test_unicode_normalizers),
        cmocka_unit_test(test_add_eos),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
