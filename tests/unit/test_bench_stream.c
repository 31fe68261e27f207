/* test_bench_stream.c - one streamed response as `bench --url` reads it
 * (runtime/http/bench_stream.h), with arrival times given by the test:
 * TTFT and inter-token gaps of completions and chat streams, a role-only
 * chat chunk not counted, several tokens in a chunk (continuous usage)
 * split into equal gaps, usage read, events after [DONE] ignored; every
 * malformed-stream error and the messages of OpenAI/vLLM error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/bench_stream.h"

static int feed(BenchStream *s, const char *text, double now, LlmError *err) {
    return bench_stream_feed(s, text, strlen(text), now, err);
}

static void feed_ok(BenchStream *s, const char *text, double now) {
    LlmError err = {{0}};
    if (feed(s, text, now, &err) != LLM_OK) fail_msg("%s", err.msg);
}

#define CMPL(t) "data: {\"choices\":[{\"index\":0,\"text\":\"" t "\",\"finish_reason\":null}]}\n\n"
#define USAGE(p, c) "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":" #p ",\"completion_tokens\":" #c "}}\n\n"

static void test_completions(void **state) {
    (void)state;
    BenchStream s;
    bench_stream_init(&s, BENCH_ENDPOINT_COMPLETIONS, 10.0);
    feed_ok(&s, CMPL("Once"), 10.5);
    feed_ok(&s, CMPL(" upon") CMPL(" a"), 11.0); /* two chunks in one read */
    feed_ok(&s, "data: {\"choices\":[{\"index\":0,\"te", 11.2);
    feed_ok(&s, "xt\":\" time\"}]}\n\n", 12.0); /* the chunk completes at 12.0 */
    feed_ok(&s, "data: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\n", 12.1);
    feed_ok(&s, USAGE(7, 4) "data: [DONE]\n\n" CMPL("late"), 12.2);
    LlmError err = {{0}};
    assert_int_equal(bench_stream_finish(&s, &err), LLM_OK);
    assert_true(s.t_first == 10.5 && s.t_last == 12.0);
    assert_int_equal(s.n_itl, 3);
    assert_true(s.itl[0] == 0.5 && s.itl[1] == 0.0 && s.itl[2] == 1.0);
    assert_int_equal(s.tokens, 4);
    assert_int_equal(s.prompt_tokens, 7);
    assert_int_equal(s.completion_tokens, 4);
    assert_string_equal(s.text, "Once upon a time");
    bench_stream_free(&s);
}

static void test_chat_role_chunk_and_multi_token(void **state) {
    (void)state;
    BenchStream s;
    bench_stream_init(&s, BENCH_ENDPOINT_CHAT, 0.0);
    feed_ok(&s, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n", 1.0);
    /* continuous usage: 1 token, then 3 more in one chunk, then 1 */
    feed_ok(&s, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}\n\n", 2.0);
    feed_ok(&s, "data: {\"choices\":[{\"delta\":{\"content\":\"bcd\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":4}}\n\n", 5.0);
    feed_ok(&s, "data: {\"choices\":[{\"delta\":{\"content\":\"e\"}}],\"usage\":null}\n\n", 5.5);
    feed_ok(&s, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n", 6.0);
    LlmError err = {{0}};
    assert_int_equal(bench_stream_finish(&s, &err), LLM_OK);
    assert_true(s.t_first == 2.0); /* the role chunk is not content */
    assert_int_equal(s.n_itl, 4);
    for (int i = 0; i < 3; i++) assert_true(s.itl[i] == 1.0);
    assert_true(s.itl[3] == 0.5);
    assert_int_equal(s.tokens, 5);
    assert_int_equal(s.completion_tokens, 4); /* the last usage seen */
    assert_string_equal(s.text, "abcde");
    bench_stream_free(&s);
}

static void expect_feed_error(BenchEndpoint ep, const char *stream, const char *msg) {
    BenchStream s;
    LlmError err = {{0}};
    bench_stream_init(&s, ep, 0.0);
    assert_int_equal(feed(&s, stream, 1.0, &err), LLM_ERR);
    if (strcmp(err.msg, msg) != 0) fail_msg("got '%s', want '%s'", err.msg, msg);
    bench_stream_free(&s);
}

static void test_malformed(void **state) {
    (void)state;
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, CMPL("a") "data: {\"choices\": [\n\n",
                      "malformed stream: event 2 is not JSON (']' expected near end of file): {\"choices\": [");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, "data: [1]\n\n",
                      "malformed stream: event 1: not a JSON object");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, "data: {\"choices\":{}}\n\n",
                      "malformed stream: event 1: \"choices\" is not an array");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, "data: {\"choices\":[3]}\n\n",
                      "malformed stream: event 1: choices[0] is not an object");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, "data: {\"choices\":[{\"text\":3}]}\n\n",
                      "malformed stream: event 1: choices[0].text is not a string");
    expect_feed_error(BENCH_ENDPOINT_CHAT, "data: {\"choices\":[{\"text\":\"a\"}]}\n\n",
                      "malformed stream: event 1: choices[0] without \"delta\"");
    expect_feed_error(BENCH_ENDPOINT_CHAT, "data: {\"choices\":[{\"delta\":{\"content\":[]}}]}\n\n",
                      "malformed stream: event 1: choices[0].delta.content is not a string");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, "data: {\"usage\":{\"prompt_tokens\":\"1\"}}\n\n",
                      "malformed stream: event 1: \"usage\" without integer prompt_tokens and "
                      "completion_tokens");
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS,
                      "data: {\"error\":{\"message\":\"out of KV blocks\",\"code\":500}}\n\n",
                      "server error in the stream (event 1): out of KV blocks");
    char big[BENCH_STREAM_MAX_EVENT + 64];
    memset(big, 'x', sizeof big);
    memcpy(big, "data: ", 6);
    big[sizeof big - 1] = '\0';
    expect_feed_error(BENCH_ENDPOINT_COMPLETIONS, big,
                      "malformed stream: event 1 is longer than 1048576 bytes");
}

