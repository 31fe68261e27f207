/* server.c - the loop, routing and lifecycle of the HTTP server (see
 * server.h; one request's path is server_req.c).
 *
 * The loop, one turn: http_settle (cancel gone clients, answer done
 * requests, submit queued ones; the scheduler is idle then); then, if the
 * scheduler plans a step (sched_step_begin), the step worker runs its
 * engine call while this thread renders the previous step's stream events
 * and serves the sockets (EVLOOP_ONCE until the worker's pipe says the
 * step ended), and sched_step_end takes the results (callbacks record
 * events); otherwise the pending events are rendered and the loop polls
 * (EVLOOP_NONBLOCK while there is work) or waits (EVLOOP_ONCE). While a
 * step runs, nothing here calls the scheduler or the KV pool
 * (server_internal.h: stepping).
 *
 * Routes: POST /v1/completions, POST /v1/chat/completions, GET /v1/models
 * (these three need the API key when one is set), GET /health, GET
 * /metrics. A known path with another method is a 405 with Allow; any
 * other path a 404; a body over the limit a 413. Every error body is an
 * OpenAI error object, except the two evhttp writes itself before a
 * handler runs: 413 for a body over 16 x the limit (it stops reading) and
 * 400 for a request that is not HTTP (libevent 2.1 has no hook to replace
 * those bodies; they are not counted in /metrics).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "http/http_socket.h"
#include "http/server_internal.h"

double http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int http_auth_ok(const char *header, const char *key) {
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0) return 0;
    const char *tok = header + 7;
    size_t n = strlen(key), m = strlen(tok);
    unsigned diff = n != m;
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)key[i] ^ (unsigned char)(i < m ? tok[i] : 0);
    return diff == 0;
}

/* ---- replies ------------------------------------------------------------------ */

static void on_reply_written(struct evhttp_request *req, void *arg) {
    (void)req;
    HttpServer *srv = arg;
    srv->replies_sending--;
}

void http_track_reply(HttpServer *srv, struct evhttp_request *req) {
    srv->replies_sending++;
    evhttp_request_set_on_complete_cb(req, on_reply_written, srv);
}

static void reply_text(HttpServer *srv, struct evhttp_request *req, int code, const char *type,
                       const char *text, size_t len) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", type);
    evbuffer_add(srv->scratch, text, len);
    metrics_count_code(&srv->metrics, code);
    http_track_reply(srv, req);
    evhttp_send_reply(req, code, NULL, srv->scratch);
}

void http_reply_json(HttpServer *srv, struct evhttp_request *req, int code, json_t *obj) {
    char *body = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(obj);
    if (body == NULL) LLM_BUG("json_dumps failed on a reply");
    reply_text(srv, req, code, "application/json", body, strlen(body));
    free(body);
}

void http_reply_error(HttpServer *srv, struct evhttp_request *req, const ApiError *e) {
    http_reply_json(srv, req, e->status, api_error_json(e));
}

/* ---- routes ------------------------------------------------------------------- */

static void handle_models(HttpServer *srv, struct evhttp_request *req) {
    http_reply_json(srv, req, 200, api_models_json(srv->be->api.model, srv->created));
}

static void handle_health(HttpServer *srv, struct evhttp_request *req) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(srv->draining ? "shutting down" : "ok"));
    http_reply_json(srv, req, srv->draining ? 503 : 200, o);
}

/* The scheduler's and the pool's gauges now (not while stepping). */
static MetricsGauges server_gauges(const HttpServer *srv) {
    LLM_ASSERT(!srv->stepping);
    SchedStats st = sched_stats(srv->be->sched);
    KvStats kv = kv_cache_stats(srv->be->kv);
    return (MetricsGauges){.sequences_waiting = st.waiting, .sequences_running = st.running,
                           .kv_blocks_used = kv.n_used, .kv_blocks_total = kv.n_blocks};
}

