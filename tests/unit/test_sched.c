/* test_sched.c - the scheduler over the simulated model of sim_model.h
 * on the real cpu engine. Every request, run alone or among others, in a
 * roomy pool or a tiny one that forces preemption, must give exactly the
 * reference generator's tokens (no KV cache, no batching), and the KV
 * invariants must hold after every step.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "load/model_load.h"
#include "sched/sched.h"
#include "tok/tok.h"

#include "sim_model.h"

/* ---- the rig: engine + KV pool + scheduler ------------------------------- */

static Tokenizer *tok;

typedef struct Rig {
    LlmProgram prog;
    LlmEngine *engine;
    KvCache kv;
    Sched *s;
} Rig;

static void rig_open(Rig *g, int n_blocks, int max_seqs, int budget) {
    memset(g, 0, sizeof *g);
    g->prog = sim_program();
    LlmEngineConfig cfg = {.n_threads = 1, .max_seqs = max_seqs};
    LlmError err = {{0}};
    if (llm_engine_cpu.open(&g->prog, NULL, &cfg, &g->engine, &err) != LLM_OK ||
        llm_engine_cpu.alloc_kv(g->engine, n_blocks, &err) != LLM_OK)
        fail_msg("%s", err.msg);
    KvCacheShape shape = kv_shape_from_program(&g->prog);
    assert_int_equal(kv_cache_init(&g->kv, &shape, n_blocks, max_seqs, &err), LLM_OK);
    SchedBackend be = {.prog = &g->prog, .engine = g->engine, .kv = &g->kv, .tok = tok};
    SchedConfig sc = {.max_batch_tokens = budget, .max_seqs = 0};
    if (sched_create(&be, &sc, &g->s, &err) != LLM_OK) fail_msg("%s", err.msg);
}

static void rig_close(Rig *g) {
    sched_destroy(g->s);
    kv_cache_free(&g->kv);
    llm_engine_cpu.close(g->engine);
}

static void check_kv(const Rig *g) {
    LlmError err = {{0}};
    if (kv_cache_check(&g->kv, &err) != LLM_OK) fail_msg("%s", err.msg);
}

/* Steps until idle, checking the KV invariants after every step. */
static void rig_run(Rig *g) {
    LlmError err = {{0}};
    for (int i = 0; sched_busy(g->s); i++) {
        if (i > 20000) fail_msg("the scheduler does not finish");
        if (sched_step(g->s, &err) != LLM_OK) fail_msg("%s", err.msg);
        check_kv(g);
    }
    KvStats st = kv_cache_stats(&g->kv);
    assert_int_equal(st.n_used, 0); /* every finished sequence gave its blocks back */
}

static SchedId submit(Rig *g, const SchedRequest *q) {
    SchedId id = 0;
    LlmError err = {{0}};
    if (sched_submit(g->s, q, &id, &err) != LLM_OK) fail_msg("%s", err.msg);
    return id;
}

/* Sample j of request id gave exactly the reference's tokens and cause. */
static void expect_reference(const Rig *g, SchedId id, const SchedRequest *q) {
    for (int j = 0; j < q->n; j++) {
        Ref ref;
        reference(q, j, &ref);
        const SchedOutput *o = sched_output(g->s, id, j);
        assert_non_null(o);
        if (o->n_ids != ref.n || memcmp(o->ids, ref.ids, sizeof(int32_t) * (size_t)ref.n) != 0)
            fail_msg("request %llu sample %d: %d tokens, the reference %d (or they differ)",
                     (unsigned long long)id, j, o->n_ids, ref.n);
        assert_int_equal(o->cause, ref.cause);
        assert_int_equal(o->finish, ref.cause == SCHED_CAUSE_EOS || ref.cause == SCHED_CAUSE_STOP_ID
                                        ? SCHED_FINISH_STOP : SCHED_FINISH_LENGTH);
    }
}

/* ---- a mixed workload ----------------------------------------------------- */

enum { N_MIX = 14 };
static int32_t mix_prompts[N_MIX][CTX];

/* Request i of the mix: prompt lengths 1..41, greedy and seeded, top-k /
 * top-p / min-p, penalties and logprobs (in the engine's step), n = 3, stop ids. */
