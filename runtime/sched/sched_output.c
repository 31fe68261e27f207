/* sched_output.c - what happens to a sampled token: the stop checks in
 * sched.h's order, the penalty table, detokenization through the stop
 * matcher, the output arrays and the events; and finishing a sample.
 *
 * Text goes detokenizer -> stop matcher -> the sample's text, and the part
 * a token released is the TOKEN event's delta, so the deltas of a sample
 * concatenated are its text. A sample's decoder is primed with the prompt
 * so that the first generated piece keeps its leading space (gen.c does
 * the same).
 */
#include "sched/sched_internal.h"

#include <stdlib.h>
#include <string.h>

void sched_emit(Sched *s, SchedEventKind kind, SchedReq *r, SchedSeq *q, const char *delta,
                size_t len) {
    if (s->fn == NULL) return;
    SchedEvent ev = {.kind = kind, .info = &r->info, .out = q != NULL ? &q->out : NULL,
                     .delta = delta != NULL ? delta : "", .delta_len = len};
    s->fn(s->fn_ctx, &ev);
}

void sched_seq_setup(Sched *s, SchedSeq *q) {
    SchedReq *r = q->req;
    SamplerParams p = r->sampling;
    p.seed = q->out.seed;
    sampler_init(&q->sampler, &p, s->vocab);
    sampler_begin(&q->sampler, q->tokens, r->info.n_prompt);
    LlmError err;
    if (stop_matcher_init(&q->stops, (const char *const *)r->stop, r->n_stop, &err) != LLM_OK)
        LLM_BUG("stop strings checked at submit: %s", err.msg);
    q->dec = tok_decoder_new(s->be.tok);
    char discard[TOK_DECODE_MAX];
    for (int i = 0; i < r->info.n_prompt; i++) tok_decoder_push(q->dec, q->tokens[i], discard);
    q->ready = 1;
}

/* Frees what only a live sample needs. */
static void seq_teardown(SchedSeq *q) {
    if (!q->ready) return;
    sampler_free(&q->sampler);
    stop_matcher_free(&q->stops);
    tok_decoder_free(q->dec);
    q->dec = NULL;
    q->ready = 0;
}

void sched_seq_free(SchedSeq *q) {
    seq_teardown(q);
    free(q->tokens);
    free(q->text);
    free(q->logprobs);
    free(q->times);
}

/* Appends text [len] to q's text; returns where it starts. */
static const char *text_append(SchedSeq *q, const char *text, size_t len) {
    size_t at = q->out.text_len;
    if (at + len + 1 > q->text_cap) {
        q->text_cap = 2 * (at + len + 1);
        q->text = llm_xrealloc(q->text, q->text_cap);
        q->out.text = q->text;
    }
    if (len > 0) memcpy(q->text + at, text, len);
    q->out.text_len = at + len;
    q->text[q->out.text_len] = '\0';
    return q->text + at;
}

/* Passes decoded bytes through the stop matcher into the text; *released
 * / *n: what came out. Returns the matcher's status. */
static StopStatus text_push(SchedSeq *q, const char *bytes, size_t len, const char **released,
                            size_t *n) {
    const char *ready = NULL;
    size_t got = 0;
    StopStatus st = stop_matcher_push(&q->stops, bytes, len, &ready, &got);
    *released = text_append(q, ready, got);
    *n = got;
    return st;
}

/* Records output token id with its time and logprobs. */
static void out_append(SchedSeq *q, int32_t id, double t, const LlmTokenLogprobs *lp) {
    int n = q->out.n_ids;
    if (n == q->cap_out) {
        q->cap_out = q->cap_out ? 2 * q->cap_out : 16;
        q->times = llm_xrealloc(q->times, sizeof(double) * (size_t)q->cap_out);
        if (q->req->sampling.logprobs >= 0)
            q->logprobs = llm_xrealloc(q->logprobs, sizeof(LlmTokenLogprobs) * (size_t)q->cap_out);
    }
    LLM_ASSERT(q->n_tokens < q->cap_tokens);
    q->tokens[q->n_tokens++] = id;
    q->times[n] = t;
    if (q->logprobs != NULL) q->logprobs[n] = *lp;
    q->out.n_ids = n + 1;
    q->out.token_times = q->times;
    q->out.logprobs = q->logprobs;
}

