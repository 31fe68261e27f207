/* server_req.c - one completion request from its body to its answer (see
 * server.h for the loop it lives in, server_internal.h for the record).
 *
 * parse -> (429 when the queue is full) -> submitted at once, or queued
 * (always while a step runs) and submitted by http_settle -> [stream: the
 * scheduler's callbacks record TOKEN/FINISH events in srv->pending; they
 * are rendered as SSE chunks while the next step runs] -> DONE ->
 * answered at the next settle (whole JSON; or its pending chunks, the
 * usage chunk and [DONE]) -> released and freed. A client that leaves is
 * detached by the close callback and cancelled in http_settle; its record
 * is freed once the scheduler's DONE for the cancel came.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "http/server_internal.h"

/* ---- records ---------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static void rec_link(HttpServer *srv, HttpReq *r) {
    r->prev = srv->tail;
    if (srv->tail) srv->tail->next = r;
    else srv->head = r;
    srv->tail = r;
}

static void rec_unwatch(HttpReq *r) {
    if (r->watch != NULL) event_free(r->watch);
    r->watch = NULL;
}

/* evhttp is done with the record: no more callbacks, no more pointers. */
static void rec_detach(HttpReq *r) {
    rec_unwatch(r);
    if (r->evcon != NULL) evhttp_connection_set_closecb(r->evcon, NULL, NULL);
    r->req = NULL;
    r->evcon = NULL;
}

static void pending_forget(HttpServer *srv, const HttpReq *r);

static void rec_free(HttpReq *r) {
    HttpServer *srv = r->srv;
    pending_forget(srv, r);
    if (r->prev) r->prev->next = r->next;
    else srv->head = r->next;
    if (r->next) r->next->prev = r->prev;
    else srv->tail = r->prev;
    if (r->state == HTTP_REQ_QUEUED) srv->n_queued--;
    else srv->n_running--;
    rec_detach(r);
    api_request_free(&r->api);
    free(r);
}

/* The connection is going away. evhttp frees a request still on it, but
 * one it dropped on a network error (EOF, reset, timeout) before its reply
 * was finished is left to its owner, without a connection: that one is
 * freed here. */
static void rec_on_close(struct evhttp_connection *evcon, void *arg) {
    (void)evcon;
    HttpReq *r = arg;
    rec_unwatch(r); /* before evhttp closes the socket */
    if (r->streaming) r->srv->replies_sending--; /* its reply dies with the connection */
    if (r->req != NULL && evhttp_request_get_connection(r->req) == NULL) evhttp_request_free(r->req);
    r->req = NULL;
    r->evcon = NULL;
    r->gone = 1;
    r->srv->n_gone++;
}

/* The client's socket became readable while its request runs: EOF or an
 * error is a hang-up (evhttp reads nothing until the reply is written, so
 * without this a request that writes nothing yet would not notice);
 * anything else (a pipelined request) ends the watch. */
static void rec_on_readable(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    HttpReq *r = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        event_add(r->watch, NULL);
        return;
    }
    if (n > 0) return;
    r->drop = 1;
    r->srv->n_gone++;
}

static void rec_watch(HttpReq *r) {
    evutil_socket_t fd = bufferevent_getfd(evhttp_connection_get_bufferevent(r->evcon));
    if (fd < 0) return;
    r->watch = event_new(r->srv->base, fd, EV_READ, rec_on_readable, r);
    if (r->watch != NULL) event_add(r->watch, NULL);
}

/* ---- streaming -------------------------------------------------------------- */

static void stream_send(HttpReq *r, json_t *obj) {
    size_t len = 0;
    char *ev = api_sse_event(obj, &len);
    json_decref(obj);
    evbuffer_add(r->srv->scratch, ev, len);
    free(ev);
    evhttp_send_reply_chunk(r->req, r->srv->scratch);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(r->evcon);
    if (!r->drop && evbuffer_get_length(bufferevent_get_output(bev)) > r->srv->cfg->max_buffered) {
        r->drop = 1; /* closed and cancelled by the next settle (not while stepping) */
        r->srv->n_gone++;
    }
}

static void stream_start(HttpReq *r) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-cache");
    http_track_reply(r->srv, r->req);
    evhttp_send_reply_start(r->req, 200, "OK");
    metrics_count_code(&r->srv->metrics, 200);
    r->streaming = 1;
    if (r->api.kind == API_KIND_CHAT)
        for (int j = 0; j < r->api.req.n; j++) stream_send(r, api_chunk_role_json(&r->head, j));
}

