/* sched.c - the scheduler's records: create and destroy, submit with its
 * per-request checks, cancel, the queries (see sched.h; the step itself is
 * sched_queue.c and sched_step.c).
 *
 * Requests live in reqs, ordered by id (ids only grow), until released;
 * each owns its n sequence records and their outputs.
 */
#include "sched/sched_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const SCHED_FINISH_NAMES[] = {"", "stop", "length", "cancelled"};
_Static_assert(sizeof SCHED_FINISH_NAMES / sizeof SCHED_FINISH_NAMES[0] == SCHED_FINISH_CANCELLED + 1,
               "SCHED_FINISH_NAMES and SchedFinish out of step");
static const char *const SCHED_CAUSE_NAMES[] = {"",           "eos",     "stop_id", "stop_string",
                                                "max_tokens", "context", "kv_pool", "cancelled"};
_Static_assert(sizeof SCHED_CAUSE_NAMES / sizeof SCHED_CAUSE_NAMES[0] == SCHED_CAUSE_CANCELLED + 1,
               "SCHED_CAUSE_NAMES and SchedCause out of step");

const char *sched_finish_name(SchedFinish f) {
    LLM_ASSERT(f >= SCHED_FINISH_NONE && f <= SCHED_FINISH_CANCELLED);
    return SCHED_FINISH_NAMES[f];
}

const char *sched_cause_name(SchedCause c) {
    LLM_ASSERT(c >= SCHED_CAUSE_NONE && c <= SCHED_CAUSE_CANCELLED);
    return SCHED_CAUSE_NAMES[c];
}

double sched_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- create / destroy ---------------------------------------------------- */

static int check_config(const SchedBackend *be, const SchedConfig *cfg, int *budget,
                        int *max_seqs, LlmError *err) {
    const LlmProgram *p = be->prog;
    LLM_ASSERT(be->prog != NULL && be->engine != NULL && be->kv != NULL && be->tok != NULL);
    *budget = cfg->max_batch_tokens > 0 ? cfg->max_batch_tokens : p->max_tokens;
    if (cfg->max_batch_tokens < 0 || *budget > p->max_tokens)
        return llm_errorf(err, "--max-batch-tokens %d: must be in [1, %d] (the program's tokens "
                          "per step)", cfg->max_batch_tokens, p->max_tokens);
    *max_seqs = cfg->max_seqs > 0 ? cfg->max_seqs : be->kv->max_seqs;
    if (cfg->max_seqs < 0 || *max_seqs > be->kv->max_seqs)
        return llm_errorf(err, "--max-seqs %d: must be in [1, %d] (the KV sequence slots)",
                          cfg->max_seqs, be->kv->max_seqs);
    if (*max_seqs > *budget) *max_seqs = *budget;
    for (int i = 0; i < be->kv->max_seqs; i++)
        if (be->kv->seqs[i].active)
            return llm_errorf(err, "scheduler: KV sequence slot %d is already open", i);
    return LLM_OK;
}

int sched_create(const SchedBackend *be, const SchedConfig *cfg, Sched **out, LlmError *err) {
    int budget = 0, max_seqs = 0;
    if (check_config(be, cfg, &budget, &max_seqs, err) != LLM_OK) return LLM_ERR;
    Sched *s = llm_xcalloc(1, sizeof *s);
    const LlmProgram *p = be->prog;
    s->be = *be;
    s->budget = budget;
    s->max_seqs = max_seqs;
    s->watermark = be->kv->n_blocks / 100 > 1 ? be->kv->n_blocks / 100 : 1;
    s->vocab = p->vocab_size;
    s->eos = tok_eos_id(be->tok);
    size_t b = (size_t)budget, mb = (size_t)p->max_blocks_per_seq, nb = (size_t)be->kv->n_blocks;
    s->running = llm_xcalloc((size_t)max_seqs, sizeof *s->running);
    s->plan = llm_xcalloc((size_t)max_seqs, sizeof *s->plan);
    s->tokens = llm_xcalloc(b, sizeof(int32_t));
    s->positions = llm_xcalloc(b, sizeof(int32_t));
    s->seq_index = llm_xcalloc(b, sizeof(int32_t));
    s->logit_rows = llm_xcalloc(b, sizeof(int32_t));
    s->sampled = llm_xcalloc(b, sizeof(int32_t));
    s->tables = llm_xcalloc((size_t)max_seqs * mb, sizeof(int32_t));
    s->rows = llm_xcalloc(b, sizeof(LlmSampleRow));
    s->lps = llm_xcalloc((size_t)max_seqs, sizeof(LlmTokenLogprobs));
    s->stamp = llm_xcalloc(nb, sizeof(uint32_t));
    s->fill = llm_xcalloc(nb, sizeof(int32_t));
    *out = s;
    return LLM_OK;
}