static SchedRequest mix_request(int i) {
    SchedRequest q = {0};
    int len = 1 + (i * 7) % 41;
    for (int k = 0; k < len; k++) mix_prompts[i][k] = (int32_t)(3 + mix64((uint64_t)(i * 100 + k)) % (VOCAB - 3));
    q.prompt = mix_prompts[i];
    q.n_prompt = len;
    q.sampling = sampler_params_default();
    q.sampling.seed = 1000u + (uint64_t)i;
    q.max_tokens = 8 + (i * 11) % 40;
    if (q.n_prompt + q.max_tokens > CTX) q.max_tokens = CTX - q.n_prompt;
    q.n = 1;
    if (i % 2 == 1) q.sampling.temperature = 0.9f;
    if (i % 4 == 1) q.sampling.top_k = 50;
    if (i % 4 == 3) q.sampling.top_p = 0.8f;
    if (i == 5) q.sampling.min_p = 0.2f;
    if (i == 6 || i == 9) q.sampling.repetition_penalty = 1.3f;
    if (i == 9) q.sampling.frequency_penalty = 0.5f;
    if (i == 7 || i == 10) q.sampling.logprobs = 2;
    if (i == 8 || i == 11) q.n = 3;
    if (i == 12) q.ignore_eos = 1;
    return q;
}

static void run_mix(int n_blocks, int max_seqs, int budget, long long *preemptions,
                    int *sampled_preempted) {
    Rig g;
    rig_open(&g, n_blocks, max_seqs, budget);
    SchedRequest qs[N_MIX];
    SchedId ids[N_MIX];
    for (int i = 0; i < N_MIX; i++) {
        qs[i] = mix_request(i);
        ids[i] = submit(&g, &qs[i]);
    }
    rig_run(&g);
    for (int i = 0; i < N_MIX; i++) expect_reference(&g, ids[i], &qs[i]);
    *sampled_preempted = 0; /* samples drawn from a stream that was preempted */
    for (int i = 0; i < N_MIX; i++)
        for (int j = 0; j < qs[i].n; j++)
            if (qs[i].sampling.temperature > 0 && sched_output(g.s, ids[i], j)->n_preempted > 0)
                (*sampled_preempted)++;
    *preemptions = sched_stats(g.s).preemptions;
    rig_close(&g);
}

static void test_alone_matches_reference(void **state) {
    (void)state;
    memset(&sim, 0, sizeof sim);
    for (int i = 0; i < N_MIX; i++) {
        Rig g;
        rig_open(&g, 64, 4, MAXT);
        SchedRequest q = mix_request(i);
        SchedId id = submit(&g, &q);
        rig_run(&g);
        expect_reference(&g, id, &q);
        rig_close(&g);
    }
    assert_int_equal(sim.kv_errors, 0);
}

/* All at once in a roomy pool, then in a pool of 17 blocks (68 tokens: any
 * one sequence fits, a handful do not) with a budget of 6 tokens. */
static void test_batch_matches_reference(void **state) {
    (void)state;
    long long pre = 0;
    int sampled = 0;
    memset(&sim, 0, sizeof sim);
    run_mix(256, 16, MAXT, &pre, &sampled);
    assert_int_equal(sim.kv_errors, 0);
    assert_true(sim.mixed > 0); /* decode tokens and prefill chunks shared steps */
    assert_true(sim.max_t <= MAXT);
    memset(&sim, 0, sizeof sim);
    run_mix(17, 8, 6, &pre, &sampled);
    assert_int_equal(sim.kv_errors, 0);
    assert_true(pre > 0);     /* the tiny pool really preempted */
    assert_true(sampled > 0); /* sampled (not only greedy) sequences among them */
    assert_true(sim.max_t <= 6);
}

/* n = 4 shares the prompt's blocks (forks, copy-on-write) and each sample
 * equals the reference with seed + j; a prompt of one token forks at once. */