static void expect_finish_error(const char *stream, const char *msg) {
    BenchStream s;
    LlmError err = {{0}};
    bench_stream_init(&s, BENCH_ENDPOINT_COMPLETIONS, 0.0);
    feed_ok(&s, stream, 1.0);
    assert_int_equal(bench_stream_finish(&s, &err), LLM_ERR);
    if (strcmp(err.msg, msg) != 0) fail_msg("got '%s', want '%s'", err.msg, msg);
    bench_stream_free(&s);
}

static void test_incomplete(void **state) {
    (void)state;
    expect_finish_error(CMPL("a") "data: {\"cho",
                        "malformed stream: it ended inside an event (after 1 events)");
    expect_finish_error(CMPL("a") USAGE(1, 1),
                        "malformed stream: it ended without \"data: [DONE]\" (after 2 events)");
    expect_finish_error("", "malformed stream: it ended without \"data: [DONE]\" (after 0 events)");
    expect_finish_error(CMPL("") USAGE(1, 1) "data: [DONE]\n\n",
                        "the stream carried no text (3 events)");
}

static void expect_body(int code, const char *body, const char *msg) {
    LlmError err = {{0}};
    bench_error_body(code, body, strlen(body), &err);
    if (strcmp(err.msg, msg) != 0) fail_msg("got '%s', want '%s'", err.msg, msg);
}

static void test_error_bodies(void **state) {
    (void)state;
    expect_body(401, "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"auth\"}}",
                "HTTP 401: Incorrect API key");
    expect_body(400, "{\"object\":\"error\",\"message\":\"max_tokens too large\",\"code\":400}",
                "HTTP 400: max_tokens too large");
    expect_body(503, "{\"error\":\"overloaded\"}", "HTTP 503: overloaded");
    expect_body(404, "Not Found\r\n", "HTTP 404: Not Found");
    expect_body(502, "<html>\n<b>bad\tgateway</b>\n</html>\n", "HTTP 502: <html> <b>bad gateway</b> </html>");
    expect_body(500, "", "HTTP 500: (empty body)");
    char big[400];
    memset(big, 'z', sizeof big);
    LlmError err = {{0}};
    bench_error_body(500, big, sizeof big, &err);
    assert_int_equal(strlen(err.msg), strlen("HTTP 500: ") + 200 + 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completions), cmocka_unit_test(test_chat_role_chunk_and_multi_token),
        cmocka_unit_test(test_malformed),   cmocka_unit_test(test_incomplete),
        cmocka_unit_test(test_error_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