/* A TOKEN or FINISH event of a streaming request, recorded at the event
 * and rendered now: its text, the logprobs of the tokens not streamed yet,
 * and the finish reason. Nothing for a client that left or was dropped
 * since, nor for an event with no text, no logprobs and no finish. */
static void stream_event(HttpReq *r, const HttpPending *p) {
    if (r->req == NULL || r->drop) return;
    const SchedOutput *o = sched_output(r->srv->be->sched, r->sched_id, p->sample);
    LLM_ASSERT(o != NULL && p->text_to <= o->text_len);
    int j = p->sample;
    const char *finish = p->kind == HTTP_PENDING_FINISH ? sched_finish_name(p->finish) : NULL;
    ApiTokens t = {.lp = r->api.logprobs == API_LOGPROBS_ON ? o->logprobs : NULL,
                   .from = r->ids_sent[j], .to = p->n_ids, .text_offset = r->chars_sent[j]};
    size_t len = p->text_to - p->text_from;
    if (len == 0 && finish == NULL && (t.lp == NULL || t.from == t.to)) return;
    stream_send(r, api_chunk_json(&r->head, r->srv->be->tok, j, o->text + p->text_from, len,
                                  t.lp ? &t : NULL, finish));
    r->ids_sent[j] = p->n_ids;
    r->chars_sent[j] = t.text_offset;
}

/* ---- pending stream events ------------------------------------------------------ */

/* Records a TOKEN or FINISH event of an attached streaming request. Its
 * delta is the tail of the sample's text (sched_output.c appends, then
 * reports what it appended). A cancelled sample streams nothing more: its
 * request is answered by rec_answer. */
static void pending_add(HttpServer *srv, HttpReq *r, const SchedEvent *ev) {
    const SchedOutput *o = ev->out;
    if (o->finish == SCHED_FINISH_CANCELLED) return;
    LLM_ASSERT(ev->delta_len <= o->text_len && ev->delta == o->text + (o->text_len - ev->delta_len));
    if (srv->n_pending == srv->cap_pending) {
        srv->cap_pending = srv->cap_pending ? 2 * srv->cap_pending : 256;
        srv->pending = llm_xrealloc(srv->pending, sizeof(HttpPending) * (size_t)srv->cap_pending);
    }
    srv->pending[srv->n_pending++] = (HttpPending){
        .r = r, .sample = o->index, .finish = o->finish, .n_ids = o->n_ids,
        .kind = ev->kind == SCHED_EVENT_FINISH ? HTTP_PENDING_FINISH : HTTP_PENDING_TOKEN,
        .text_from = o->text_len - ev->delta_len, .text_to = o->text_len};
}

/* Renders the pending events of only (all when NULL), in order; each is
 * rendered once. */
static void pending_render(HttpServer *srv, const HttpReq *only) {
    for (int i = 0; i < srv->n_pending; i++) {
        HttpPending *p = &srv->pending[i];
        HttpReq *r = p->r;
        if (r == NULL || (only != NULL && r != only)) continue;
        p->r = NULL;
        stream_event(r, p);
    }
}

/* Drops r's pending events unrendered (r is being freed). */
static void pending_forget(HttpServer *srv, const HttpReq *r) {
    for (int i = 0; i < srv->n_pending; i++)
        if (srv->pending[i].r == r) srv->pending[i].r = NULL;
}

void http_render_pending(HttpServer *srv) {
    pending_render(srv, NULL);
    srv->n_pending = 0;
}

/* ---- the scheduler's events --------------------------------------------------- */

static void observe_sample(Metrics *m, const SchedOutput *o) {
    m->generation_tokens += o->n_ids;
    if (o->finish == SCHED_FINISH_CANCELLED) return;
    for (int i = 1; i < o->n_ids; i++) metrics_observe(&m->itl, o->token_times[i] - o->token_times[i - 1]);
}

void http_on_sched_event(void *ctx, const SchedEvent *ev) {
    HttpServer *srv = ctx;
    HttpReq *r = ev->info->user;
    int attached = r->req != NULL && !r->drop;
    if (ev->kind == SCHED_EVENT_FINISH) observe_sample(&srv->metrics, ev->out);
    if (ev->kind != SCHED_EVENT_DONE) {
        if (attached && r->streaming) pending_add(srv, r, ev);
        return;
    }
    r->done = 1;
    srv->n_done++;
    const SchedOutput *o = sched_output(srv->be->sched, r->sched_id, 0);
    if (o->finish == SCHED_FINISH_CANCELLED) return;
    if (ev->info->first_token_s >= 0) metrics_observe(&srv->metrics.ttft, ev->info->first_token_s);
    metrics_observe(&srv->metrics.e2e, ev->info->finish_s);
}

