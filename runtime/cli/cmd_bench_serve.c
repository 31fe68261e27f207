/* cmd_bench_serve.c - `bench --concurrency C --requests R --input-len I
 * --output-len O [--json FILE]`: a serving load in process, through the
 * scheduler.
 *
 * C clients each keep one request in flight: the load starts with C
 * requests and submits the next one whenever one finishes, until R were
 * submitted. Every request has its own prompt of I synthetic token ids
 * (a hash of the request and position, so prompts differ and the prefix
 * cache finds nothing) and generates exactly O tokens, greedily, EOS
 * ignored. One warm-up request (O capped at 4) runs first on a scheduler
 * of its own and is not counted.
 *
 * Reported (and written to --json): requests/s and output tokens/s over
 * the whole run; time to first token (submission to the first token: the
 * queueing a busy server adds is part of it), inter-token latency (every
 * gap between consecutive tokens of a request) and end-to-end latency as
 * mean, p50, p90 and p99 (cli/bench_stats.h, shared with `bench --url`);
 * the peak of KV blocks in use, as blocks and share of the pool, with the
 * share of their token slots that held live K/V at that step and on
 * average over steps; preemptions and steps, and where the steps' time
 * went: the engine's mean time per step for steps of one token per
 * sequence (decodes) and for steps that carried prompt chunks, and the
 * share of the run spent outside the engine (planning, callbacks).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/bench_stats.h"
#include "cli/commands.h"
#include "cli/gen.h"
#include "sched/sched.h"

typedef struct ServeLoad {
    CliSession *s;       /* not owned */
    Sched *sched;
    int concurrency, requests, input_len, output_len;
    int submitted, done;
    int32_t *prompt;     /* [input_len] scratch for the next request */
    double *ttft, *e2e;  /* [requests] seconds, by completion order */
    double *itl;         /* [requests * (output_len - 1)] gaps, seconds */
    long long n_itl;
    long long out_tokens;
    int short_outputs;   /* requests that ended before output_len (must stay 0) */
    SchedId *finished;   /* [concurrency + 1] done in the last step, to release */
    int n_finished;
} ServeLoad;

static int32_t bench_token(int request, int pos, int vocab) {
    uint64_t x = ((uint64_t)(uint32_t)request << 32 | (uint32_t)pos) + 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return (int32_t)((x ^ (x >> 31)) % (uint64_t)vocab);
}

static void on_event(void *ctx, const SchedEvent *ev) {
    ServeLoad *l = ctx;
    if (ev->kind == SCHED_EVENT_DONE) {
        LLM_ASSERT(l->n_finished <= l->concurrency); /* no more are in flight */
        l->finished[l->n_finished++] = ev->info->id;
        return;
    }
    if (ev->kind != SCHED_EVENT_FINISH) return;
    const SchedOutput *o = ev->out;
    l->ttft[l->done] = o->first_token_s;
    l->e2e[l->done] = o->finish_s;
    for (int i = 1; i < o->n_ids; i++) l->itl[l->n_itl++] = o->token_times[i] - o->token_times[i - 1];
    l->out_tokens += o->n_ids;
    l->short_outputs += o->n_ids != l->output_len;
    l->done++;
}

/* Submits request number index with max_tokens output tokens. */
static int submit(ServeLoad *l, Sched *sched, int index, int max_tokens, LlmError *err) {
    for (int k = 0; k < l->input_len; k++) l->prompt[k] = bench_token(index, k, l->s->prog->vocab_size);
    SchedRequest q = {.prompt = l->prompt, .n_prompt = l->input_len,
                      .sampling = sampler_params_default(), .max_tokens = max_tokens, .n = 1,
                      .ignore_eos = 1};
    SchedId id = 0;
    return sched_submit(sched, &q, &id, err);
}

static int new_sched(ServeLoad *l, const CliArgs *a, Sched **out, LlmError *err) {
    SchedBackend be = {.prog = l->s->prog, .engine = l->s->engine, .kv = &l->s->kv, .tok = l->s->tok};
    SchedConfig cfg = {.max_batch_tokens = a->max_batch_tokens, .max_seqs = a->max_seqs};
    return sched_create(&be, &cfg, out, err);
}

