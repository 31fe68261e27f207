/* bench_client.c - streamed requests over libevent's evhttp client (see
 * bench_client.h).
 *
 * Flow: a timer releases arrivals; start_ready sends arrived requests
 * while slots are free; evhttp calls back with the headers (status,
 * content type), each piece of body (fed to the request's BenchStream, or
 * kept as the error body), errors and the end. A request that must stop
 * early (malformed stream, wrong content type) is cancelled from a
 * zero-delay event, outside evhttp's own callbacks. Invariants: a request
 * is RUNNING exactly while it holds a connection (Flight.conn) and an
 * evhttp request (Flight.req); finish() is the one place it stops running.
 */
#include "http/bench_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "http/http_socket.h"

#define BENCH_ERROR_BODY_MAX 65536 /* bytes kept of an error response */

typedef struct Client Client;

typedef struct Flight {
    Client *c;
    int index;                    /* into Client.reqs */
    struct evhttp_request *req;   /* while RUNNING */
    struct evhttp_connection *conn; /* while RUNNING */
    int status;                   /* HTTP status, 0 before the headers */
    int stopping;                 /* an error was recorded; ignore the rest */
    int ev_error;                 /* enum evhttp_request_error + 1, 0 = none */
    char *body;                   /* error body [body_len] */
    size_t body_len;
} Flight;

struct Client {
    const BenchTarget *t;
    struct event_base *base;
    struct event *timer;
    BenchRequest *reqs;
    Flight *fl;                      /* [n] */
    int n, max_in_flight;
    int n_arrived, next_start, running, finished;
    int starting;                    /* inside start_ready: do not recurse */
    struct evhttp_connection **idle; /* [n_idle] connections free for a request */
    struct evhttp_connection **all;  /* [n_conns] every connection made */
    int n_idle, n_conns;
    double t0;
};

double bench_client_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- connections --------------------------------------------------------- */

static struct evhttp_connection *conn_take(Client *c) {
    if (c->n_idle > 0) return c->idle[--c->n_idle];
    struct evhttp_connection *e =
        evhttp_connection_base_new(c->base, NULL, c->t->url.host, (unsigned short)c->t->url.port);
    if (e == NULL) LLM_BUG("evhttp_connection_base_new failed"); /* allocation only */
    evhttp_connection_set_timeout(e, c->t->timeout_s);
    c->all[c->n_conns++] = e;
    return e;
}

static void conn_give(Client *c, struct evhttp_connection *e) { c->idle[c->n_idle++] = e; }

/* ---- finishing ------------------------------------------------------------ */

static void start_ready(Client *c);

static void finish(Flight *f, BenchRequestState state) {
    Client *c = f->c;
    BenchRequest *r = &c->reqs[f->index];
    LLM_ASSERT(r->state == BENCH_REQUEST_RUNNING);
    r->state = state;
    r->t_end = bench_client_now();
    conn_give(c, f->conn);
    f->conn = NULL;
    f->req = NULL;
    free(f->body);
    f->body = NULL;
    c->running--;
    c->finished++;
    if (c->finished == c->n) event_base_loopbreak(c->base);
    else start_ready(c);
}

static void fail(Flight *f, BenchRequestState *st) {
    f->stopping = 1;
    *st = BENCH_REQUEST_FAILED;
}

static void cancel_cb(evutil_socket_t fd, short what, void *arg) {
    Flight *f = arg;
    (void)fd;
    (void)what;
    if (f->req == NULL) return; /* it ended on its own meanwhile */
    evhttp_cancel_request(f->req);
    finish(f, BENCH_REQUEST_FAILED);
}

/* Records a failure of a running request and cancels it soon. */
static void stop_early(Flight *f) {
    if (f->stopping) return;
    f->stopping = 1;
    struct timeval now = {0, 0};
    if (event_base_once(f->c->base, -1, EV_TIMEOUT, cancel_cb, f, &now) != 0)
        LLM_BUG("event_base_once failed");
}

/* ---- evhttp callbacks ----------------------------------------------------- */

static int on_headers(struct evhttp_request *req, void *arg) {
    Flight *f = arg;
    BenchRequest *r = &f->c->reqs[f->index];
    f->status = evhttp_request_get_response_code(req);
    if (f->status != 200) return 0;
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (ct == NULL || strncmp(ct, "text/event-stream", 17) != 0) {
        llm_errorf(&r->error, "HTTP 200 with Content-Type %s, expected text/event-stream (a server "
                   "that does not stream?)", ct ? ct : "(none)");
        stop_early(f);
    }
    return 0;
}

