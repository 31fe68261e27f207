/* server.h - the OpenAI-compatible HTTP server (`serve`): libevent's
 * evhttp in front of the continuous-batching scheduler.
 *
 * Threading: ONE thread runs the libevent loop and everything that
 * touches the scheduler; a second, the step worker (step_worker.h), runs
 * only the engine call of each step (sched_step_run). Each turn of the
 * loop first settles what the sockets and the last step asked (cancel
 * gone clients, answer finished requests, submit queued ones), then, if
 * the scheduler plans a step, kicks the worker and, while the engine
 * computes, renders the previous step's stream events into SSE chunks and
 * serves the sockets (EVLOOP_ONCE until the worker's pipe wakes it), then
 * takes the step's results on this thread (sched_step_end: callbacks).
 * When the scheduler is idle the loop blocks in EVLOOP_ONCE until a
 * socket, a signal or a timer wakes it. Scheduler callbacks only record
 * (stream events to render, DONE marks; never submit, step or cancel;
 * sched.h), and while a step runs nothing calls the scheduler: new
 * requests wait in the server's queue for the next turn. No write ever
 * blocks: evhttp buffers output per connection (TCP_NODELAY on: a chunk
 * does not wait for the client's delayed ACK of the one before), and a
 * stream whose unsent output passes HttpConfig.max_buffered (a client
 * that does not read) is cancelled and its connection closed, so one slow
 * client costs memory up to that bound and never time.
 *
 * Requests: POST /v1/completions, POST /v1/chat/completions (api_parse.h,
 * api_render.h), GET /v1/models, GET /health, GET /metrics (metrics.h).
 * At most max_concurrency requests are in the scheduler at once; up to
 * max_queue more wait in the server, first come first served; beyond that
 * a request gets 429. A client that disconnects has its request cancelled
 * (KV blocks freed) at the next turn: the connection's close callback
 * detaches the record from evhttp (whose request object is freed with
 * the connection) and the loop cancels it when it settles.
 *
 * Shutdown (SIGINT/SIGTERM): stop accepting, answer new requests on open
 * connections with 503, let the ones in flight finish for
 * shutdown_grace_s seconds, then cancel the rest (a stream ends with an
 * error event and [DONE], a waiting client gets 503), give the last
 * replies up to a second to drain, free everything and return LLM_OK. A
 * second signal cancels at once.
 */
#ifndef LLMCC_HTTP_SERVER_H
#define LLMCC_HTTP_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "http/api_parse.h"
#include "kv/kv_cache.h"
#include "sched/sched.h"
#include "tok/tok.h"

#define HTTP_DEFAULT_MAX_BODY (1u << 20)         /* bytes of a request body (413 past it) */
#define HTTP_BODY_HARD_FACTOR 16                 /* evhttp stops reading at 16 x max_body */
#define HTTP_DEFAULT_MAX_BUFFERED (4u << 20)     /* bytes of unsent stream output per request */
#define HTTP_DEFAULT_MAX_QUEUE 1024              /* requests waiting in the server */
#define HTTP_DEFAULT_SHUTDOWN_GRACE_S 5.0

typedef struct HttpConfig {
    const char *host;        /* address to bind, e.g. "127.0.0.1" */
    int port;                /* 0: a free port (printed) */
    const char *api_key;     /* NULL: no authentication */
    int max_concurrency;     /* requests in the scheduler at once, >= 1 */
    int max_queue;           /* requests waiting beyond those, >= 0 */
    size_t max_body;         /* bytes */
    size_t max_buffered;     /* bytes of unsent output per streaming request */
    double shutdown_grace_s; /* seconds in-flight requests get after a signal */
} HttpConfig;

/* What the server runs on; nothing is owned. */
typedef struct HttpBackend {
    Sched *sched;    /* idle, no callback set; the server sets and clears it */
    const Tokenizer *tok;
    KvCache *kv;     /* the scheduler's pool, for /metrics */
    ApiContext api;  /* parsing context (its seed is replaced per request) */
} HttpBackend;

/* Binds, prints "listening on http://HOST:PORT" to log, serves until a
 * signal, shuts down as above. Errors: the address cannot be bound, an
 * engine failure inside a step (every request is then answered 500). */
int http_serve(const HttpConfig *cfg, const HttpBackend *be, FILE *log, LlmError *err);

/* 1 when header is "Bearer KEY" for key; compares in time independent of
 * where they differ. */
int http_auth_ok(const char *header, const char *key);

#endif
