/* cmd_bench_http.c - `bench --url http://HOST:PORT ...`: a load generator
 * against a running OpenAI-compatible server, over HTTP with streaming.
 *
 * Plan (http/bench_plan.h): --requests R (default 4 x C) with prompt and
 * output lengths --input-len / --output-len, fixed or uniform within
 * --input-len-range / --output-len-range; arrivals all at once with
 * --concurrency C requests in flight (default 1), or Poisson at
 * --request-rate with --concurrency as an optional cap; --seed (default 0)
 * fixes lengths, arrivals and prompts. Prompts are text made with the
 * model's own tokenizer to re-encode to the planned length
 * (http/bench_prompt.h); each request asks for max_tokens = its output
 * length, temperature 0, ignore_eos, stream with include_usage. One
 * warm-up request (at most 4 tokens) runs first and is not counted; when
 * it fails the bench stops there with its error.
 *
 * Reported, the same way as the in-process bench (cli/bench_stats.h):
 * requests/s and tokens/s over the load, TTFT, inter-token and end-to-end
 * latency (http/bench_stream.h defines them over the stream), plus
 * completed and failed requests, the success rate and the first error.
 * Input tokens are the server's usage.prompt_tokens, output tokens its
 * usage.completion_tokens (else the streamed text re-tokenized). Exit
 * status: an error when every request failed; partial failures are
 * reported, not fatal.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/bench_stats.h"
#include "cli/commands.h"
#include "http/bench_client.h"
#include "http/bench_plan.h"
#include "http/bench_prompt.h"

enum { HTTP_WARMUP_TOKENS = 4, HTTP_ERRORS_IN_JSON = 100 };

typedef struct HttpLoad {
    const CliArgs *a;
    const Tokenizer *tok;  /* not owned */
    BenchTarget t;
    BenchPlanConfig cfg;
    BenchPlan plan;
    int max_in_flight;     /* 0 = no cap */
    char **prompts;        /* [plan.n] */
    BenchRequest *reqs;    /* [plan.n] */
    double t_start;
} HttpLoad;

/* What the load's requests gave, gathered after the run. */
typedef struct HttpResult {
    BenchMetrics m;
    int first_failed;      /* index of the earliest failure, -1 if none */
    long long short_outputs; /* completed with fewer tokens than asked */
} HttpResult;

static int target_from_args(const CliArgs *a, BenchTarget *t, LlmError *err) {
    memset(t, 0, sizeof *t);
    if (http_url_parse(a->url, &t->url, err) != LLM_OK) return LLM_ERR;
    int chat = a->endpoint != NULL && strcmp(a->endpoint, "chat") == 0;
    t->endpoint = chat ? BENCH_ENDPOINT_CHAT : BENCH_ENDPOINT_COMPLETIONS;
    http_url_endpoint(&t->url, chat ? "chat/completions" : "completions", t->path, sizeof t->path);
    t->api_key = a->api_key;
    t->model = a->model;
    t->timeout_s = a->timeout_s;
    return LLM_OK;
}

static void load_config(HttpLoad *l) {
    const CliArgs *a = l->a;
    l->cfg = (BenchPlanConfig){
        .requests = a->has_requests ? a->requests : 4 * a->concurrency,
        .input_len = a->input_len, .input_range = a->input_len_range,
        .output_len = a->output_len, .output_range = a->output_len_range,
        .request_rate = a->has_request_rate ? a->request_rate : 0.0,
        .seed = a->has_seed ? a->seed : 0};
    l->max_in_flight = a->has_request_rate && !a->has_concurrency ? 0 : a->concurrency;
}

/* Prompts of the planned lengths; reqs point at them. */
static int make_prompts(HttpLoad *l, const BenchPrompter *p, LlmError *err) {
    int n = l->plan.n;
    l->prompts = llm_xcalloc((size_t)n, sizeof(char *));
    l->reqs = llm_xcalloc((size_t)n, sizeof(BenchRequest));
    for (int i = 0; i < n; i++) {
        int got = 0;
        if (bench_prompt_make(p, l->cfg.seed, i, l->plan.input_len[i], &l->prompts[i], &got, err) != LLM_OK)
            return LLM_ERR;
        l->reqs[i] = (BenchRequest){.prompt = l->prompts[i], .max_tokens = l->plan.output_len[i],
                                    .arrival = l->plan.arrival[i]};
    }
    return LLM_OK;
}