static void test_parallel_samples(void **state) {
    (void)state;
    static const int lens[] = {1, 8, 10};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        Rig g;
        rig_open(&g, 64, 8, MAXT);
        int32_t prompt[16];
        for (int i = 0; i < lens[k]; i++) prompt[i] = 40 + i;
        SchedRequest q = {.prompt = prompt, .n_prompt = lens[k], .sampling = sampler_params_default(),
                          .max_tokens = 12, .n = 4, .ignore_eos = 1};
        q.sampling.temperature = 1.0f;
        q.sampling.seed = 77;
        SchedId id = submit(&g, &q);
        rig_run(&g);
        expect_reference(&g, id, &q);
        if ((lens[k] - 1) % BS != 0) assert_true(kv_cache_stats(&g.kv).n_copies > 0);
        const SchedOutput *a = sched_output(g.s, id, 0), *b = sched_output(g.s, id, 1);
        assert_true(a->seed == 77 && b->seed == 78);
        assert_true(a->n_ids != b->n_ids || memcmp(a->ids, b->ids, sizeof(int32_t) * (size_t)a->n_ids));
        rig_close(&g);
    }
}

/* ---- errors ------------------------------------------------------------- */

static void expect_refused(Rig *g, const SchedRequest *q, const char *needle) {
    SchedId id = 0;
    LlmError err = {{0}};
    assert_int_equal(sched_submit(g->s, q, &id, &err), LLM_ERR);
    if (strstr(err.msg, needle) == NULL) fail_msg("'%s' not in '%s'", needle, err.msg);
}

static SchedRequest good_request(const int32_t *prompt, int n) {
    SchedRequest q = {.prompt = prompt, .n_prompt = n, .sampling = sampler_params_default(),
                      .max_tokens = 5, .n = 1};
    return q;
}

static void test_request_errors(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 12, 4, MAXT); /* 48 tokens of KV */
    int32_t prompt[CTX];
    for (int i = 0; i < CTX; i++) prompt[i] = 10 + i;
    SchedRequest ok = good_request(prompt, 6);
    SchedId first = submit(&g, &ok);
    SchedRequest q = good_request(prompt, 0);
    expect_refused(&g, &q, "prompt: no tokens");
    int32_t bad[2] = {5, VOCAB};
    q = good_request(bad, 2);
    expect_refused(&g, &q, "prompt: token 2048 at position 1 is not an id in [0, 2048)");
    q = good_request(prompt, CTX);
    expect_refused(&g, &q, "prompt: 64 tokens leave no room");
    q = good_request(prompt, 49);
    expect_refused(&g, &q, "prompt: 49 tokens need 13 KV blocks, the pool has 12");
    q = good_request(prompt, 10);
    q.max_tokens = 60;
    expect_refused(&g, &q, "max_tokens 60: with the prompt's 10 tokens that is past the context of 64 tokens (at most 54)");
    q.max_tokens = -1;
    expect_refused(&g, &q, "max_tokens -1: must be >= 1");
    q = good_request(prompt, 3);
    q.n = 0;
    expect_refused(&g, &q, "n 0: must be in [1, 16]");
    q.n = 17;
    expect_refused(&g, &q, "n 17: must be in [1, 16]");
    q.n = 5;
    expect_refused(&g, &q, "n 5: more samples than the 4 sequences");
    static const struct { int field; float v; const char *needle; } sampling[] = {
        {0, -1.0f, "temperature -1: must be a finite number >= 0"},
        {0, NAN, "temperature nan"},
        {1, -2.0f, "top_k -2: must be >= 0"},
        {2, 0.0f, "top_p 0: must be in (0, 1]"},
        {2, 1.5f, "top_p 1.5: must be in (0, 1]"},
        {3, 2.0f, "min_p 2: must be in [0, 1]"},
        {4, 0.0f, "repetition_penalty 0: must be a finite number > 0"},
        {5, 3.0f, "presence_penalty 3: must be in [-2, 2]"},
        {6, -2.5f, "frequency_penalty -2.5: must be in [-2, 2]"},
        {7, 21.0f, "logprobs 21: must be in [0, 20]"},
    };
    for (size_t i = 0; i < sizeof sampling / sizeof sampling[0]; i++) {
        q = good_request(prompt, 3);
        SamplerParams *p = &q.sampling;
        float v = sampling[i].v;
        switch (sampling[i].field) {
        case 0: p->temperature = v; break;
        case 1: p->top_k = (int)v; break;
        case 2: p->top_p = v; break;
        case 3: p->min_p = v; break;
        case 4: p->repetition_penalty = v; break;
        case 5: p->presence_penalty = v; break;
        case 6: p->frequency_penalty = v; break;
        default: p->logprobs = (int)v; break;
        }
        expect_refused(&g, &q, sampling[i].needle);
    }
    const char *stops[17];
    for (int i = 0; i < 17; i++) stops[i] = "x";
    q = good_request(prompt, 3);
    q.stop = stops;
    q.n_stop = 17;
    expect_refused(&g, &q, "stop: 17 stop strings, at most 16");
    const char *empty[1] = {""};
    q.stop = empty;
    q.n_stop = 1;
    expect_refused(&g, &q, "stop '': a stop string must not be empty");
    const char *latin1[1] = {"caf\xe9"};
    q.stop = latin1;
    expect_refused(&g, &q, "not valid UTF-8");
    q = good_request(prompt, 3);
    int32_t stop_ids[17] = {0};
    q.stop_ids = stop_ids;
    q.n_stop_ids = 17;
    expect_refused(&g, &q, "stop_token_ids: 17 ids, at most 16");
    stop_ids[0] = 4096;
    q.n_stop_ids = 1;
    expect_refused(&g, &q, "stop_token_ids: 4096 is not a token id in [0, 2048)");
    SchedId last = submit(&g, &ok);
    assert_int_equal(last, first + 1); /* refused requests take no id */
    rig_run(&g);
    expect_reference(&g, first, &ok);
    expect_reference(&g, last, &ok);
    rig_close(&g);
}

