/* server_internal.h - the server's state, shared by server.c (loop,
 * routing, lifecycle) and server_req.c (one completion request from
 * parse to answer). Internal to runtime/http.
 *
 * Record lifetime: an HttpReq is created when a completion request
 * parses, and freed when it has been answered (or its client left) and
 * the scheduler released it. While the client is connected, req/evcon
 * point at evhttp's objects and the connection's close callback points at
 * the record; when the record is detached (answered, or the client gone)
 * the callback is cleared and the pointers are NULL, so nothing ever
 * touches a request evhttp has freed.
 *
 * Stepping (srv->stepping): from the kick of the step worker to the
 * collection of its result, the worker runs the engine, and this thread
 * must not call the scheduler or the KV pool (sched.h, sched_step_run)
 * other than to read outputs. Everything that runs then (the rendering of
 * pending stream events, libevent's callbacks: routes, close callbacks,
 * the hang-up watch, signals, timers) only reads outputs, writes evhttp
 * buffers and sets flags; completion requests are queued and submitted by
 * the next http_settle, and /metrics reports the gauges of srv->gauges.
 *
 * Pending stream events: the scheduler's TOKEN and FINISH events of an
 * attached streaming request are recorded in srv->pending and rendered
 * as SSE chunks later, in order: during the next step (or before the loop
 * waits), or, for a request that is done, just before it is answered. An
 * entry never outlives its record (rec_free forgets the record's entries).
 */
#ifndef LLMCC_HTTP_SERVER_INTERNAL_H
#define LLMCC_HTTP_SERVER_INTERNAL_H

#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "http/api_parse.h"
#include "http/api_render.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/step_worker.h"

typedef enum HttpReqState {
    HTTP_REQ_QUEUED = 0, /* parsed, waiting in the server for a scheduler slot */
    HTTP_REQ_RUNNING     /* submitted to the scheduler */
} HttpReqState;

typedef struct HttpServer HttpServer;

typedef enum HttpPendingKind {
    HTTP_PENDING_TOKEN = 0, /* a TOKEN event */
    HTTP_PENDING_FINISH     /* a FINISH event (never a cancelled one: those are not streamed) */
} HttpPendingKind;

/* A stream event to render: what the event said, by value, so that the
 * sample's output may grow before it is rendered (its text only grows
 * until release; its pointers are looked up again then). */
typedef struct HttpPending {
    struct HttpReq *r;       /* NULL once rendered or forgotten */
    int sample;              /* the sample's index */
    HttpPendingKind kind;
    SchedFinish finish;      /* the sample's finish at the event (NONE for a token) */
    int n_ids;               /* the sample's output tokens at the event */
    size_t text_from, text_to; /* the event's delta: bytes [from, to) of the sample's text */
} HttpPending;

typedef struct HttpReq {
    struct HttpReq *prev, *next;     /* HttpServer's list, arrival order */
    HttpServer *srv;
    struct evhttp_request *req;      /* NULL once detached */
    struct evhttp_connection *evcon; /* NULL once detached */
    ApiRequest api;                  /* the parsed body; api.req.user is this record */
    ApiHead head;                    /* id, created, model of every object sent */
    char id[48];                     /* "cmpl-..." / "chatcmpl-..." */
    HttpReqState state;
    SchedId sched_id;                /* 0 until submitted */
    int gone;                        /* the client left (or is too slow): cancel */
    int drop;                        /* close its connection and cancel: unsent output passed
                                        max_buffered, or the watch saw the client hang up */
    struct event *watch;             /* read event on the client's socket while attached: a
                                        hang-up cancels even a request that writes nothing yet */
    int done;                        /* the scheduler's DONE event came */
    int shutdown;                    /* cancelled by the shutdown deadline (or an engine failure) */
    int streaming;                   /* the SSE reply has started */
    int ids_sent[SCHED_MAX_N];       /* per sample: tokens whose logprobs were streamed */
    size_t chars_sent[SCHED_MAX_N];  /* per sample: text_offset after them */
} HttpReq;

struct HttpServer {
    const HttpConfig *cfg;
    const HttpBackend *be;
    FILE *log;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound; /* NULL once accepting stopped */
    struct event *sig_int, *sig_term;
    struct event *wake;                /* timer: the shutdown deadlines */
    struct evbuffer *scratch;          /* body of the reply being built */
    HttpReq *head, *tail;              /* every record, arrival order */
    int n_queued, n_running;           /* records in each state */
    int n_gone;                        /* records marked gone or overflow since the last settle */
    int n_done;                        /* records whose DONE came since the last settle */
    int draining;                      /* 1 after SIGINT/SIGTERM */
    double deadline;                   /* draining: cancel what still runs at this time */
    double flush_by;                   /* draining, nothing left: stop waiting for writes then */
    LlmError failure;                  /* the engine error that stopped the server, "" if none */
    StepWorker *worker;                /* runs the engine call of each step */
    struct event *step_end;            /* persistent read event on the worker's pipe */
    int stepping;                      /* 1 while the worker runs a step (see above) */
    int step_ended;                    /* the worker's step ended (stepping: wait for it) */
    int step_rc;                       /* its status; step_err when LLM_ERR */
    LlmError step_err;
    MetricsGauges gauges;              /* the scheduler's and pool's gauges as the step began */
    HttpPending *pending;              /* [n_pending] stream events to render, in event order */
    int n_pending, cap_pending;
    int replies_sending;               /* replies handed to evhttp, not yet written */
    uint64_t n_requests;               /* completion requests parsed (ids, seeds) */
    uint64_t salt;                     /* start-time entropy for ids and seeds */
    long long created;                 /* Unix time the server started */
    Metrics metrics;
};

double http_now(void);

/* Replies (server.c): count the status in the metrics; non-streaming
 * replies are tracked until written (replies_sending). */
void http_reply_json(HttpServer *srv, struct evhttp_request *req, int code, json_t *obj);
void http_reply_error(HttpServer *srv, struct evhttp_request *req, const ApiError *e);
/* Counts req in replies_sending until evhttp has written all of it. */
void http_track_reply(HttpServer *srv, struct evhttp_request *req);

/* server_req.c */
/* POST /v1/completions and /v1/chat/completions. */
void http_handle_completion(HttpServer *srv, struct evhttp_request *req, ApiKind kind);
/* The scheduler's event callback (ctx: the server). */
void http_on_sched_event(void *ctx, const SchedEvent *ev);
/* At the start of every loop turn (never while stepping): close
 * overflowing streams, cancel gone clients, answer and free finished
 * requests, submit queued ones. */
void http_settle(HttpServer *srv);
/* Renders every pending stream event (only reads outputs: safe while
 * stepping) and empties the list. */
void http_render_pending(HttpServer *srv);
/* The shutdown deadline: every request still queued or running is
 * cancelled and answered (503 / an error event). */
void http_cancel_all(HttpServer *srv);
/* Frees every record left (cancelled and released) and the pending
 * events, for teardown. */
void http_drop_all(HttpServer *srv);

#endif