/* One request alone, not counted; its failure ends the bench. */
static int warm_up(HttpLoad *l, const BenchPrompter *p, LlmError *err) {
    char *prompt = NULL;
    int got = 0;
    if (bench_prompt_make(p, l->cfg.seed, l->plan.n, l->cfg.input_len, &prompt, &got, err) != LLM_OK)
        return LLM_ERR;
    int k = l->cfg.output_len < HTTP_WARMUP_TOKENS ? l->cfg.output_len : HTTP_WARMUP_TOKENS;
    BenchRequest r = {.prompt = prompt, .max_tokens = k};
    double t0 = 0.0;
    int rc = bench_client_run(&l->t, &r, 1, 1, &t0, err);
    if (rc == LLM_OK && r.state != BENCH_REQUEST_OK)
        rc = llm_errorf(err, "bench: the warm-up request to %s:%d%s failed: %s", l->t.url.host,
                        l->t.url.port, l->t.path, r.error.msg);
    bench_client_free_requests(&r, 1);
    free(prompt);
    return rc;
}

/* Output tokens of a completed request: the server's count, else its
 * text re-tokenized (no BOS). */
static long long output_tokens(const HttpLoad *l, const BenchRequest *r) {
    if (r->stream.completion_tokens >= 0) return r->stream.completion_tokens;
    int32_t *ids = NULL;
    int n = 0;
    LlmError e;
    if (tok_encode(l->tok, r->stream.text, r->stream.text_len, 0, &ids, &n, &e) != LLM_OK)
        return r->stream.tokens;
    free(ids);
    return n;
}

static void gather(const HttpLoad *l, HttpResult *res) {
    int n = l->plan.n;
    double *ttft = llm_xcalloc((size_t)n, sizeof(double)), *e2e = llm_xcalloc((size_t)n, sizeof(double));
    long long n_itl = 0, k = 0;
    for (int i = 0; i < n; i++) n_itl += l->reqs[i].stream.n_itl;
    double *itl = llm_xcalloc((size_t)n_itl + 1, sizeof(double)), end = l->t_start;
    memset(res, 0, sizeof *res);
    res->first_failed = -1;
    n_itl = 0;
    for (int i = 0; i < n; i++) {
        const BenchRequest *r = &l->reqs[i];
        end = r->t_end > end ? r->t_end : end;
        if (r->state != BENCH_REQUEST_OK) {
            if (res->first_failed < 0 || r->t_end < l->reqs[res->first_failed].t_end) res->first_failed = i;
            res->m.failed++;
            continue;
        }
        const BenchStream *s = &r->stream;
        ttft[k] = s->t_first - s->t_sent;
        e2e[k++] = r->t_end - s->t_sent;
        memcpy(itl + n_itl, s->itl, (size_t)s->n_itl * sizeof(double));
        n_itl += s->n_itl;
        long long out = output_tokens(l, r);
        res->short_outputs += out < r->max_tokens;
        res->m.output_tokens += out;
        res->m.input_tokens += s->prompt_tokens >= 0 ? s->prompt_tokens : l->plan.input_len[i];
    }
    res->m.completed = k;
    res->m.seconds = end - l->t_start > 0 ? end - l->t_start : 1e-9;
    res->m.ttft = bench_summarize(ttft, k);
    res->m.itl = bench_summarize(itl, n_itl);
    res->m.e2e = bench_summarize(e2e, k);
    free(ttft);
    free(e2e);
    free(itl);
}

static void print_load(const HttpLoad *l, FILE *out) {
    const BenchPlanConfig *c = &l->cfg;
    fprintf(out, "server                 http://%s:%d%s (streamed)\n", l->t.url.host, l->t.url.port,
            l->t.path);
    fprintf(out, "serving load           %d requests, ", c->requests);
    if (c->request_rate > 0 && l->max_in_flight > 0)
        fprintf(out, "Poisson arrivals at %.3f requests/s, at most %d in flight", c->request_rate,
                l->max_in_flight);
    else if (c->request_rate > 0)
        fprintf(out, "Poisson arrivals at %.3f requests/s", c->request_rate);
    else
        fprintf(out, "concurrency %d", l->max_in_flight);
    fprintf(out, ", input %d / output %d tokens", c->input_len, c->output_len);
    if (c->input_range > 0 || c->output_range > 0)
        fprintf(out, " (+-%.0f%% / +-%.0f%%)", 100 * c->input_range, 100 * c->output_range);
    fprintf(out, ", greedy, EOS ignored, seed %llu\n", (unsigned long long)c->seed);
}