static void take_body(Flight *f, struct evbuffer *buf) {
    BenchRequest *r = &f->c->reqs[f->index];
    size_t n = evbuffer_get_length(buf);
    if (n == 0 || f->stopping) return;
    const char *data = (const char *)evbuffer_pullup(buf, -1);
    if (f->status == 200) {
        if (bench_stream_feed(&r->stream, data, n, bench_client_now(), &r->error) != LLM_OK)
            stop_early(f);
        return;
    }
    size_t k = f->body_len + n > BENCH_ERROR_BODY_MAX ? BENCH_ERROR_BODY_MAX - f->body_len : n;
    f->body = llm_xrealloc(f->body, f->body_len + k + 1);
    memcpy(f->body + f->body_len, data, k);
    f->body_len += k;
}

static void on_chunk(struct evhttp_request *req, void *arg) {
    take_body(arg, evhttp_request_get_input_buffer(req));
}

static void on_error(enum evhttp_request_error e, void *arg) {
    Flight *f = arg;
    f->ev_error = (int)e + 1;
}

static void transport_error(Flight *f, LlmError *err) {
    const BenchTarget *t = f->c->t;
    switch (f->ev_error - 1) {
    case EVREQ_HTTP_TIMEOUT:
        llm_errorf(err, "timed out: no data from the server for %d s (--timeout)", t->timeout_s);
        break;
    case EVREQ_HTTP_EOF:
        llm_errorf(err, "the server closed the connection before the response ended");
        break;
    case EVREQ_HTTP_INVALID_HEADER: llm_errorf(err, "invalid HTTP response header"); break;
    case EVREQ_HTTP_DATA_TOO_LONG:
        llm_errorf(err, "invalid chunked encoding in the response");
        break;
    default:
        llm_errorf(err, "connection to %s:%d failed (%s)", t->url.host, t->url.port,
                   f->ev_error ? "socket error" : "no response");
        break;
    }
}

static void on_done(struct evhttp_request *req, void *arg) {
    Flight *f = arg;
    BenchRequest *r = &f->c->reqs[f->index];
    BenchRequestState st = BENCH_REQUEST_OK;
    if (f->stopping) {
        st = BENCH_REQUEST_FAILED; /* the message is already in r->error */
    } else if (req == NULL) {
        transport_error(f, &r->error);
        fail(f, &st);
    } else if (evhttp_request_get_response_code(req) == 0) {
        llm_errorf(&r->error, "could not connect to %s:%d", f->c->t->url.host, f->c->t->url.port);
        fail(f, &st);
    } else {
        take_body(f, evhttp_request_get_input_buffer(req));
        if (f->stopping) st = BENCH_REQUEST_FAILED;
        else if (f->status != 200) {
            bench_error_body(f->status, f->body ? f->body : "", f->body_len, &r->error);
            fail(f, &st);
        } else if (bench_stream_finish(&r->stream, &r->error) != LLM_OK) {
            fail(f, &st);
        }
    }
    finish(f, st);
}

/* ---- sending -------------------------------------------------------------- */

static char *request_body(const BenchTarget *t, const BenchRequest *r) {
    json_t *j = json_pack("{s:i,s:i,s:b,s:{s:b},s:b}", "max_tokens", r->max_tokens, "temperature",
                          0, "stream", 1, "stream_options", "include_usage", 1, "ignore_eos", 1);
    if (t->endpoint == BENCH_ENDPOINT_CHAT)
        json_object_set_new(j, "messages",
                            json_pack("[{s:s,s:s}]", "role", "user", "content", r->prompt));
    else
        json_object_set_new(j, "prompt", json_string(r->prompt));
    if (t->model != NULL) json_object_set_new(j, "model", json_string(t->model));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (s == NULL) LLM_BUG("json_dumps failed");
    return s;
}

static void add_headers(const BenchTarget *t, struct evhttp_request *req) {
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char buf[HTTP_URL_HOST_MAX + 600];
    int v6 = strchr(t->url.host, ':') != NULL;
    snprintf(buf, sizeof buf, "%s%s%s:%d", v6 ? "[" : "", t->url.host, v6 ? "]" : "", t->url.port);
    evhttp_add_header(h, "Host", buf);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Accept", "text/event-stream");
    if (t->api_key != NULL) {
        snprintf(buf, sizeof buf, "Bearer %s", t->api_key);
        evhttp_add_header(h, "Authorization", buf);
    }
}

static void start_one(Client *c, Flight *f) {
    BenchRequest *r = &c->reqs[f->index];
    char *body = request_body(c->t, r);
    struct evhttp_request *req = evhttp_request_new(on_done, f);
    if (req == NULL) LLM_BUG("evhttp_request_new failed");
    evhttp_request_set_header_cb(req, on_headers);
    evhttp_request_set_chunked_cb(req, on_chunk);
    evhttp_request_set_error_cb(req, on_error);
    add_headers(c->t, req);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    free(body);
    f->conn = conn_take(c);
    f->req = req;
    r->state = BENCH_REQUEST_RUNNING;
    c->running++;
    bench_stream_init(&r->stream, c->t->endpoint, bench_client_now());
    if (evhttp_make_request(f->conn, req, EVHTTP_REQ_POST, c->t->path) != 0) {
        /* no socket (too many open files?); nothing was called back, the
         * request is still ours */
        int e = errno;
        evhttp_request_free(req);
        llm_errorf(&r->error, "cannot open a connection to %s:%d: %s", c->t->url.host,
                   c->t->url.port, strerror(e));
        f->stopping = 1;
        finish(f, BENCH_REQUEST_FAILED);
        return;
    }
    /* evhttp has the socket once the request is made (it connects at once
     * without a DNS base), so each request sets it */
    http_conn_nodelay(f->conn);
}