static void test_config_errors(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 8, 2, MAXT);
    SchedBackend be = {.prog = &g.prog, .engine = g.engine, .kv = &g.kv, .tok = tok};
    Sched *s = NULL;
    LlmError err = {{0}};
    SchedConfig c = {.max_batch_tokens = MAXT + 1};
    assert_int_equal(sched_create(&be, &c, &s, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "--max-batch-tokens 17: must be in [1, 16]"));
    c = (SchedConfig){.max_seqs = 3};
    assert_int_equal(sched_create(&be, &c, &s, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "--max-seqs 3: must be in [1, 2]"));
    int slot = 0;
    assert_int_equal(kv_seq_open(&g.kv, &slot), KV_OK);
    c = (SchedConfig){0};
    assert_int_equal(sched_create(&be, &c, &s, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "slot 0 is already open"));
    kv_seq_release(&g.kv, slot);
    rig_close(&g);
}

/* ---- stop conditions, text, events -------------------------------------- */

typedef struct Events {
    char text[4][1024]; /* per sample: deltas concatenated */
    int tokens[4];      /* TOKEN events per sample */
    int finishes[4];    /* FINISH events per sample */
    int done;           /* DONE events */
    int order_errors;   /* an event after its sample's FINISH, or DONE too early */
} Events;

static void on_event(void *ctx, const SchedEvent *ev) {
    Events *e = ctx;
    if (ev->kind == SCHED_EVENT_DONE) {
        e->done++;
        if (ev->info->n_finished != ev->info->n) e->order_errors++;
        return;
    }
    int j = ev->out->index;
    if (e->finishes[j] > 0) e->order_errors++;
    if (ev->kind == SCHED_EVENT_TOKEN) e->tokens[j]++;
    else e->finishes[j]++;
    strncat(e->text[j], ev->delta, ev->delta_len);
}

/* Deltas add up to the text; the text is the ids detokenized; a stop
 * string cuts it; a stop id or EOS ends it without being output. */