static void print_report(const HttpLoad *l, const HttpResult *res, FILE *out) {
    const BenchMetrics *m = &res->m;
    print_load(l, out);
    bench_print_metrics(out, m);
    if (res->first_failed >= 0)
        fprintf(out, "first error            request %d: %s\n", res->first_failed,
                l->reqs[res->first_failed].error.msg);
    double k = m->completed > 0 ? (double)m->completed : 1.0;
    fprintf(out, "input tokens           %.1f per request (as the server counted them)\n",
            (double)m->input_tokens / k);
    fprintf(out, "output tokens          %.1f per request", (double)m->output_tokens / k);
    if (res->short_outputs > 0)
        fprintf(out, "; %lld requests ended before max_tokens (EOS not ignored?)", res->short_outputs);
    fprintf(out, "\n");
}

static json_t *errors_json(const HttpLoad *l) {
    json_t *arr = json_array();
    for (int i = 0; i < l->plan.n && json_array_size(arr) < HTTP_ERRORS_IN_JSON; i++)
        if (l->reqs[i].state != BENCH_REQUEST_OK)
            json_array_append_new(arr, json_pack("{s:i,s:s}", "request", i, "error",
                                                 l->reqs[i].error.msg));
    return arr;
}

static int write_json(const HttpLoad *l, const HttpResult *res, const char *path, LlmError *err) {
    const BenchPlanConfig *c = &l->cfg;
    const BenchMetrics *m = &res->m;
    char url[HTTP_URL_HOST_MAX + HTTP_URL_PATH_MAX + 64];
    snprintf(url, sizeof url, "http://%s:%d%s", l->t.url.host, l->t.url.port, l->t.path);
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:I,s:i,s:i,s:f,s:f}", "mode", "http", "url",
                          url, "endpoint", l->t.endpoint == BENCH_ENDPOINT_CHAT ? "chat" : "completions",
                          "requests", c->requests, "concurrency",
                          l->max_in_flight > 0 ? json_integer(l->max_in_flight) : json_null(),
                          "request_rate", c->request_rate > 0 ? json_real(c->request_rate) : json_null(),
                          "seed", (json_int_t)c->seed, "input_len", c->input_len, "output_len",
                          c->output_len, "input_len_range", c->input_range, "output_len_range",
                          c->output_range);
    bench_metrics_to_json(j, m);
    double k = m->completed > 0 ? (double)m->completed : 1.0;
    json_object_set_new(j, "success_rate", json_real((double)m->completed / (double)c->requests));
    json_object_set_new(j, "first_error", res->first_failed >= 0
                                              ? json_string(l->reqs[res->first_failed].error.msg)
                                              : json_null());
    json_object_set_new(j, "errors", errors_json(l));
    json_object_set_new(j, "mean_input_tokens", json_real((double)m->input_tokens / k));
    json_object_set_new(j, "mean_output_tokens", json_real((double)m->output_tokens / k));
    json_object_set_new(j, "short_outputs", json_integer(res->short_outputs));
    int rc = bench_write_json(j, path, err);
    json_decref(j);
    return rc;
}

/* Runs the planned load and reports it. */
static int run_and_report(HttpLoad *l, FILE *out, LlmError *err) {
    if (bench_client_run(&l->t, l->reqs, l->plan.n, l->max_in_flight, &l->t_start, err) != LLM_OK)
        return LLM_ERR;
    HttpResult res;
    gather(l, &res);
    print_report(l, &res, out);
    if (l->a->bench_json != NULL && write_json(l, &res, l->a->bench_json, err) != LLM_OK)
        return LLM_ERR;
    if (res.m.completed == 0)
        return llm_errorf(err, "bench: all %d requests failed; the first: %s", l->plan.n,
                          l->reqs[res.first_failed].error.msg);
    return LLM_OK;
}

static void load_free(HttpLoad *l) {
    if (l->reqs != NULL) bench_client_free_requests(l->reqs, l->plan.n);
    for (int i = 0; l->prompts != NULL && i < l->plan.n; i++) free(l->prompts[i]);
    free(l->prompts);
    free(l->reqs);
    bench_plan_free(&l->plan);
}

int cmd_bench_http(CliSession *s, const CliArgs *a, FILE *out, LlmError *err) {
    HttpLoad l = {.a = a, .tok = s->tok};
    if (target_from_args(a, &l.t, err) != LLM_OK) return LLM_ERR;
    load_config(&l);
    if (bench_plan_build(&l.cfg, &l.plan, err) != LLM_OK) return LLM_ERR;
    BenchPrompter p;
    int rc = bench_prompter_init(&p, s->tok, err);
    if (rc != LLM_OK) {
        load_free(&l);
        return rc;
    }
    rc = make_prompts(&l, &p, err);
    if (rc == LLM_OK) rc = bench_client_probe(&l.t, err);
    if (rc == LLM_OK) rc = warm_up(&l, &p, err);
    if (rc == LLM_OK) rc = run_and_report(&l, out, err);
    bench_prompter_free(&p);
    load_free(&l);
    return rc;
}
