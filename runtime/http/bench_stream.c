/* bench_stream.c - reading one streamed completion (see bench_stream.h). */
#include "http/bench_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void bench_stream_init(BenchStream *s, BenchEndpoint endpoint, double t_sent) {
    memset(s, 0, sizeof *s);
    s->endpoint = endpoint;
    s->t_sent = t_sent;
    s->t_first = -1.0;
    s->prompt_tokens = -1;
    s->completion_tokens = -1;
    sse_init(&s->sse, BENCH_STREAM_MAX_EVENT);
}

void bench_stream_free(BenchStream *s) {
    sse_free(&s->sse);
    free(s->itl);
    free(s->text);
    memset(s, 0, sizeof *s);
}

static void push_gap(BenchStream *s, double gap) {
    if (s->n_itl == s->cap_itl) {
        s->cap_itl = s->cap_itl ? 2 * s->cap_itl : 64;
        s->itl = llm_xrealloc(s->itl, (size_t)s->cap_itl * sizeof(double));
    }
    s->itl[s->n_itl++] = gap;
}

static void append_text(BenchStream *s, const char *t, size_t n) {
    if (s->text_len + n + 1 > s->text_cap) {
        size_t c = s->text_cap ? s->text_cap : 256;
        while (c < s->text_len + n + 1) c *= 2;
        s->text = llm_xrealloc(s->text, c);
        s->text_cap = c;
    }
    memcpy(s->text + s->text_len, t, n);
    s->text_len += n;
    s->text[s->text_len] = '\0';
}

/* A content chunk carrying k tokens arrived at s->now. */
static void content_chunk(BenchStream *s, const char *text, size_t len, long long k) {
    if (s->t_first < 0) {
        s->t_first = s->now;
    } else {
        double gap = (s->now - s->t_last) / (double)k;
        for (long long i = 0; i < k; i++) push_gap(s, gap);
    }
    s->t_last = s->now;
    s->tokens += k;
    append_text(s, text, len);
}

static int malformed(const BenchStream *s, const char *what, LlmError *err) {
    return llm_errorf(err, "malformed stream: event %lld: %s", s->sse.n_events, what);
}

/* usage (may be absent or null): records the counts; *completion is the
 * completion_tokens it carries, -1 without one. */
static int read_usage(BenchStream *s, const json_t *usage, long long *completion, LlmError *err) {
    *completion = -1;
    if (usage == NULL || json_is_null(usage)) return LLM_OK;
    const json_t *pt = json_object_get(usage, "prompt_tokens");
    const json_t *ct = json_object_get(usage, "completion_tokens");
    if (!json_is_object(usage) || !json_is_integer(pt) || !json_is_integer(ct) ||
        json_integer_value(pt) < 0 || json_integer_value(ct) < 0)
        return malformed(s, "\"usage\" without integer prompt_tokens and completion_tokens", err);
    s->prompt_tokens = json_integer_value(pt);
    s->completion_tokens = *completion = json_integer_value(ct);
    return LLM_OK;
}

/* choices[0]'s text, NULL when it carries none (a role-only chat delta, a
 * finish_reason-only chunk). */
static int choice_text(const BenchStream *s, const json_t *choice, const char **text, LlmError *err) {
    *text = NULL;
    const char *key = s->endpoint == BENCH_ENDPOINT_CHAT ? "content" : "text";
    if (s->endpoint == BENCH_ENDPOINT_CHAT) {
        choice = json_object_get(choice, "delta");
        if (choice == NULL) return malformed(s, "choices[0] without \"delta\"", err);
    }
    const json_t *t = json_object_get(choice, key);
    if (t == NULL || json_is_null(t)) return LLM_OK;
    if (!json_is_string(t))
        return s->endpoint == BENCH_ENDPOINT_CHAT
                   ? malformed(s, "choices[0].delta.content is not a string", err)
                   : malformed(s, "choices[0].text is not a string", err);
    *text = json_string_value(t);
    return LLM_OK;
}

