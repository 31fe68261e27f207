/* test_stop.c - the stop-string matcher (runtime/sample/stop.h): matches
 * inside one piece and spanning pieces, hold-back and release, overlapping
 * and nested stop strings, multi-byte UTF-8, flush and reset, validation;
 * and a randomised check against a direct search on the whole text with
 * random cuts into pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sample/rng.h"
#include "sample/stop.h"

/* What a stream of pieces produced: the text, the status after the last
 * push, and each push's output (for the step-by-step checks). */
typedef struct Fed {
    char text[4096];
    size_t len;
    StopStatus st;
    char step[16][256]; /* output of push i, NUL-terminated */
} Fed;

static void init_stops(StopMatcher *m, const char *const *stops, int n) {
    LlmError err = {{0}};
    if (stop_matcher_init(m, stops, n, &err) != LLM_OK) fail_msg("%s", err.msg);
}

static void append(Fed *f, const char *s, size_t n) {
    assert_true(f->len + n < sizeof f->text);
    memcpy(f->text + f->len, s, n);
    f->len += n;
    f->text[f->len] = '\0';
}

/* Pushes pieces [n] (NUL-terminated), then flushes. */
static void feed(StopMatcher *m, const char *const *pieces, int n, Fed *f) {
    memset(f, 0, sizeof *f);
    stop_matcher_reset(m);
    for (int i = 0; i < n; i++) {
        const char *out = NULL;
        size_t len = 0;
        f->st = stop_matcher_push(m, pieces[i], strlen(pieces[i]), &out, &len);
        if (i < 16 && len < sizeof f->step[i]) memcpy(f->step[i], out, len);
        append(f, out, len);
    }
    const char *out = NULL;
    size_t len = 0;
    stop_matcher_flush(m, &out, &len);
    append(f, out, len);
}

static void test_pass_through(void **state) {
    (void)state;
    StopMatcher m;
    init_stops(&m, NULL, 0);
    const char *p[] = {"Hello", ", ", "world"};
    Fed f;
    feed(&m, p, 3, &f);
    assert_string_equal(f.text, "Hello, world");
    assert_int_equal(f.st, STOP_CONTINUE);
    assert_string_equal(f.step[0], "Hello");
    stop_matcher_free(&m);
}

static void test_match_in_one_piece(void **state) {
    (void)state;
    const char *stops[] = {"wor"};
    StopMatcher m;
    init_stops(&m, stops, 1);
    const char *p[] = {"Hello world", "never seen"};
    Fed f;
    feed(&m, p, 2, &f);
    assert_string_equal(f.text, "Hello ");
    assert_int_equal(f.st, STOP_MATCHED);
    assert_int_equal(m.matched, 0);
    assert_string_equal(f.step[1], ""); /* nothing after a match */
    stop_matcher_free(&m);
}

static void test_match_spanning_pieces(void **state) {
    (void)state;
    const char *stops[] = {"world"};
    StopMatcher m;
    init_stops(&m, stops, 1);
    const char *p[] = {"Hel", "lo w", "or", "ld!"};
    Fed f;
    feed(&m, p, 4, &f);
    assert_string_equal(f.step[0], "Hel");
    assert_string_equal(f.step[1], "lo "); /* "w" held */
    assert_string_equal(f.step[2], "");    /* "wor" held */
    assert_string_equal(f.step[3], "");    /* "world" completes: dropped, "!" too */
    assert_string_equal(f.text, "Hello ");
    assert_int_equal(f.st, STOP_MATCHED);
    stop_matcher_free(&m);
}

static void test_hold_and_release(void **state) {
    (void)state;
    const char *stops[] = {"abc"};
    StopMatcher m;
    init_stops(&m, stops, 1);
    const char *p[] = {"xab", "d", "a"};
    Fed f;
    feed(&m, p, 3, &f);
    assert_string_equal(f.step[0], "x");   /* "ab" could start "abc" */
    assert_string_equal(f.step[1], "abd"); /* ruled out: released */
    assert_string_equal(f.step[2], "");    /* "a" held */
    assert_string_equal(f.text, "xabda");  /* flush releases it */
    assert_int_equal(f.st, STOP_CONTINUE);
    /* a held prefix that turns out to be the match */
    const char *q[] = {"xa", "b", "c"};
    feed(&m, q, 3, &f);
    assert_string_equal(f.text, "x");
    assert_int_equal(f.st, STOP_MATCHED);
    stop_matcher_free(&m);
}