static void req_free(SchedReq *r) {
    for (int j = 0; j < r->info.n; j++) sched_seq_free(&r->seqs[j]);
    for (int i = 0; i < r->n_stop; i++) free(r->stop[i]);
    free(r->stop);
    free(r->seqs);
    free(r);
}

void sched_destroy(Sched *s) {
    if (s == NULL) return;
    for (int i = 0; i < s->n_running; i++) kv_seq_release(s->be.kv, s->running[i]->slot);
    for (int i = 0; i < s->n_reqs; i++) req_free(s->reqs[i]);
    free(s->reqs);
    free(s->running);
    free(s->waiting);
    free(s->plan);
    free(s->tokens);
    free(s->positions);
    free(s->seq_index);
    free(s->logit_rows);
    free(s->sampled);
    free(s->tables);
    free(s->rows);
    free(s->lps);
    free(s->counts);
    free(s->stamp);
    free(s->fill);
    free(s);
}

void sched_set_callback(Sched *s, SchedEventFn fn, void *ctx) {
    s->fn = fn;
    s->fn_ctx = ctx;
}

/* ---- submit -------------------------------------------------------------- */

static int check_prompt(const Sched *s, const SchedRequest *r, LlmError *err) {
    const LlmProgram *p = s->be.prog;
    if (r->n_prompt <= 0 || r->prompt == NULL)
        return llm_errorf(err, "prompt: no tokens (an empty prompt needs a model that adds BOS)");
    for (int i = 0; i < r->n_prompt; i++)
        if (r->prompt[i] < 0 || r->prompt[i] >= s->vocab)
            return llm_errorf(err, "prompt: token %d at position %d is not an id in [0, %d)",
                              (int)r->prompt[i], i, s->vocab);
    if (r->n_prompt >= p->max_context)
        return llm_errorf(err, "prompt: %d tokens leave no room to generate in the context of "
                          "%d tokens", r->n_prompt, p->max_context);
    int bs = s->be.kv->shape.block_size;
    int blocks = (r->n_prompt + bs - 1) / bs;
    if (blocks > s->be.kv->n_blocks)
        return llm_errorf(err, "prompt: %d tokens need %d KV blocks, the pool has %d (raise "
                          "--kv-memory)", r->n_prompt, blocks, s->be.kv->n_blocks);
    return LLM_OK;
}

static int check_limits(const Sched *s, const SchedRequest *r, int *max_tokens, LlmError *err) {
    int ctx = s->be.prog->max_context;
    if (r->max_tokens < 0)
        return llm_errorf(err, "max_tokens %d: must be >= 1", r->max_tokens);
    *max_tokens = r->max_tokens > 0 ? r->max_tokens : ctx - r->n_prompt;
    if ((long)r->n_prompt + *max_tokens > ctx)
        return llm_errorf(err, "max_tokens %d: with the prompt's %d tokens that is past the "
                          "context of %d tokens (at most %d)", r->max_tokens, r->n_prompt, ctx,
                          ctx - r->n_prompt);
    if (r->n < 1 || r->n > SCHED_MAX_N)
        return llm_errorf(err, "n %d: must be in [1, %d]", r->n, SCHED_MAX_N);
    if (r->n > s->max_seqs)
        return llm_errorf(err, "n %d: more samples than the %d sequences that run at once "
                          "(--max-seqs)", r->n, s->max_seqs);
    return LLM_OK;
}

static int check_stops(const Sched *s, const SchedRequest *r, LlmError *err) {
    if (r->n_stop < 0 || r->n_stop > STOP_MAX_STRINGS || (r->n_stop > 0 && r->stop == NULL))
        return llm_errorf(err, "stop: %d stop strings, at most %d", r->n_stop, STOP_MAX_STRINGS);
    if (stop_strings_check(r->stop, r->n_stop, "stop", err) != LLM_OK) return LLM_ERR;
    if (r->n_stop_ids < 0 || r->n_stop_ids > SCHED_MAX_STOP_IDS ||
        (r->n_stop_ids > 0 && r->stop_ids == NULL))
        return llm_errorf(err, "stop_token_ids: %d ids, at most %d", r->n_stop_ids,
                          SCHED_MAX_STOP_IDS);
    for (int i = 0; i < r->n_stop_ids; i++)
        if (r->stop_ids[i] < 0 || r->stop_ids[i] >= s->vocab)
            return llm_errorf(err, "stop_token_ids: %d is not a token id in [0, %d)",
                              (int)r->stop_ids[i], s->vocab);
    return LLM_OK;
}