static void handle_metrics(HttpServer *srv, struct evhttp_request *req) {
    MetricsGauges g = srv->stepping ? srv->gauges : server_gauges(srv); /* the step's own */
    g.requests_waiting = srv->n_queued;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) LLM_BUG("open_memstream: %s", strerror(errno));
    metrics_write(&srv->metrics, &g, f);
    fclose(f);
    reply_text(srv, req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static void handle_completions(HttpServer *srv, struct evhttp_request *req) {
    http_handle_completion(srv, req, API_KIND_COMPLETION);
}

static void handle_chat(HttpServer *srv, struct evhttp_request *req) {
    http_handle_completion(srv, req, API_KIND_CHAT);
}

typedef void (*HttpHandler)(HttpServer *srv, struct evhttp_request *req);

static const struct {
    const char *path;
    enum evhttp_cmd_type method;
    const char *allow; /* the Allow header of a 405 */
    int needs_key;     /* 1: the API key applies */
    HttpHandler fn;
} HTTP_ROUTES[] = {
    {"/v1/completions", EVHTTP_REQ_POST, "POST", 1, handle_completions},
    {"/v1/chat/completions", EVHTTP_REQ_POST, "POST", 1, handle_chat},
    {"/v1/models", EVHTTP_REQ_GET, "GET", 1, handle_models},
    {"/health", EVHTTP_REQ_GET, "GET", 0, handle_health},
    {"/metrics", EVHTTP_REQ_GET, "GET", 0, handle_metrics},
};

static void reply_status(HttpServer *srv, struct evhttp_request *req, int code, const char *type,
                         const char *err_code, const char *msg) {
    ApiError e;
    api_error_set(&e, code, type, err_code, NULL, "%s", msg);
    http_reply_error(srv, req, &e);
}

/* Auth, draining and method checks of a known route; 1 when it may run. */
static int route_allowed(HttpServer *srv, struct evhttp_request *req, int i) {
    if (HTTP_ROUTES[i].needs_key && srv->cfg->api_key != NULL) {
        const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        if (!http_auth_ok(auth, srv->cfg->api_key)) {
            reply_status(srv, req, 401, "invalid_request_error", "invalid_api_key",
                         auth ? "Incorrect API key provided (Authorization: Bearer KEY)"
                              : "Missing API key: send the header Authorization: Bearer KEY");
            return 0;
        }
    }
    if (evhttp_request_get_command(req) != HTTP_ROUTES[i].method) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", HTTP_ROUTES[i].allow);
        char msg[128];
        snprintf(msg, sizeof msg, "method not allowed: %s takes %s", HTTP_ROUTES[i].path,
                 HTTP_ROUTES[i].allow);
        reply_status(srv, req, 405, "invalid_request_error", "method_not_allowed", msg);
        return 0;
    }
    if (srv->draining && HTTP_ROUTES[i].fn != handle_health && HTTP_ROUTES[i].fn != handle_metrics) {
        reply_status(srv, req, 503, "server_error", "server_shutting_down",
                     "the server is shutting down");
        return 0;
    }
    return 1;
}

static void on_request(struct evhttp_request *req, void *arg) {
    HttpServer *srv = arg;
    /* on every request's socket: evhttp gives no hook per accepted
     * connection before its first request (http_socket.h: why) */
    http_conn_nodelay(evhttp_request_get_connection(req));
    const char *uri = evhttp_request_get_uri(req);
    size_t body = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    if (body > srv->cfg->max_body) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body of %zu bytes is over the limit of %zu bytes", body,
                 srv->cfg->max_body);
        reply_status(srv, req, 413, "invalid_request_error", "request_too_large", msg);
        return;
    }
    size_t path_len = strcspn(uri, "?#");
    for (size_t i = 0; i < sizeof HTTP_ROUTES / sizeof HTTP_ROUTES[0]; i++) {
        if (strlen(HTTP_ROUTES[i].path) != path_len || strncmp(uri, HTTP_ROUTES[i].path, path_len) != 0)
            continue;
        if (route_allowed(srv, req, (int)i)) HTTP_ROUTES[i].fn(srv, req);
        return;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "no such endpoint: %.*s (POST /v1/completions, POST "
             "/v1/chat/completions, GET /v1/models, /health, /metrics)", (int)(path_len > 200 ? 200 : path_len), uri);
    reply_status(srv, req, 404, "invalid_request_error", "not_found", msg);
}

/* ---- signals and shutdown -------------------------------------------------------- */

