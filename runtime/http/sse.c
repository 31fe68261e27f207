/* sse.c - Server-Sent Events parsing (see sse.h).
 *
 * Invariant: line holds the bytes of the current line seen so far (no
 * terminator); data holds the joined data lines of the current event, with
 * a '\n' after each (dropped when the event is dispatched).
 */
#include "http/sse.h"

#include <stdlib.h>
#include <string.h>

void sse_init(SseParser *p, size_t max_event) {
    memset(p, 0, sizeof *p);
    p->max_event = max_event;
}

void sse_free(SseParser *p) {
    free(p->line);
    free(p->data);
    memset(p, 0, sizeof *p);
}

int sse_pending(const SseParser *p) { return p->line_len > 0 || p->has_data; }

/* Grows *buf [*cap] to hold need bytes (need <= max + 1). */
static void reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    *buf = llm_xrealloc(*buf, c);
    *cap = c;
}

static int too_long(const SseParser *p, LlmError *err) {
    return llm_errorf(err, "event %lld is longer than %zu bytes", p->n_events + 1, p->max_event);
}

static int dispatch(SseParser *p, SseEventFn fn, void *ctx, LlmError *err) {
    int had = p->has_data;
    size_t n = p->data_len > 0 ? p->data_len - 1 : 0; /* drop the last '\n' */
    p->has_data = 0;
    p->data_len = 0;
    if (!had) {
        p->event[0] = '\0';
        return LLM_OK;
    }
    reserve(&p->data, &p->data_cap, n + 1);
    p->data[n] = '\0';
    p->n_events++;
    char event[SSE_EVENT_NAME_MAX];
    memcpy(event, p->event, sizeof event);
    p->event[0] = '\0';
    return fn(ctx, event, p->data, n, err);
}

/* One complete line (without its terminator). */
static int process_line(SseParser *p, SseEventFn fn, void *ctx, LlmError *err) {
    const char *line = p->line;
    size_t len = p->line_len;
    p->line_len = 0;
    if (len == 0) return dispatch(p, fn, ctx, err);
    if (line[0] == ':') return LLM_OK; /* comment */
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = len - (size_t)(value - line);
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        if (p->data_len + value_len + 1 > p->max_event) return too_long(p, err);
        reserve(&p->data, &p->data_cap, p->data_len + value_len + 2);
        memcpy(p->data + p->data_len, value, value_len);
        p->data_len += value_len;
        p->data[p->data_len++] = '\n';
        p->has_data = 1;
    } else if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        size_t k = value_len < SSE_EVENT_NAME_MAX - 1 ? value_len : SSE_EVENT_NAME_MAX - 1;
        memcpy(p->event, value, k);
        p->event[k] = '\0';
    }
    return LLM_OK;
}

int sse_feed(SseParser *p, const char *buf, size_t n, SseEventFn fn, void *ctx, LlmError *err) {
    size_t i = 0;
    while (i < n) {
        if (p->after_cr && buf[i] == '\n') i++; /* the LF of a CRLF */
        p->after_cr = 0;
        if (i == n) break;
        size_t start = i;
        while (i < n && buf[i] != '\n' && buf[i] != '\r') i++;
        size_t k = i - start;
        if (p->line_len + k > p->max_event) return too_long(p, err);
        reserve(&p->line, &p->line_cap, p->line_len + k + 1);
        memcpy(p->line + p->line_len, buf + start, k);
        p->line_len += k;
        if (i == n) break; /* the line goes on in the next piece */
        p->after_cr = buf[i] == '\r';
        i++;
        if (process_line(p, fn, ctx, err) != LLM_OK) return LLM_ERR;
    }
    return LLM_OK;
}
