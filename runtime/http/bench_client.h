/* bench_client.h - the HTTP load generator of `bench --url`: streamed
 * OpenAI requests against a server, timed, in one libevent loop.
 *
 * Requests start at their arrival times (bench_plan.h) in index order; with
 * max_in_flight > 0 one that arrives while max_in_flight are running waits
 * for the next to finish (so "concurrency C" is every arrival at 0 with
 * max_in_flight C, vLLM's max_concurrency). Each running request has a
 * connection of its own, kept alive and reused by the next request; the
 * pool grows to the most requests running at once. A request's time starts
 * when it is handed to the connection (a waiting request's queueing is not
 * counted, as in vLLM). Every request ends either ok (its BenchStream has
 * the timings and usage) or failed with a one-line message: connection
 * failure, timeout (no byte for timeout_s seconds), an error status (the
 * OpenAI error message), a response that is not an event stream, or a
 * malformed stream (the request is cancelled at once).
 */
#ifndef LLMCC_HTTP_BENCH_CLIENT_H
#define LLMCC_HTTP_BENCH_CLIENT_H

#include "base/error.h"
#include "http/bench_stream.h"
#include "http/http_url.h"

typedef struct BenchTarget {
    HttpUrl url;
    char path[HTTP_URL_PATH_MAX + 32]; /* request path, http_url_endpoint */
    BenchEndpoint endpoint;
    const char *api_key; /* sent as "Authorization: Bearer KEY"; NULL = none */
    const char *model;   /* the "model" field; NULL = left out (the server's one model) */
    int timeout_s;       /* a request fails after this long without a byte */
} BenchTarget;

typedef enum BenchRequestState {
    BENCH_REQUEST_WAITING = 0,
    BENCH_REQUEST_RUNNING,
    BENCH_REQUEST_OK,
    BENCH_REQUEST_FAILED
} BenchRequestState;

typedef struct BenchRequest {
    const char *prompt;      /* not owned */
    int max_tokens;
    double arrival;          /* seconds after the start */
    BenchRequestState state; /* OK or FAILED after bench_client_run */
    BenchStream stream;      /* timings, usage, text (times from the monotonic clock) */
    double t_end;            /* when the response completed or failed */
    LlmError error;          /* why, when FAILED */
} BenchRequest;

/* One TCP connection to the server (blocking, bounded by timeout_s), to
 * fail early with the system's reason. */
int bench_client_probe(const BenchTarget *t, LlmError *err);

/* Runs reqs [n] to completion; *t_start is when the first could start.
 * Per-request failures are in reqs; errors here are the event loop's. */
int bench_client_run(const BenchTarget *t, BenchRequest *reqs, int n, int max_in_flight,
                     double *t_start, LlmError *err);

/* Frees what run left in reqs (their streams). */
void bench_client_free_requests(BenchRequest *reqs, int n);

/* Seconds of the monotonic clock. */
double bench_client_now(void);

#endif