static void arm_wake(HttpServer *srv, double at) {
    double dt = at - http_now();
    if (dt < 0) dt = 0;
    struct timeval tv = {.tv_sec = (time_t)dt, .tv_usec = (suseconds_t)((dt - (double)(time_t)dt) * 1e6)};
    evtimer_add(srv->wake, &tv);
}

static void on_wake(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg; /* only wakes the loop; it checks the deadlines */
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    HttpServer *srv = arg;
    if (srv->draining) {
        srv->deadline = http_now(); /* a second signal: cancel now */
        return;
    }
    srv->draining = 1;
    srv->deadline = http_now() + srv->cfg->shutdown_grace_s;
    if (srv->bound != NULL) evhttp_del_accept_socket(srv->http, srv->bound);
    srv->bound = NULL;
    fprintf(srv->log, "serve: %s: shutting down, %d requests in flight (up to %g s)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", srv->n_running + srv->n_queued,
            srv->cfg->shutdown_grace_s);
    fflush(srv->log);
    arm_wake(srv, srv->deadline);
}

/* ---- lifecycle ------------------------------------------------------------------ */

/* The worker's pipe became readable: the step may have ended. */
static void on_step_end(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    HttpServer *srv = arg;
    if (step_worker_collect(srv->worker, &srv->step_rc, &srv->step_err)) srv->step_ended = 1;
}

static int start_worker(HttpServer *srv, LlmError *err) {
    if (step_worker_start(srv->be->sched, &srv->worker, err) != LLM_OK) return LLM_ERR;
    srv->step_end = event_new(srv->base, step_worker_fd(srv->worker), EV_READ | EV_PERSIST,
                              on_step_end, srv);
    if (srv->step_end == NULL || event_add(srv->step_end, NULL) != 0)
        return llm_errorf(err, "serve: cannot watch the step thread's pipe");
    return LLM_OK;
}

static int bind_listener(HttpServer *srv, LlmError *err) {
    srv->bound = evhttp_bind_socket_with_handle(srv->http, srv->cfg->host, (ev_uint16_t)srv->cfg->port);
    if (srv->bound == NULL)
        return llm_errorf(err, "serve: cannot listen on %s:%d (%s)", srv->cfg->host, srv->cfg->port,
                          errno ? strerror(errno) : "bad address");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int port = srv->cfg->port;
    if (getsockname(evhttp_bound_socket_get_fd(srv->bound), (struct sockaddr *)&ss, &sl) == 0)
        port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    int v6 = strchr(srv->cfg->host, ':') != NULL;
    fprintf(srv->log, "serve: model %s listening on http://%s%s%s:%d\n", srv->be->api.model,
            v6 ? "[" : "", srv->cfg->host, v6 ? "]" : "", port);
    fflush(srv->log);
    return LLM_OK;
}

static int server_open(HttpServer *srv, const HttpConfig *cfg, const HttpBackend *be, FILE *log,
                       LlmError *err) {
    memset(srv, 0, sizeof *srv);
    srv->cfg = cfg;
    srv->be = be;
    srv->log = log;
    srv->created = (long long)time(NULL);
    srv->salt = (uint64_t)srv->created * 1000003u ^ (uint64_t)(http_now() * 1e9);
    metrics_init(&srv->metrics);
    srv->base = event_base_new();
    srv->http = srv->base ? evhttp_new(srv->base) : NULL;
    srv->scratch = evbuffer_new();
    if (srv->http == NULL || srv->scratch == NULL) return llm_errorf(err, "serve: libevent setup failed");
    /* evhttp reads bodies up to 16 x the limit, so that on_request can answer
     * one over the limit with an OpenAI error object; past that evhttp stops
     * reading and answers 413 itself (its own HTML body: libevent 2.1 has no
     * hook for that reply), which bounds what one request can make us hold. */
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body * HTTP_BODY_HARD_FACTOR);
    evhttp_set_allowed_methods(srv->http, 0x1FF); /* all: wrong methods get our 405 */
    evhttp_set_gencb(srv->http, on_request, srv);
    srv->sig_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->sig_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->wake = evtimer_new(srv->base, on_wake, srv);
    if (srv->sig_int == NULL || srv->sig_term == NULL || srv->wake == NULL ||
        evsignal_add(srv->sig_int, NULL) != 0 || evsignal_add(srv->sig_term, NULL) != 0)
        return llm_errorf(err, "serve: cannot install the SIGINT/SIGTERM handlers");
    signal(SIGPIPE, SIG_IGN); /* a client that left must not kill the server */
    if (start_worker(srv, err) != LLM_OK) return LLM_ERR;
    sched_set_callback(be->sched, http_on_sched_event, srv);
    return bind_listener(srv, err);
}

