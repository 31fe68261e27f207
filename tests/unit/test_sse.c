/* test_sse.c - the Server-Sent Events parser (runtime/http/sse.h): fields,
 * comments, multi-line data, the three line endings, events without data;
 * the same events whatever way the bytes are cut (every single cut, every
 * pair of cuts, byte by byte); the size limit, a failing callback, and
 * what is pending at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/sse.h"

/* What the callback saw: "event|data" per event, joined by '#'. */
typedef struct Seen {
    char log[4096];
    int n;
    int fail_at; /* event number (1-based) whose callback fails, 0 = none */
} Seen;

static int on_event(void *ctx, const char *event, const char *data, size_t len, LlmError *err) {
    Seen *s = ctx;
    s->n++;
    assert_int_equal(strlen(data), len);
    size_t at = strlen(s->log);
    snprintf(s->log + at, sizeof s->log - at, "%s|%s#", event, data);
    return s->n == s->fail_at ? llm_errorf(err, "callback refused event %d", s->n) : LLM_OK;
}

/* Feeds text cut at the given positions (ascending, within the text). */
static int feed_cut(const char *text, const size_t *cuts, int n_cuts, Seen *s, SseParser *p,
                    LlmError *err) {
    size_t len = strlen(text), prev = 0;
    for (int i = 0; i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        if (sse_feed(p, text + prev, end - prev, on_event, s, err) != LLM_OK) return LLM_ERR;
        prev = end;
    }
    return LLM_OK;
}

static void parse_whole(const char *text, Seen *s) {
    SseParser p;
    LlmError err = {{0}};
    sse_init(&p, 1 << 16);
    memset(s, 0, sizeof *s);
    if (feed_cut(text, NULL, 0, s, &p, &err) != LLM_OK) fail_msg("%s", err.msg);
    sse_free(&p);
}

static const char STREAM[] =
    ": a comment\n"
    "data: {\"a\":1}\n\n"
    "event: usage\r\ndata:x\r\ndata:  two spaces\r\n\r\n"
    "id: 7\rretry: 10\rdata\r\r"
    "data: [DONE]\n\n"
    "event: lonely\n\n"
    "data: é€\n\n";

static const char WANT[] = "|{\"a\":1}#usage|x\n two spaces#|#|[DONE]#|é€#";

static void test_fields_and_endings(void **state) {
    (void)state;
    Seen s;
    parse_whole(STREAM, &s);
    assert_string_equal(s.log, WANT);
    assert_int_equal(s.n, 5);
}

static void test_every_cut(void **state) {
    (void)state;
    size_t len = strlen(STREAM);
    for (size_t a = 0; a <= len; a++) {
        for (size_t b = a; b <= len; b++) {
            SseParser p;
            Seen s = {{0}, 0, 0};
            LlmError err = {{0}};
            sse_init(&p, 1 << 16);
            size_t cuts[2] = {a, b};
            if (feed_cut(STREAM, cuts, 2, &s, &p, &err) != LLM_OK) fail_msg("%s", err.msg);
            if (strcmp(s.log, WANT) != 0) fail_msg("cuts %zu %zu: %s", a, b, s.log);
            assert_false(sse_pending(&p));
            sse_free(&p);
        }
    }
}

static void test_byte_by_byte(void **state) {
    (void)state;
    SseParser p;
    Seen s = {{0}, 0, 0};
    LlmError err = {{0}};
    sse_init(&p, 1 << 16);
    for (size_t i = 0; STREAM[i]; i++)
        assert_int_equal(sse_feed(&p, STREAM + i, 1, on_event, &s, &err), LLM_OK);
    assert_string_equal(s.log, WANT);
    assert_int_equal(p.n_events, 5);
    sse_free(&p);
}

static void test_pending(void **state) {
    (void)state;
    SseParser p;
    Seen s = {{0}, 0, 0};
    LlmError err = {{0}};
    sse_init(&p, 1 << 16);
    assert_false(sse_pending(&p));
    assert_int_equal(sse_feed(&p, "data: x", 7, on_event, &s, &err), LLM_OK);
    assert_true(sse_pending(&p)); /* inside a line */
    assert_int_equal(sse_feed(&p, "\n", 1, on_event, &s, &err), LLM_OK);
    assert_true(sse_pending(&p)); /* a data line, no blank line yet */
    assert_int_equal(s.n, 0);
    assert_int_equal(sse_feed(&p, "\n", 1, on_event, &s, &err), LLM_OK);
    assert_false(sse_pending(&p));
    assert_string_equal(s.log, "|x#");
    sse_free(&p);
}

static void test_too_long(void **state) {
    (void)state;
    SseParser p;
    Seen s = {{0}, 0, 0};
    LlmError err = {{0}};
    sse_init(&p, 16);
    assert_int_equal(sse_feed(&p, "data: 0123456789\n\n", 18, on_event, &s, &err), LLM_OK);
    /* one line past the limit, fed in pieces */
    assert_int_equal(sse_feed(&p, "data: 0123456", 13, on_event, &s, &err), LLM_OK);
    assert_int_equal(sse_feed(&p, "789abcdef", 9, on_event, &s, &err), LLM_ERR);
    assert_string_equal(err.msg, "event 2 is longer than 16 bytes");
    sse_free(&p);
    /* many short data lines past the limit */
    sse_init(&p, 16);
    const char *lines = "data: 01234\ndata: 56789\ndata: abcd\n";
    assert_int_equal(sse_feed(&p, lines, strlen(lines), on_event, &s, &err), LLM_ERR);
    assert_string_equal(err.msg, "event 1 is longer than 16 bytes");
    sse_free(&p);
}

static void test_callback_error_stops(void **state) {
    (void)state;
    SseParser p;
    Seen s = {{0}, 0, 2};
    LlmError err = {{0}};
    sse_init(&p, 1 << 16);
    assert_int_equal(sse_feed(&p, STREAM, strlen(STREAM), on_event, &s, &err), LLM_ERR);
    assert_string_equal(err.msg, "callback refused event 2");
    assert_int_equal(s.n, 2);
    sse_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_and_endings), cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_byte_by_byte),       cmocka_unit_test(test_pending),
        cmocka_unit_test(test_too_long),           cmocka_unit_test(test_callback_error_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