/* One request alone, not measured (first-step costs, cuda graph capture). */
static int warm_up(ServeLoad *l, const CliArgs *a, LlmError *err) {
    Sched *w = NULL;
    if (new_sched(l, a, &w, err) != LLM_OK) return LLM_ERR;
    int rc = submit(l, w, l->requests, l->output_len < 4 ? l->output_len : 4, err);
    while (rc == LLM_OK && sched_busy(w)) rc = sched_step(w, err);
    sched_destroy(w);
    return rc;
}

/* The timed load: keeps concurrency requests in flight until all ran. */
static int run_load(ServeLoad *l, LlmError *err) {
    sched_set_callback(l->sched, on_event, l);
    int rc = LLM_OK;
    while (rc == LLM_OK && l->submitted < l->concurrency && l->submitted < l->requests)
        rc = submit(l, l->sched, l->submitted++, l->output_len, err);
    while (rc == LLM_OK && sched_busy(l->sched)) {
        l->n_finished = 0;
        rc = sched_step(l->sched, err);
        for (int i = 0; i < l->n_finished; i++) sched_release(l->sched, l->finished[i]);
        for (int i = 0; rc == LLM_OK && i < l->n_finished && l->submitted < l->requests; i++)
            rc = submit(l, l->sched, l->submitted++, l->output_len, err);
    }
    return rc;
}

typedef struct ServeReport {
    char device[256];
    BenchMetrics m;
    SchedStats st;
    int n_blocks, block_size, max_seqs, budget;
} ServeReport;

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

static void print_report(const ServeLoad *l, const ServeReport *r, FILE *out) {
    const SchedStats *st = &r->st;
    double peak_slots = (double)st->peak_used_blocks * r->block_size;
    fprintf(out, "device                 %s\n", r->device);
    fprintf(out, "serving load           %d requests, concurrency %d, input %d / output %d tokens, "
            "greedy, EOS ignored\n", l->requests, l->concurrency, l->input_len, l->output_len);
    fprintf(out, "scheduler              up to %d sequences, %d tokens per step, KV pool %d blocks "
            "of %d tokens\n", r->max_seqs, r->budget, r->n_blocks, r->block_size);
    bench_print_metrics(out, &r->m);
    fprintf(out, "KV cache peak          %d of %d blocks (%.1f%%), %.1f%% of their token slots live "
            "(mean over steps %.1f%%)\n", st->peak_used_blocks, r->n_blocks,
            pct(st->peak_used_blocks, r->n_blocks), pct((double)st->peak_live_tokens, peak_slots),
            pct((double)st->sum_live_tokens, (double)st->sum_used_slots));
    fprintf(out, "preemptions            %lld\n", st->preemptions);
    fprintf(out, "steps                  %lld (mean %.1f tokens per step)\n", st->steps,
            st->steps ? (double)st->batch_tokens / (double)st->steps : 0.0);
    long long mixed = st->steps - st->decode_steps;
    fprintf(out, "step time              decodes only: %lld steps, mean %.2f ms (%.1f tokens); "
            "with prompt chunks: %lld steps, mean %.2f ms (%.1f tokens); outside the engine "
            "%.1f%% of the run\n", st->decode_steps,
            st->decode_steps ? 1e3 * st->decode_engine_s / (double)st->decode_steps : 0.0,
            st->decode_steps ? (double)st->decode_tokens / (double)st->decode_steps : 0.0, mixed,
            mixed ? 1e3 * (st->engine_s - st->decode_engine_s) / (double)mixed : 0.0,
            mixed ? (double)(st->batch_tokens - st->decode_tokens) / (double)mixed : 0.0,
            pct(r->m.seconds - st->engine_s, r->m.seconds));
}