/* ---- answers ------------------------------------------------------------------ */

/* Why a request was cancelled by the server: shutdown, or an engine failure. */
static void shutdown_error(const HttpServer *srv, ApiError *e) {
    if (srv->failure.msg[0] != '\0')
        api_error_set(e, 500, "server_error", NULL, NULL, "engine failure: %s", srv->failure.msg);
    else
        api_error_set(e, 503, "server_error", "server_shutting_down", NULL,
                      "the server is shutting down; the request was cancelled");
}

static void answer_stream(HttpReq *r, const SchedInfo *info, const SchedOutput *const *outs) {
    HttpServer *srv = r->srv;
    if (r->shutdown) {
        ApiError e;
        shutdown_error(srv, &e);
        stream_send(r, api_error_json(&e));
    } else if (r->api.include_usage) {
        long long completion = 0;
        for (int j = 0; j < info->n; j++) completion += outs[j]->n_ids;
        stream_send(r, api_chunk_usage_json(&r->head, info->n_prompt, completion));
    }
    evbuffer_add(srv->scratch, API_SSE_DONE, strlen(API_SSE_DONE));
    evhttp_send_reply_chunk(r->req, srv->scratch);
    struct evhttp_request *req = r->req;
    rec_detach(r);
    evhttp_send_reply_end(req); /* may complete (and free req) at once */
}

/* A request the scheduler finished: stream what it still has pending,
 * answer it if its client is there, release it, free the record. */
static void rec_answer(HttpReq *r) {
    HttpServer *srv = r->srv;
    Sched *sched = srv->be->sched;
    pending_render(srv, r); /* may drop it (its client does not read) */
    const SchedInfo *info = sched_info(sched, r->sched_id);
    const SchedOutput *outs[SCHED_MAX_N];
    for (int j = 0; j < info->n; j++) outs[j] = sched_output(sched, r->sched_id, j);
    if (r->req != NULL && r->drop) {
        struct evhttp_connection *c = r->evcon;
        if (r->streaming) srv->replies_sending--;
        rec_detach(r);
        evhttp_connection_free(c); /* too slow, or gone: drop it */
    } else if (r->req != NULL && r->streaming) {
        answer_stream(r, info, outs);
    } else if (r->req != NULL) {
        struct evhttp_request *req = r->req;
        rec_detach(r);
        if (r->shutdown) {
            ApiError e;
            shutdown_error(srv, &e);
            http_reply_error(srv, req, &e);
        } else {
            http_reply_json(srv, req, 200, api_response_json(&r->head, &r->api, srv->be->tok, info, outs));
        }
    }
    sched_release(sched, r->sched_id);
    rec_free(r);
}

/* ---- submission ---------------------------------------------------------------- */

static void rec_submit(HttpReq *r) {
    HttpServer *srv = r->srv;
    LlmError err = {{0}};
    if (r->state == HTTP_REQ_QUEUED) srv->n_queued--;
    r->state = HTTP_REQ_RUNNING;
    srv->n_running++;
    if (sched_submit(srv->be->sched, &r->api.req, &r->sched_id, &err) != LLM_OK) {
        ApiError e;
        api_error_from_submit(&r->api, &err, &e);
        struct evhttp_request *req = r->req;
        rec_detach(r);
        if (req != NULL) http_reply_error(srv, req, &e);
        rec_free(r);
        return;
    }
    srv->metrics.prompt_tokens += r->api.req.n_prompt;
    if (r->api.stream && r->req != NULL) stream_start(r);
}

static HttpReq *rec_new(HttpServer *srv, ApiKind kind) {
    HttpReq *r = llm_xcalloc(1, sizeof *r);
    r->srv = srv;
    uint64_t n = ++srv->n_requests;
    snprintf(r->id, sizeof r->id, "%s-%016llx", kind == API_KIND_CHAT ? "chatcmpl" : "cmpl",
             (unsigned long long)splitmix64(srv->salt ^ (n << 1)));
    r->head = (ApiHead){.kind = kind, .id = r->id, .created = (long long)time(NULL),
                        .model = srv->be->api.model};
    return r;
}