static void test_text_and_stops(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 64, 4, MAXT);
    Events ev;
    memset(&ev, 0, sizeof ev);
    sched_set_callback(g.s, on_event, &ev);
    int32_t prompt[3] = {1, 400, 500};
    SchedRequest q = good_request(prompt, 3);
    q.max_tokens = 40;
    q.ignore_eos = 1;
    q.n = 2;
    q.sampling.temperature = 1.0f;
    SchedId id = submit(&g, &q);
    rig_run(&g);
    assert_int_equal(ev.done, 1);
    assert_int_equal(ev.order_errors, 0);
    const SchedOutput *o = sched_output(g.s, id, 0);
    assert_int_equal(ev.tokens[0], o->n_ids);
    assert_int_equal(ev.finishes[0], 1);
    assert_string_equal(ev.text[0], o->text);
    assert_string_equal(ev.text[1], sched_output(g.s, id, 1)->text);
    assert_true(o->text_len > 20);
    assert_true(o->token_times[o->n_ids - 1] >= o->first_token_s && o->finish_s >= o->first_token_s);
    /* the same request, stopped by a string from the middle of its text */
    char stop[8];
    size_t at = o->text_len / 2;
    while (at + 5 < o->text_len && !(isalpha((unsigned char)o->text[at]) &&
                                     isalpha((unsigned char)o->text[at + 4])))
        at++;
    assert_true(at + 5 < o->text_len);
    memcpy(stop, o->text + at, 5);
    stop[5] = '\0';
    const char *stops[2] = {"\x01never", stop};
    size_t cut = (size_t)(strstr(o->text, stop) - o->text);
    q.stop = stops;
    q.n_stop = 2;
    q.n = 1;
    SchedId id2 = submit(&g, &q);
    /* and by its 5th token as a stop id */
    q.stop = NULL;
    q.n_stop = 0;
    int32_t stop_id = o->ids[4];
    q.stop_ids = &stop_id;
    q.n_stop_ids = 1;
    SchedId id3 = submit(&g, &q);
    rig_run(&g);
    const SchedOutput *o2 = sched_output(g.s, id2, 0), *o3 = sched_output(g.s, id3, 0);
    o = sched_output(g.s, id, 0);
    assert_int_equal(o2->finish, SCHED_FINISH_STOP);
    assert_int_equal(o2->cause, SCHED_CAUSE_STOP_STRING);
    assert_int_equal(o2->stop_detail, 1);
    assert_int_equal(o2->text_len, cut);
    assert_memory_equal(o2->text, o->text, cut);
    assert_int_equal(o3->cause, SCHED_CAUSE_STOP_ID);
    assert_int_equal(o3->stop_detail, stop_id);
    int first = 0;
    while (o->ids[first] != stop_id) first++;
    assert_int_equal(o3->n_ids, first);
    assert_string_equal(sched_finish_name(o3->finish), "stop");
    assert_string_equal(sched_cause_name(o3->cause), "stop_id");
    rig_close(&g);
}

/* max_tokens 0 runs to the end of the context ("length", cause context). */
static void test_to_context(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 64, 4, MAXT);
    int32_t prompt[50];
    for (int i = 0; i < 50; i++) prompt[i] = 7 + i;
    SchedRequest q = good_request(prompt, 50);
    q.max_tokens = 0;
    q.ignore_eos = 1;
    SchedId id = submit(&g, &q);
    rig_run(&g);
    const SchedOutput *o = sched_output(g.s, id, 0);
    assert_int_equal(o->n_ids, CTX - 50);
    assert_int_equal(o->finish, SCHED_FINISH_LENGTH);
    assert_int_equal(o->cause, SCHED_CAUSE_CONTEXT);
    expect_reference(&g, id, &q);
    rig_close(&g);
}

/* ---- cancellation, prefix cache, statistics ------------------------------ */

static void test_cancel(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 64, 4, MAXT);
    Events ev;
    memset(&ev, 0, sizeof ev);
    sched_set_callback(g.s, on_event, &ev);
    int32_t prompts[4][20];
    SchedRequest qs[4];
    SchedId ids[4];
    for (int r = 0; r < 4; r++) {
        for (int i = 0; i < 20; i++) prompts[r][i] = 300 + 20 * r + i;
        qs[r] = good_request(prompts[r], 20);
        qs[r].max_tokens = 30;
        qs[r].ignore_eos = 1;
    }
    for (int r = 0; r < 3; r++) ids[r] = submit(&g, &qs[r]);
    SchedId a = ids[0], b = ids[1], c = ids[2];
    LlmError err = {{0}};
    for (int i = 0; i < 6; i++) assert_int_equal(sched_step(g.s, &err), LLM_OK);
    int used = kv_cache_stats(&g.kv).n_used;
    assert_int_equal(sched_cancel(g.s, b), 1);
    check_kv(&g);
    assert_true(kv_cache_stats(&g.kv).n_used < used); /* its own blocks went at once */
    assert_int_equal(sched_cancel(g.s, b), 0);
    assert_int_equal(sched_cancel(g.s, 999), 0);
    SchedId d = submit(&g, &qs[3]);
    assert_int_equal(sched_cancel(g.s, d), 1); /* still waiting */
    rig_run(&g);
    assert_int_equal(sched_output(g.s, b, 0)->finish, SCHED_FINISH_CANCELLED);
    assert_int_equal(sched_output(g.s, d, 0)->n_ids, 0);
    assert_int_equal(sched_output(g.s, d, 0)->cause, SCHED_CAUSE_CANCELLED);
    expect_reference(&g, a, &qs[0]);
    expect_reference(&g, c, &qs[2]);
    assert_int_equal(ev.done, 4);
    assert_int_equal(sched_stats(g.s).finished, 4);
    assert_int_equal(sched_release(g.s, a), 1);
    assert_null(sched_info(g.s, a));
    assert_int_equal(sched_release(g.s, a), 0);
    assert_non_null(sched_info(g.s, c));
    rig_close(&g);
}