static void test_overlapping_prefixes(void **state) {
    (void)state;
    /* "aab" inside "aaab": the hold must restart at the second 'a' */
    const char *s1[] = {"aab"};
    StopMatcher m;
    init_stops(&m, s1, 1);
    const char *whole[] = {"aaab"};
    const char *bytes[] = {"a", "a", "a", "b"};
    Fed f;
    feed(&m, whole, 1, &f);
    assert_string_equal(f.text, "a");
    feed(&m, bytes, 4, &f);
    assert_string_equal(f.text, "a");
    assert_string_equal(f.step[2], "a"); /* "aaa": the first 'a' cannot start "aab" any more */
    stop_matcher_free(&m);
    /* two stop strings: the one completing first wins ("bc" ends before "abcd") */
    const char *s2[] = {"abcd", "bc"};
    init_stops(&m, s2, 2);
    const char *t1[] = {"xabcd"};
    const char *t2[] = {"xa", "b", "cd"};
    feed(&m, t1, 1, &f);
    assert_string_equal(f.text, "xa");
    assert_int_equal(m.matched, 1);
    feed(&m, t2, 3, &f);
    assert_string_equal(f.text, "xa");
    stop_matcher_free(&m);
    /* two completing at the same byte: the longest wins */
    const char *s3[] = {"bc", "abc"};
    init_stops(&m, s3, 2);
    const char *t3[] = {"xab", "c"};
    feed(&m, t3, 2, &f);
    assert_string_equal(f.text, "x");
    assert_int_equal(m.matched, 1);
    stop_matcher_free(&m);
    /* the held part covers the longest possible start among several */
    const char *s4[] = {"abab", "bx"};
    init_stops(&m, s4, 2);
    const char *t4[] = {"zaba", "bx"};
    feed(&m, t4, 2, &f);
    assert_string_equal(f.step[0], "z"); /* "aba" held */
    assert_string_equal(f.text, "z");    /* "abab" completes before "bx" */
    assert_int_equal(m.matched, 0);
    stop_matcher_free(&m);
}

static void test_utf8(void **state) {
    (void)state;
    /* a multi-byte stop string spanning pieces */
    const char *s1[] = {"日本"};
    StopMatcher m;
    init_stops(&m, s1, 1);
    const char *p[] = {"今日", "は日", "本です"};
    Fed f;
    feed(&m, p, 3, &f);
    assert_string_equal(f.step[0], "今");   /* "日" held, whole */
    assert_string_equal(f.step[1], "日は"); /* the next "日" held */
    assert_string_equal(f.text, "今日は");
    assert_int_equal(f.st, STOP_MATCHED);
    stop_matcher_free(&m);
    /* é = c3 a9, è = c3 a8: a shared lead byte fed alone is held, then
     * released with its continuation; never half a character */
    const char *s2[] = {"é"};
    init_stops(&m, s2, 1);
    const char *q[] = {"a\xc3", "\xa8z", "\xc3", "\xa9"};
    feed(&m, q, 4, &f);
    assert_string_equal(f.step[0], "a");
    assert_string_equal(f.step[1], "èz");
    assert_string_equal(f.text, "aèz");
    assert_int_equal(f.st, STOP_MATCHED);
    stop_matcher_free(&m);
}

static void test_reset_and_after_match(void **state) {
    (void)state;
    const char *stops[] = {"\n\n"};
    StopMatcher m;
    init_stops(&m, stops, 1);
    const char *out = NULL;
    size_t len = 0;
    assert_int_equal(stop_matcher_push(&m, "one\n", 4, &out, &len), STOP_CONTINUE);
    assert_int_equal(len, 3);
    assert_int_equal(stop_matcher_push(&m, "\ntwo", 4, &out, &len), STOP_MATCHED);
    assert_int_equal(len, 0);
    assert_int_equal(stop_matcher_push(&m, "three", 5, &out, &len), STOP_MATCHED);
    assert_int_equal(len, 0);
    stop_matcher_flush(&m, &out, &len);
    assert_int_equal(len, 0);
    stop_matcher_reset(&m);
    assert_int_equal(m.matched, -1);
    assert_int_equal(stop_matcher_push(&m, "four\n", 5, &out, &len), STOP_CONTINUE);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "four", 4);
    stop_matcher_free(&m);
}

/* A piece longer than the buffer grows it; output stays correct. */
static void test_long_pieces(void **state) {
    (void)state;
    const char *stops[] = {"STOP"};
    StopMatcher m;
    init_stops(&m, stops, 1);
    char big[3001];
    memset(big, 'x', 3000);
    big[3000] = '\0';
    memcpy(big + 2998, "ST", 2); /* held across the pushes */
    const char *p[] = {big, "OP"};
    Fed f;
    feed(&m, p, 2, &f);
    assert_int_equal(f.len, 2998);
    assert_int_equal(f.st, STOP_MATCHED);
    stop_matcher_free(&m);
}

static void expect_invalid(const char *const *stops, int n, const char *needle) {
    LlmError err = {{0}};
    StopMatcher m;
    assert_int_equal(stop_matcher_init(&m, stops, n, &err), LLM_ERR);
    if (strstr(err.msg, needle) == NULL) fail_msg("'%s' lacks '%s'", err.msg, needle);
    stop_matcher_free(&m);
}