static void reply_429(HttpServer *srv, struct evhttp_request *req) {
    ApiError e;
    api_error_set(&e, 429, "rate_limit_error", "rate_limit_exceeded", NULL,
                  "too many requests: %d running and %d waiting (--max-concurrency %d, "
                  "--max-queue %d); retry later", srv->n_running, srv->n_queued,
                  srv->cfg->max_concurrency, srv->cfg->max_queue);
    http_reply_error(srv, req, &e);
}

void http_handle_completion(HttpServer *srv, struct evhttp_request *req, ApiKind kind) {
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    ApiContext c = srv->be->api;
    HttpReq *r = rec_new(srv, kind);
    c.seed = splitmix64(srv->salt ^ (srv->n_requests << 1 | 1)) & (uint64_t)INT64_MAX;
    ApiError e;
    if (api_parse_request(&c, kind, body, len, &r->api, &e) != LLM_OK) {
        api_request_free(&r->api);
        free(r);
        http_reply_error(srv, req, &e);
        return;
    }
    /* Room for max_concurrency running plus max_queue waiting. Outside a
     * step, settle has left nothing queued or max_concurrency running, so
     * that is "it runs now, or the queue has room". While stepping, a
     * request that would run now is queued for the next settle instead,
     * and the same capacity holds. */
    int run_now = !srv->stepping && srv->n_running < srv->cfg->max_concurrency && srv->n_queued == 0;
    long long held = (long long)srv->n_running + srv->n_queued;
    if (held >= (long long)srv->cfg->max_concurrency + srv->cfg->max_queue) {
        api_request_free(&r->api);
        free(r);
        reply_429(srv, req);
        return;
    }
    r->api.req.user = r;
    r->req = req;
    r->evcon = evhttp_request_get_connection(req);
    evhttp_connection_set_closecb(r->evcon, rec_on_close, r);
    rec_watch(r);
    r->state = HTTP_REQ_QUEUED;
    srv->n_queued++;
    rec_link(srv, r);
    if (run_now) rec_submit(r);
}

/* ---- settling after each turn --------------------------------------------------- */

/* Closes dropped streams' connections and cancels requests whose
 * client left (their DONE events come inside sched_cancel). */
static void settle_gone(HttpServer *srv) {
    for (HttpReq *r = srv->head, *next; r != NULL; r = next) {
        next = r->next;
        if (r->drop && r->req != NULL) {
            struct evhttp_connection *c = r->evcon;
            if (r->streaming) srv->replies_sending--;
            rec_detach(r);
            evhttp_connection_free(c);
            r->gone = 1;
        }
        if (!r->gone || r->done) continue;
        if (r->state == HTTP_REQ_QUEUED) {
            rec_free(r);
            continue;
        }
        if (sched_cancel(srv->be->sched, r->sched_id)) srv->metrics.cancelled++;
    }
}

void http_settle(HttpServer *srv) {
    if (srv->n_gone > 0) {
        srv->n_gone = 0;
        settle_gone(srv);
    }
    if (srv->n_done > 0) {
        srv->n_done = 0;
        for (HttpReq *r = srv->head, *next; r != NULL; r = next) {
            next = r->next;
            if (r->done) rec_answer(r);
        }
    }
    for (HttpReq *r = srv->head, *next; r != NULL && srv->n_running < srv->cfg->max_concurrency;
         r = next) {
        next = r->next;
        if (r->state == HTTP_REQ_QUEUED) rec_submit(r);
    }
}

void http_cancel_all(HttpServer *srv) {
    for (HttpReq *r = srv->head, *next; r != NULL; r = next) {
        next = r->next;
        r->shutdown = 1;
        if (r->state == HTTP_REQ_QUEUED) {
            struct evhttp_request *req = r->req;
            ApiError e;
            shutdown_error(srv, &e);
            rec_detach(r);
            if (req != NULL) http_reply_error(srv, req, &e);
            rec_free(r);
        } else if (!r->done && sched_cancel(srv->be->sched, r->sched_id)) {
            srv->metrics.cancelled++;
        }
    }
    http_settle(srv);
}

void http_drop_all(HttpServer *srv) {
    while (srv->head != NULL) {
        HttpReq *r = srv->head;
        rec_detach(r);
        if (r->state == HTTP_REQ_RUNNING) {
            sched_cancel(srv->be->sched, r->sched_id);
            sched_release(srv->be->sched, r->sched_id);
        }
        rec_free(r);
    }
    free(srv->pending);
    srv->pending = NULL;
    srv->n_pending = srv->cap_pending = 0;
}