/* The stop-token checks: 1 when id ends q (finished here). */
static int is_stop_token(Sched *s, SchedSeq *q, int32_t id) {
    SchedReq *r = q->req;
    if (!r->ignore_eos && id == s->eos) {
        sched_seq_finish(s, q, SCHED_FINISH_STOP, SCHED_CAUSE_EOS, -1);
        return 1;
    }
    for (int i = 0; i < r->n_stop_ids; i++)
        if (id == r->stop_ids[i]) {
            sched_seq_finish(s, q, SCHED_FINISH_STOP, SCHED_CAUSE_STOP_ID, (int)id);
            return 1;
        }
    return 0;
}

void sched_seq_take(Sched *s, SchedSeq *q, int32_t id, const LlmTokenLogprobs *lp) {
    SchedReq *r = q->req;
    double t = sched_now() - r->info.t_submit;
    if (q->out.first_token_s < 0) q->out.first_token_s = t;
    if (r->info.first_token_s < 0) r->info.first_token_s = t;
    if (is_stop_token(s, q, id)) return;
    sampler_accept(&q->sampler, id);
    out_append(q, id, t, lp);
    char buf[TOK_DECODE_MAX];
    size_t len = tok_decoder_push(q->dec, id, buf);
    const char *delta = NULL;
    size_t n = 0;
    StopStatus st = text_push(q, buf, len, &delta, &n);
    sched_emit(s, SCHED_EVENT_TOKEN, r, q, delta, n);
    if (st == STOP_MATCHED)
        sched_seq_finish(s, q, SCHED_FINISH_STOP, SCHED_CAUSE_STOP_STRING, q->stops.matched);
    else if (q->out.n_ids >= r->max_tokens)
        sched_seq_finish(s, q, SCHED_FINISH_LENGTH,
                         r->to_context ? SCHED_CAUSE_CONTEXT : SCHED_CAUSE_MAX_TOKENS, -1);
    else if (q->n_tokens > s->be.prog->max_context) /* its next position would not exist */
        sched_seq_finish(s, q, SCHED_FINISH_LENGTH, SCHED_CAUSE_CONTEXT, -1);
}

/* Releases what the detokenizer and the stop matcher hold; returns where
 * the released text starts in q's text. */
static const char *seq_flush(SchedSeq *q, size_t *n) {
    size_t at = q->out.text_len;
    if (q->ready) {
        char buf[TOK_DECODE_MAX];
        size_t len = tok_decoder_flush(q->dec, buf);
        const char *ignored = NULL;
        size_t got = 0;
        text_push(q, buf, len, &ignored, &got);
        const char *held = NULL;
        stop_matcher_flush(&q->stops, &held, &got);
        text_append(q, held, got);
    }
    *n = q->out.text_len - at;
    return q->text + at;
}

/* Takes q out of the running or waiting list, giving back its slot. */
static void seq_leave_lists(Sched *s, SchedSeq *q) {
    if (q->state == SCHED_SEQ_RUNNING) {
        s->slots_held -= sched_seq_slots(q);
        kv_seq_release(s->be.kv, q->slot);
        q->slot = -1;
        sched_running_remove(s, q);
    } else if (q->state == SCHED_SEQ_WAITING) {
        sched_waiting_remove(s, q);
    }
}

void sched_seq_finish(Sched *s, SchedSeq *q, SchedFinish f, SchedCause c, int detail) {
    SchedReq *r = q->req;
    LLM_ASSERT(q->state != SCHED_SEQ_FINISHED);
    seq_leave_lists(s, q);
    q->state = SCHED_SEQ_FINISHED;
    size_t n = 0;
    const char *delta = seq_flush(q, &n);
    seq_teardown(q);
    q->out.finish = f;
    q->out.cause = c;
    q->out.stop_detail = detail;
    q->out.finish_s = sched_now() - r->info.t_submit;
    r->info.n_finished++;
    sched_emit(s, SCHED_EVENT_FINISH, r, q, delta, n);
    if (!r->forked) { /* the first sample ended before the fork: the others never run */
        r->forked = 1;
        for (int j = 1; j < r->info.n; j++) sched_seq_finish(s, &r->seqs[j], f, c, detail);
    }
    if (r->info.n_finished == r->info.n) {
        r->info.finish_s = sched_now() - r->info.t_submit;
        s->stats.finished++;
        sched_emit(s, SCHED_EVENT_DONE, r, NULL, NULL, 0);
    }
}