static SchedReq *req_new(Sched *s, const SchedRequest *q, int max_tokens) {
    SchedReq *r = llm_xcalloc(1, sizeof *r);
    r->info = (SchedInfo){.id = ++s->last_id, .user = q->user, .n_prompt = q->n_prompt,
                          .n = q->n, .t_submit = sched_now(), .queue_s = -1.0,
                          .first_token_s = -1.0, .finish_s = -1.0};
    r->sampling = q->sampling;
    r->max_tokens = max_tokens;
    r->to_context = q->max_tokens == 0;
    r->n_stop = q->n_stop;
    r->stop = llm_xcalloc((size_t)q->n_stop + 1, sizeof(char *));
    for (int i = 0; i < q->n_stop; i++) r->stop[i] = llm_xstrdup(q->stop[i]);
    r->n_stop_ids = q->n_stop_ids;
    for (int i = 0; i < q->n_stop_ids; i++) r->stop_ids[i] = q->stop_ids[i];
    r->ignore_eos = q->ignore_eos;
    r->forked = q->n == 1;
    r->seqs = llm_xcalloc((size_t)q->n, sizeof(SchedSeq));
    for (int j = 0; j < q->n; j++) {
        SchedSeq *x = &r->seqs[j];
        x->req = r;
        x->slot = -1;
        x->row = -1;
        x->state = j == 0 ? SCHED_SEQ_WAITING : SCHED_SEQ_PENDING;
        x->cap_tokens = q->n_prompt + max_tokens;
        x->tokens = llm_xmalloc(sizeof(int32_t) * (size_t)x->cap_tokens);
        memcpy(x->tokens, q->prompt, sizeof(int32_t) * (size_t)q->n_prompt);
        x->n_tokens = q->n_prompt;
        x->text_cap = 64;
        x->text = llm_xcalloc(x->text_cap, 1);
        x->out = (SchedOutput){.index = j, .seed = q->sampling.seed + (uint64_t)j,
                               .ids = x->tokens + q->n_prompt, .text = x->text,
                               .first_token_s = -1.0, .finish_s = -1.0, .stop_detail = -1};
    }
    return r;
}

int sched_submit(Sched *s, const SchedRequest *req, SchedId *id, LlmError *err) {
    int max_tokens = 0;
    if (check_prompt(s, req, err) != LLM_OK || check_limits(s, req, &max_tokens, err) != LLM_OK ||
        sampler_params_check(&req->sampling, &SAMPLER_FIELD_NAMES, err) != LLM_OK ||
        check_stops(s, req, err) != LLM_OK)
        return LLM_ERR;
    LLM_ASSERT(!s->in_step);
    SchedReq *r = req_new(s, req, max_tokens);
    if (s->n_reqs == s->cap_reqs) {
        s->cap_reqs = s->cap_reqs ? 2 * s->cap_reqs : 16;
        s->reqs = llm_xrealloc(s->reqs, sizeof(SchedReq *) * (size_t)s->cap_reqs);
    }
    s->reqs[s->n_reqs++] = r;
    sched_waiting_insert(s, &r->seqs[0]);
    s->stats.submitted++;
    *id = r->info.id;
    return LLM_OK;
}

/* ---- queries --------------------------------------------------------------- */

/* Index of request id in reqs (ordered by id), or -1. */
static int req_index(const Sched *s, SchedId id) {
    int lo = 0, hi = s->n_reqs - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        SchedId at = s->reqs[mid]->info.id;
        if (at == id) return mid;
        if (at < id) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

const SchedInfo *sched_info(const Sched *s, SchedId id) {
    int i = req_index(s, id);
    return i < 0 ? NULL : &s->reqs[i]->info;
}

const SchedOutput *sched_output(const Sched *s, SchedId id, int sample) {
    int i = req_index(s, id);
    if (i < 0 || sample < 0 || sample >= s->reqs[i]->info.n) return NULL;
    return &s->reqs[i]->seqs[sample].out;
}

int sched_cancel(Sched *s, SchedId id) {
    LLM_ASSERT(!s->in_step);
    int i = req_index(s, id);
    if (i < 0) return 0;
    SchedReq *r = s->reqs[i];
    if (r->info.n_finished == r->info.n) return 0;
    for (int j = 0; j < r->info.n; j++)
        if (r->seqs[j].state != SCHED_SEQ_FINISHED)
            sched_seq_finish(s, &r->seqs[j], SCHED_FINISH_CANCELLED, SCHED_CAUSE_CANCELLED, -1);
    return 1;
}

int sched_release(Sched *s, SchedId id) {
    LLM_ASSERT(!s->in_step);
    int i = req_index(s, id);
    if (i < 0 || s->reqs[i]->info.n_finished < s->reqs[i]->info.n) return 0;
    req_free(s->reqs[i]);
    memmove(s->reqs + i, s->reqs + i + 1, sizeof(SchedReq *) * (size_t)(s->n_reqs - i - 1));
    s->n_reqs--;
    return 1;
}

int sched_busy(const Sched *s) { return s->n_running > 0 || s->n_waiting > 0; }

SchedStats sched_stats(const Sched *s) {
    SchedStats st = s->stats;
    st.running = s->n_running;
    st.waiting = s->n_waiting;
    return st;
}