static int write_json(const ServeLoad *l, const ServeReport *r, const char *path, LlmError *err) {
    const SchedStats *st = &r->st;
    double peak_slots = (double)st->peak_used_blocks * r->block_size;
    json_t *kv = json_pack("{s:i,s:i,s:i,s:f,s:f,s:f}", "blocks", r->n_blocks, "block_size",
                           r->block_size, "peak_used_blocks", st->peak_used_blocks, "peak_used_pct",
                           pct(st->peak_used_blocks, r->n_blocks), "peak_live_pct",
                           pct((double)st->peak_live_tokens, peak_slots), "mean_live_pct",
                           pct((double)st->sum_live_tokens, (double)st->sum_used_slots));
    json_t *j = json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:i}", "mode", "in-process", "device",
                          r->device, "requests", l->requests, "concurrency", l->concurrency,
                          "input_len", l->input_len, "output_len", l->output_len, "max_seqs",
                          r->max_seqs, "max_batch_tokens", r->budget);
    bench_metrics_to_json(j, &r->m);
    json_object_set_new(j, "kv", kv);
    json_object_set_new(j, "preemptions", json_integer(st->preemptions));
    json_object_set_new(j, "steps", json_integer(st->steps));
    json_object_set_new(j, "step_time", json_pack("{s:I,s:I,s:f,s:I,s:I,s:f,s:f}",
                        "decode_steps", (json_int_t)st->decode_steps, "decode_tokens",
                        (json_int_t)st->decode_tokens, "decode_engine_s", st->decode_engine_s,
                        "mixed_steps", (json_int_t)(st->steps - st->decode_steps),
                        "mixed_tokens", (json_int_t)(st->batch_tokens - st->decode_tokens),
                        "mixed_engine_s", st->engine_s - st->decode_engine_s,
                        "run_s", r->m.seconds));
    int rc = bench_write_json(j, path, err);
    json_decref(j);
    return rc;
}

static int check_load(const CliSession *s, const ServeLoad *l, LlmError *err) {
    if ((long)l->input_len + l->output_len > s->prog->max_context)
        return llm_errorf(err, "bench: --input-len %d + --output-len %d exceed the context of %d "
                          "tokens", l->input_len, l->output_len, s->prog->max_context);
    return LLM_OK;
}

static void report(ServeLoad *l, const CliArgs *a, double seconds, ServeReport *r) {
    const LlmProgram *p = l->s->prog;
    p->engine->describe(l->s->engine, r->device, sizeof r->device);
    r->m = (BenchMetrics){.seconds = seconds > 0 ? seconds : 1e-9, .completed = l->done,
                          .input_tokens = (long long)l->done * l->input_len,
                          .output_tokens = l->out_tokens, .ttft = bench_summarize(l->ttft, l->done),
                          .itl = bench_summarize(l->itl, l->n_itl),
                          .e2e = bench_summarize(l->e2e, l->done)};
    r->st = sched_stats(l->sched);
    r->n_blocks = l->s->kv.n_blocks;
    r->block_size = l->s->kv.shape.block_size;
    r->budget = a->max_batch_tokens > 0 ? a->max_batch_tokens : p->max_tokens;
    r->max_seqs = l->s->kv.max_seqs < r->budget ? l->s->kv.max_seqs : r->budget;
}

int cmd_bench_serve(CliSession *s, const CliArgs *a, FILE *out, LlmError *err) {
    ServeLoad l = {.s = s, .concurrency = a->concurrency, .input_len = a->input_len,
                   .output_len = a->output_len,
                   .requests = a->has_requests ? a->requests : 4 * a->concurrency};
    if (check_load(s, &l, err) != LLM_OK) return LLM_ERR;
    l.prompt = llm_xmalloc(sizeof(int32_t) * (size_t)l.input_len);
    l.ttft = llm_xcalloc((size_t)l.requests, sizeof(double));
    l.e2e = llm_xcalloc((size_t)l.requests, sizeof(double));
    l.itl = llm_xcalloc((size_t)l.requests * (size_t)l.output_len, sizeof(double));
    l.finished = llm_xcalloc((size_t)l.concurrency + 1, sizeof(SchedId));
    int rc = warm_up(&l, a, err);
    if (rc == LLM_OK) rc = new_sched(&l, a, &l.sched, err);
    double t0 = gen_now_seconds();
    if (rc == LLM_OK) rc = run_load(&l, err);
    double t1 = gen_now_seconds();
    if (rc == LLM_OK && l.short_outputs > 0)
        rc = llm_errorf(err, "bench: %d requests ended before %d tokens", l.short_outputs,
                        l.output_len);
    if (rc == LLM_OK) {
        ServeReport r;
        report(&l, a, t1 - t0, &r);
        print_report(&l, &r, out);
        if (a->bench_json != NULL) rc = write_json(&l, &r, a->bench_json, err);
    }
    if (l.sched != NULL) sched_destroy(l.sched);
    free(l.prompt);
    free(l.ttft);
    free(l.e2e);
    free(l.itl);
    free(l.finished);
    return rc;
}