static void server_close(HttpServer *srv) {
    http_drop_all(srv);
    sched_set_callback(srv->be->sched, NULL, NULL);
    if (srv->step_end != NULL) event_free(srv->step_end);
    step_worker_stop(srv->worker);
    if (srv->http != NULL) evhttp_free(srv->http);
    if (srv->sig_int != NULL) event_free(srv->sig_int);
    if (srv->sig_term != NULL) event_free(srv->sig_term);
    if (srv->wake != NULL) event_free(srv->wake);
    if (srv->scratch != NULL) evbuffer_free(srv->scratch);
    if (srv->base != NULL) event_base_free(srv->base);
    signal(SIGPIPE, SIG_DFL);
}

/* Draining: cancel at the deadline; once nothing is left, give the last
 * replies until flush_by to be written. 1 when the loop may end. */
static int server_drained(HttpServer *srv) {
    double now = http_now();
    if (srv->head != NULL && now >= srv->deadline) http_cancel_all(srv);
    if (srv->head != NULL) return 0;
    if (srv->flush_by == 0) {
        srv->flush_by = now + 1.0;
        arm_wake(srv, srv->flush_by);
    }
    return srv->replies_sending <= 0 || now >= srv->flush_by;
}

/* An engine failure: every request is answered 500 and the server stops. */
static void server_fail(HttpServer *srv, const LlmError *err) {
    srv->failure = *err;
    fprintf(srv->log, "serve: error: %s\n", err->msg);
    if (!srv->draining && srv->bound != NULL) evhttp_del_accept_socket(srv->http, srv->bound);
    srv->bound = NULL;
    srv->draining = 1;
    srv->deadline = http_now();
}

static void loop_once(HttpServer *srv, int flags) {
    if (event_base_loop(srv->base, flags) < 0) LLM_BUG("event_base_loop failed");
}

/* The step sched_step_begin planned: the worker runs the engine while
 * this thread renders the last step's stream events and serves the
 * sockets; then the step's results (callbacks) or its failure. */
static void server_step(HttpServer *srv) {
    srv->gauges = server_gauges(srv); /* /metrics while the step runs */
    srv->stepping = 1;
    srv->step_ended = 0;
    step_worker_kick(srv->worker);
    http_render_pending(srv);
    while (!srv->step_ended) loop_once(srv, EVLOOP_ONCE);
    srv->stepping = 0;
    if (srv->step_rc != LLM_OK) server_fail(srv, &srv->step_err);
    else sched_step_end(srv->be->sched);
}

static void server_run(HttpServer *srv) {
    Sched *sched = srv->be->sched;
    for (;;) {
        http_settle(srv);
        if (sched_busy(sched) && srv->failure.msg[0] == '\0' && sched_step_begin(sched)) {
            server_step(srv);
        } else {
            http_render_pending(srv);
            int work = sched_busy(sched) || srv->n_gone > 0 || srv->n_done > 0;
            loop_once(srv, work ? EVLOOP_NONBLOCK : EVLOOP_ONCE);
        }
        if (srv->draining && server_drained(srv)) return;
    }
}

int http_serve(const HttpConfig *cfg, const HttpBackend *be, FILE *log, LlmError *err) {
    HttpServer srv;
    int rc = server_open(&srv, cfg, be, log, err);
    if (rc == LLM_OK) {
        server_run(&srv);
        if (srv.failure.msg[0] != '\0') rc = llm_errorf(err, "%s", srv.failure.msg);
        else fprintf(log, "serve: stopped\n");
    }
    server_close(&srv);
    return rc;
}