static void start_ready(Client *c) {
    if (c->starting) return; /* the loop below is already running */
    c->starting = 1;
    while (c->next_start < c->n_arrived &&
           (c->max_in_flight == 0 || c->running < c->max_in_flight))
        start_one(c, &c->fl[c->next_start++]);
    c->starting = 0;
}

/* Releases every arrival due by now and arms the timer for the next. */
static void on_timer(evutil_socket_t fd, short what, void *arg) {
    Client *c = arg;
    (void)fd;
    (void)what;
    double elapsed = bench_client_now() - c->t0;
    while (c->n_arrived < c->n && c->reqs[c->n_arrived].arrival <= elapsed) c->n_arrived++;
    if (c->n_arrived < c->n) {
        double wait = c->reqs[c->n_arrived].arrival - elapsed;
        struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
        evtimer_add(c->timer, &tv);
    }
    start_ready(c);
}

static void client_free(Client *c) {
    for (int i = 0; i < c->n_conns; i++) evhttp_connection_free(c->all[i]);
    if (c->timer != NULL) event_free(c->timer);
    if (c->base != NULL) event_base_free(c->base);
    for (int i = 0; i < c->n; i++) free(c->fl[i].body);
    free(c->fl);
    free(c->idle);
    free(c->all);
}

int bench_client_run(const BenchTarget *t, BenchRequest *reqs, int n, int max_in_flight,
                     double *t_start, LlmError *err) {
    Client c = {.t = t, .reqs = reqs, .n = n, .max_in_flight = max_in_flight};
    c.base = event_base_new();
    c.timer = c.base != NULL ? evtimer_new(c.base, on_timer, &c) : NULL;
    if (c.timer == NULL) {
        client_free(&c);
        return llm_errorf(err, "bench: cannot create the event loop");
    }
    c.fl = llm_xcalloc((size_t)n, sizeof(Flight));
    c.idle = llm_xcalloc((size_t)n, sizeof *c.idle);
    c.all = llm_xcalloc((size_t)n, sizeof *c.all);
    for (int i = 0; i < n; i++) {
        c.fl[i] = (Flight){.c = &c, .index = i};
        reqs[i].state = BENCH_REQUEST_WAITING;
    }
    c.t0 = *t_start = bench_client_now();
    on_timer(-1, 0, &c);
    int rc = c.finished < c.n ? event_base_dispatch(c.base) : 0;
    client_free(&c);
    if (rc < 0) return llm_errorf(err, "bench: the event loop failed");
    return LLM_OK;
}

void bench_client_free_requests(BenchRequest *reqs, int n) {
    for (int i = 0; i < n; i++) bench_stream_free(&reqs[i].stream);
}

/* ---- probe ---------------------------------------------------------------- */

/* Connects s to a within timeout_ms; returns 0 or an errno value. */
static int connect_within(int s, const struct addrinfo *a, int timeout_ms) {
    fcntl(s, F_SETFL, fcntl(s, F_GETFL, 0) | O_NONBLOCK);
    if (connect(s, a->ai_addr, a->ai_addrlen) == 0) return 0;
    if (errno != EINPROGRESS) return errno;
    struct pollfd p = {.fd = s, .events = POLLOUT};
    int k = poll(&p, 1, timeout_ms);
    if (k == 0) return ETIMEDOUT;
    if (k < 0) return errno;
    int e = 0;
    socklen_t len = sizeof e;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &len) != 0) return errno;
    return e;
}

int bench_client_probe(const BenchTarget *t, LlmError *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", t->url.port);
    int g = getaddrinfo(t->url.host, port, &hints, &res);
    if (g != 0) return llm_errorf(err, "--url: cannot resolve host '%s': %s", t->url.host, gai_strerror(g));
    int e = EHOSTUNREACH;
    for (const struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (s < 0) {
            e = errno;
            continue;
        }
        e = connect_within(s, a, t->timeout_s * 1000);
        close(s);
        if (e == 0) break;
    }
    freeaddrinfo(res);
    if (e != 0)
        return llm_errorf(err, "cannot connect to %s:%d: %s", t->url.host, t->url.port, strerror(e));
    return LLM_OK;
}