/* The second of two requests with the same prompt finds its full blocks
 * in the prefix cache and still gives the reference's tokens. */
static void test_prefix_cache(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 64, 4, 8);
    int32_t prompt[30];
    for (int i = 0; i < 30; i++) prompt[i] = 900 + i;
    SchedRequest q = good_request(prompt, 30);
    q.max_tokens = 6;
    SchedId a = submit(&g, &q);
    rig_run(&g);
    SchedId b = submit(&g, &q);
    rig_run(&g);
    assert_int_equal(sched_info(g.s, a)->n_cached, 0);
    assert_int_equal(sched_info(g.s, b)->n_cached, 28);
    expect_reference(&g, a, &q);
    expect_reference(&g, b, &q);
    rig_close(&g);
}

/* Logprobs come with every output token and name it; KV use is counted. */
static void test_logprobs_and_stats(void **state) {
    (void)state;
    Rig g;
    rig_open(&g, 64, 4, MAXT);
    int32_t prompt[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    SchedRequest q = good_request(prompt, 9);
    q.max_tokens = 10;
    q.sampling.logprobs = 3;
    q.sampling.temperature = 0.7f;
    q.ignore_eos = 1;
    SchedId id = submit(&g, &q);
    SchedRequest plain = good_request(prompt, 9);
    SchedId id2 = submit(&g, &plain);
    rig_run(&g);
    const SchedOutput *o = sched_output(g.s, id, 0);
    assert_non_null(o->logprobs);
    assert_null(sched_output(g.s, id2, 0)->logprobs);
    for (int i = 0; i < o->n_ids; i++) {
        assert_int_equal(o->logprobs[i].id, o->ids[i]);
        assert_int_equal(o->logprobs[i].n_top, 3);
        assert_true(o->logprobs[i].logprob <= 0.0f);
        assert_true(o->logprobs[i].top_logprobs[0] >= o->logprobs[i].logprob);
    }
    expect_reference(&g, id, &q);
    SchedStats st = sched_stats(g.s);
    assert_true(st.peak_used_blocks >= 4);
    assert_true(st.peak_live_tokens <= (long long)st.peak_used_blocks * BS);
    assert_true(st.peak_live_tokens > (long long)(st.peak_used_blocks - 2) * BS);
    assert_true(st.sum_live_tokens <= st.sum_used_slots && st.sum_live_tokens > 0);
    assert_int_equal(st.submitted, 2);
    assert_int_equal(st.finished, 2);
    assert_int_equal(st.running + st.waiting, 0);
    rig_close(&g);
}

/* ---- the split step ---------------------------------------------------- */

/* A digest of every event in order: kind, request, sample, delta. */
typedef struct Digest {
    uint64_t hash;
    int n;
} Digest;

static void on_digest(void *ctx, const SchedEvent *ev) {
    Digest *d = ctx;
    uint64_t h = d->hash ^ ((uint64_t)ev->kind << 56 ^ ev->info->id << 8 ^
                            (uint64_t)(ev->out ? ev->out->index + 1 : 0));
    for (size_t i = 0; i < ev->delta_len; i++) h = (h ^ (uint8_t)ev->delta[i]) * 1099511628211ull;
    d->hash = mix64(h);
    d->n++;
}

typedef struct StepRun {
    Sched *s;
    int rc;
    LlmError err;
} StepRun;

static void *step_run_main(void *arg) {
    StepRun *r = arg;
    r->rc = sched_step_run(r->s, &r->err);
    return NULL;
}

/* What the owner may read while a step runs: every output of the mix. */
static uint64_t outputs_sum(const Rig *g, const SchedId *ids, const SchedRequest *qs) {
    uint64_t sum = 0;
    for (int i = 0; i < N_MIX; i++)
        for (int j = 0; j < qs[i].n; j++) {
            const SchedOutput *o = sched_output(g->s, ids[i], j);
            sum = mix64(sum + (uint64_t)o->n_ids * 131u + o->text_len);
            for (int k = 0; k < o->n_ids; k++) sum += (uint64_t)o->ids[k];
        }
    return sum + (uint64_t)sched_stats(g->s).steps;
}

/* The mix stepped by sched_step, then by begin / run (on a thread of its
 * own, while this thread reads every output) / end: the same tokens, the
 * same events in the same order, the same statistics; run changes no
 * output; begin says 0 once idle. */
static void test_split_step(void **state) {
    (void)state;
    Digest whole = {0}, split = {0};
    long long steps = 0;
    memset(&sim, 0, sizeof sim);
    for (int pass = 0; pass < 2; pass++) {
        Rig g;
        rig_open(&g, 17, 8, 6); /* the tiny pool: preemption and copy-on-write */
        sched_set_callback(g.s, on_digest, pass == 0 ? &whole : &split);
        SchedRequest qs[N_MIX];
        SchedId ids[N_MIX];
        for (int i = 0; i < N_MIX; i++) {
            qs[i] = mix_request(i);
            ids[i] = submit(&g, &qs[i]);
        }
        if (pass == 0) rig_run(&g);
        for (int i = 0; pass == 1 && sched_step_begin(g.s); i++) {
            if (i > 20000) fail_msg("the scheduler does not finish");
            StepRun r = {.s = g.s, .rc = LLM_ERR};
            pthread_t t;
            assert_int_equal(pthread_create(&t, NULL, step_run_main, &r), 0);
            uint64_t before = outputs_sum(&g, ids, qs);
            assert_int_equal(outputs_sum(&g, ids, qs), before);
            assert_int_equal(pthread_join(t, NULL), 0);
            if (r.rc != LLM_OK) fail_msg("%s", r.err.msg);
            assert_int_equal(outputs_sum(&g, ids, qs), before);
            sched_step_end(g.s);
            check_kv(&g);
        }
        assert_false(sched_busy(g.s));
        assert_int_equal(sched_step_begin(g.s), 0);
        assert_int_equal(kv_cache_stats(&g.kv).n_used, 0);
        for (int i = 0; i < N_MIX; i++) expect_reference(&g, ids[i], &qs[i]);
        if (pass == 0) steps = sched_stats(g.s).steps;
        else assert_int_equal(sched_stats(g.s).steps, steps);
        rig_close(&g);
    }
    assert_int_equal(sim.kv_errors, 0);
    assert_true(whole.n > N_MIX);
    assert_int_equal(split.n, whole.n);
    assert_true(split.hash == whole.hash);
}

/* ---- main ---------------------------------------------------------------- */

static int group_setup(void **state) {
    (void)state;
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(LLMCC_FIXTURES "/models/tinystories-656k", &m, &err) != LLM_OK) return -1;
    char *json = json_dumps(m.tokenizer, JSON_COMPACT);
    loaded_model_free(&m);
    int rc = tok_load_json(json, strlen(json), &tok, &err);
    free(json);
    return rc == LLM_OK && tok_eos_id(tok) == EOS ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    tok_free(tok);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_matches_reference),
        cmocka_unit_test(test_batch_matches_reference),
        cmocka_unit_test(test_parallel_samples),
        cmocka_unit_test(test_request_errors),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_text_and_stops),
        cmocka_unit_test(test_to_context),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_prefix_cache),
        cmocka_unit_test(test_logprobs_and_stats),
        cmocka_unit_test(test_split_step),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