static int stream_error(const BenchStream *s, const json_t *e, LlmError *err) {
    const json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
    return llm_errorf(err, "server error in the stream (event %lld): %s", s->sse.n_events,
                      json_is_string(m) ? json_string_value(m) : "(no message)");
}

static int on_chunk(BenchStream *s, const json_t *j, LlmError *err) {
    if (!json_is_object(j)) return malformed(s, "not a JSON object", err);
    const json_t *e = json_object_get(j, "error");
    if (e != NULL && !json_is_null(e)) return stream_error(s, e, err);
    long long before = s->tokens, completion = -1;
    if (read_usage(s, json_object_get(j, "usage"), &completion, err) != LLM_OK) return LLM_ERR;
    const json_t *choices = json_object_get(j, "choices");
    if (choices == NULL) return LLM_OK; /* e.g. a usage-only chunk without "choices" */
    if (!json_is_array(choices)) return malformed(s, "\"choices\" is not an array", err);
    if (json_array_size(choices) == 0) return LLM_OK; /* the final usage chunk */
    const json_t *c0 = json_array_get(choices, 0);
    if (!json_is_object(c0)) return malformed(s, "choices[0] is not an object", err);
    const char *text = NULL;
    if (choice_text(s, c0, &text, err) != LLM_OK) return LLM_ERR;
    if (text == NULL || text[0] == '\0') return LLM_OK;
    long long k = completion > before ? completion - before : 1;
    content_chunk(s, text, strlen(text), k);
    return LLM_OK;
}

static int on_event(void *ctx, const char *event, const char *data, size_t len, LlmError *err) {
    BenchStream *s = ctx;
    (void)event;
    if (s->done) return LLM_OK; /* nothing counts after [DONE] */
    if (strcmp(data, "[DONE]") == 0) {
        s->done = 1;
        return LLM_OK;
    }
    json_error_t je;
    json_t *j = json_loadb(data, len, 0, &je);
    if (j == NULL)
        return llm_errorf(err, "malformed stream: event %lld is not JSON (%s): %.60s%s",
                          s->sse.n_events, je.text, data, len > 60 ? "..." : "");
    int rc = on_chunk(s, j, err);
    json_decref(j);
    return rc;
}

int bench_stream_feed(BenchStream *s, const char *buf, size_t n, double now, LlmError *err) {
    s->now = now;
    if (sse_feed(&s->sse, buf, n, on_event, s, err) == LLM_OK) return LLM_OK;
    if (strncmp(err->msg, "event ", 6) == 0) return llm_error_prefix(err, "malformed stream");
    return LLM_ERR;
}

int bench_stream_finish(const BenchStream *s, LlmError *err) {
    if (!s->done && sse_pending(&s->sse))
        return llm_errorf(err, "malformed stream: it ended inside an event (after %lld events)",
                          s->sse.n_events);
    if (!s->done)
        return llm_errorf(err, "malformed stream: it ended without \"data: [DONE]\" (after %lld "
                          "events)", s->sse.n_events);
    if (s->t_first < 0)
        return llm_errorf(err, "the stream carried no text (%lld events)", s->sse.n_events);
    return LLM_OK;
}

static const char *error_message(const json_t *j) {
    const json_t *e = json_object_get(j, "error");
    if (json_is_string(e)) return json_string_value(e);
    const json_t *m = json_object_get(json_is_object(e) ? e : j, "message");
    return json_is_string(m) ? json_string_value(m) : NULL;
}

void bench_error_body(int code, const char *body, size_t len, LlmError *err) {
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *m = j != NULL ? error_message(j) : NULL;
    if (m != NULL) {
        llm_errorf(err, "HTTP %d: %s", code, m);
    } else {
        int k = len > 200 ? 200 : (int)len;
        while (k > 0 && (body[k - 1] == '\n' || body[k - 1] == '\r')) k--;
        llm_errorf(err, "HTTP %d: %s%.*s%s", code, len ? "" : "(empty body)", k, body,
                   len > 200 ? "..." : "");
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < ' ') *c = ' '; /* one line */
    }
    json_decref(j);
}