static void test_validate(void **state) {
    (void)state;
    const char *many[STOP_MAX_STRINGS + 1];
    for (int i = 0; i <= STOP_MAX_STRINGS; i++) many[i] = "x";
    LlmError err = {{0}};
    assert_int_equal(stop_strings_validate(many, STOP_MAX_STRINGS, &err), LLM_OK);
    expect_invalid(many, STOP_MAX_STRINGS + 1, "--stop: 17 stop strings, at most 16");
    const char *empty[] = {"ok", ""};
    expect_invalid(empty, 2, "--stop '': a stop string must not be empty");
    char longest[STOP_MAX_BYTES + 2];
    memset(longest, 'y', STOP_MAX_BYTES + 1);
    longest[STOP_MAX_BYTES] = '\0';
    const char *fits[] = {longest};
    assert_int_equal(stop_strings_validate(fits, 1, &err), LLM_OK);
    longest[STOP_MAX_BYTES] = 'y';
    longest[STOP_MAX_BYTES + 1] = '\0';
    expect_invalid(fits, 1, "bytes, at most 256");
    expect_invalid(fits, 1, "--stop 'yyyy");
    const char *bad[] = {"ab\xff"};
    expect_invalid(bad, 1, "not valid UTF-8");
    const char *half[] = {"\xc3"};
    expect_invalid(half, 1, "not valid UTF-8");
}

/* ---- randomised: pieces vs the whole text ------------------------------- */

static const char *const ALPHABET[] = {"a", "b", "c", "é", "日", " "};

/* The expected output: the text before the first-ending match (longest at
 * that end), found by a direct search. */
static size_t direct_cut(const char *text, size_t len, const char *const *stops, int n, int *matched) {
    *matched = 0;
    for (size_t end = 1; end <= len; end++) {
        size_t best = 0;
        for (int i = 0; i < n; i++) {
            size_t l = strlen(stops[i]);
            if (l <= end && l > best && memcmp(text + end - l, stops[i], l) == 0) best = l;
        }
        if (best > 0) {
            *matched = 1;
            return end - best;
        }
    }
    return len;
}

static int utf8_complete(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xe0 ? 3 : 2;
        if (i + k > n) return 0;
        i += k;
    }
    return 1;
}

static void test_random_cuts(void **state) {
    (void)state;
    LlmRng r;
    rng_seed(&r, 2024);
    for (int trial = 0; trial < 400; trial++) {
        char stops_buf[3][32];
        const char *stops[3];
        int n_stops = 1 + (int)(rng_next_u64(&r) % 3);
        for (int i = 0; i < n_stops; i++) {
            stops_buf[i][0] = '\0';
            int len = 1 + (int)(rng_next_u64(&r) % 4);
            for (int k = 0; k < len; k++) strcat(stops_buf[i], ALPHABET[rng_next_u64(&r) % 4]);
            stops[i] = stops_buf[i];
        }
        char text[512] = "";
        const char *chars[80];
        int n_chars = 10 + (int)(rng_next_u64(&r) % 70);
        for (int k = 0; k < n_chars; k++) {
            chars[k] = ALPHABET[rng_next_u64(&r) % 6];
            strcat(text, chars[k]);
        }
        int matched = 0;
        size_t want = direct_cut(text, strlen(text), stops, n_stops, &matched);
        /* cut the text into pieces of 0..4 characters */
        char pieces[80][32];
        const char *pp[80];
        int n_pieces = 0;
        for (int k = 0; k < n_chars;) {
            int take = (int)(rng_next_u64(&r) % 5);
            pieces[n_pieces][0] = '\0';
            for (int t = 0; t < take && k < n_chars; t++) strcat(pieces[n_pieces], chars[k++]);
            pp[n_pieces] = pieces[n_pieces];
            n_pieces++;
        }
        StopMatcher m;
        init_stops(&m, stops, n_stops);
        Fed f;
        feed(&m, pp, n_pieces, &f);
        if (f.len != want || memcmp(f.text, text, want) != 0)
            fail_msg("trial %d: text '%s', got '%s', want %zu bytes", trial, text, f.text, want);
        assert_int_equal(f.st == STOP_MATCHED, matched);
        for (int i = 0; i < n_pieces && i < 16; i++) assert_true(utf8_complete(f.step[i], strlen(f.step[i])));
        stop_matcher_free(&m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pass_through),
        cmocka_unit_test(test_match_in_one_piece),
        cmocka_unit_test(test_match_spanning_pieces),
        cmocka_unit_test(test_hold_and_release),
        cmocka_unit_test(test_overlapping_prefixes),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_reset_and_after_match),
        cmocka_unit_test(test_long_pieces),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_random_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
