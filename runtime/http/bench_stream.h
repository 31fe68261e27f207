/* bench_stream.h - one streamed OpenAI response as the bench reads it:
 * timings of its content chunks, its usage, or what went wrong.
 *
 * Fed the body bytes as they arrive with the time they arrived; the SSE
 * events (sse.h) are parsed as JSON chunks of /v1/completions
 * (choices[0].text) or /v1/chat/completions (choices[0].delta.content).
 * A content chunk is one whose text is non-empty (a chat's role-only first
 * chunk is not one). Timings, in seconds of the monotonic clock:
 *  - TTFT: request sent -> first content chunk;
 *  - inter-token latency: the gap between consecutive content chunks. A
 *    chunk normally carries one token; when a chunk says it carries k > 1
 *    (its usage.completion_tokens grew by k since the last chunk: vLLM's
 *    continuous usage stats) the gap is counted as k gaps of gap / k, as
 *    vLLM's and SGLang's serving benchmarks do, so every token but the
 *    first has one inter-token sample. Without per-chunk usage a chunk
 *    counts as one token;
 *  - end-to-end: request sent -> the response completed.
 * Output tokens are the final usage.completion_tokens (asked for with
 * stream_options.include_usage); without it the caller re-tokenizes text.
 * Errors: an event that is not JSON or has the wrong shape, an error object
 * in the stream, no [DONE], a stream cut inside an event, no content.
 */
#ifndef LLMCC_HTTP_BENCH_STREAM_H
#define LLMCC_HTTP_BENCH_STREAM_H

#include <stddef.h>

#include "base/error.h"
#include "http/sse.h"

typedef enum BenchEndpoint {
    BENCH_ENDPOINT_COMPLETIONS = 0, /* /v1/completions, prompt */
    BENCH_ENDPOINT_CHAT             /* /v1/chat/completions, one user message */
} BenchEndpoint;

#define BENCH_STREAM_MAX_EVENT (1 << 20) /* bytes of one SSE event */

typedef struct BenchStream {
    BenchEndpoint endpoint;
    SseParser sse;
    double t_sent;            /* when the request was sent */
    double t_first;           /* first content chunk; < 0 before it */
    double t_last;            /* latest content chunk */
    double *itl;              /* [n_itl] inter-token gaps (seconds), grown as needed */
    long long n_itl, cap_itl;
    long long tokens;         /* tokens the content chunks carried so far */
    long long prompt_tokens;     /* usage.prompt_tokens, -1 until a usage object */
    long long completion_tokens; /* usage.completion_tokens, -1 until a usage object */
    int done;                 /* "data: [DONE]" was seen */
    char *text;               /* generated text [text_len], NUL-terminated */
    size_t text_len, text_cap;
    double now;               /* arrival time of the bytes being fed */
} BenchStream;

void bench_stream_init(BenchStream *s, BenchEndpoint endpoint, double t_sent);
void bench_stream_free(BenchStream *s);

/* Parses n body bytes that arrived at time now. */
int bench_stream_feed(BenchStream *s, const char *buf, size_t n, double now, LlmError *err);

/* The response body ended: checks that the stream was complete. */
int bench_stream_finish(const BenchStream *s, LlmError *err);

/* The message of an error response: "HTTP CODE: MESSAGE" with MESSAGE from
 * an OpenAI error body ({"error": {"message": ...}}, {"error": "..."},
 * vLLM's {"message": ...}), else the start of the body as text. */
void bench_error_body(int code, const char *body, size_t len, LlmError *err);

#endif
