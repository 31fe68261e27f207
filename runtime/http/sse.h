/* sse.h - an incremental parser for Server-Sent Events (text/event-stream).
 *
 * Bytes go in as they come off the wire, cut anywhere (inside a line,
 * between the CR and LF of a CRLF, inside a UTF-8 character); whole events
 * come out through a callback. Follows the WHATWG event-stream rules: lines
 * end with CRLF, LF or CR; a blank line dispatches the event; "data:" lines
 * are joined with "\n"; "event:" names the event; one space after the colon
 * is dropped; lines starting with ':' are comments; "id", "retry" and
 * unknown fields are ignored; an event without data is not dispatched.
 * It does not interpret the data (see bench_stream.h) and never allocates
 * more than max_event bytes for one event: a longer one is an error.
 */
#ifndef LLMCC_HTTP_SSE_H
#define LLMCC_HTTP_SSE_H

#include <stddef.h>

#include "base/error.h"

#define SSE_EVENT_NAME_MAX 64 /* bytes kept of an "event:" value */

/* Called once per dispatched event. data is NUL-terminated (data_len
 * bytes, no trailing newline); event is "" for the default "message".
 * A return other than LLM_OK stops the parser and is returned by sse_feed. */
typedef int (*SseEventFn)(void *ctx, const char *event, const char *data, size_t data_len,
                          LlmError *err);

typedef struct SseParser {
    char *line;          /* the line being read [line_len], not NUL-terminated */
    size_t line_len, line_cap;
    char *data;          /* data of the event being built [data_len], lines joined by '\n' */
    size_t data_len, data_cap;
    int has_data;        /* 1 once a data field was seen in this event */
    char event[SSE_EVENT_NAME_MAX]; /* event type of the event being built, "" = message */
    int after_cr;        /* the last byte was CR: a LF right after it ends nothing */
    size_t max_event;    /* bytes: a line or an event's data longer than this is an error */
    long long n_events;  /* events dispatched so far */
} SseParser;

void sse_init(SseParser *p, size_t max_event);
void sse_free(SseParser *p);

/* Parses n bytes; dispatches every event they complete. Returns LLM_ERR
 * when an event outgrows max_event or the callback fails. */
int sse_feed(SseParser *p, const char *buf, size_t n, SseEventFn fn, void *ctx, LlmError *err);

/* 1 when bytes of an unfinished line or event are pending (a stream that
 * ends here was cut in the middle of an event). */
int sse_pending(const SseParser *p);

#endif
