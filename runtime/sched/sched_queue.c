/* sched_queue.c - the running and waiting lists and the plan of one step:
 * forks, chunks of running sequences (with preemption of the newest),
 * admissions first come first served (see sched.h for the policy).
 *
 * Both lists are short (running <= max_seqs; waiting grows with the
 * backlog) and kept ordered by (request id, sample index) with insertion
 * by memmove, so "oldest" is the front and "newest" the back.
 */
#include "sched/sched_internal.h"

#include <string.h>

int sched_seq_slots(const SchedSeq *q) { return q->req->forked ? 1 : q->req->info.n; }

/* 1 when a is older than b: earlier request, or same request, lower sample. */
static int seq_before(const SchedSeq *a, const SchedSeq *b) {
    if (a->req->info.id != b->req->info.id) return a->req->info.id < b->req->info.id;
    return a->out.index < b->out.index;
}

static void list_insert(SchedSeq **list, int *n, SchedSeq *q) {
    int at = *n;
    while (at > 0 && seq_before(q, list[at - 1])) at--;
    memmove(list + at + 1, list + at, sizeof(SchedSeq *) * (size_t)(*n - at));
    list[at] = q;
    (*n)++;
}

static void list_remove(SchedSeq **list, int *n, SchedSeq *q) {
    for (int i = 0; i < *n; i++)
        if (list[i] == q) {
            memmove(list + i, list + i + 1, sizeof(SchedSeq *) * (size_t)(*n - i - 1));
            (*n)--;
            return;
        }
    LLM_BUG("sequence %d of request %llu is not in the list", q->out.index,
            (unsigned long long)q->req->info.id);
}

void sched_waiting_insert(Sched *s, SchedSeq *q) {
    if (s->n_waiting == s->cap_waiting) {
        s->cap_waiting = s->cap_waiting ? 2 * s->cap_waiting : 16;
        s->waiting = llm_xrealloc(s->waiting, sizeof(SchedSeq *) * (size_t)s->cap_waiting);
    }
    list_insert(s->waiting, &s->n_waiting, q);
}

void sched_waiting_remove(Sched *s, SchedSeq *q) { list_remove(s->waiting, &s->n_waiting, q); }
void sched_running_remove(Sched *s, SchedSeq *q) { list_remove(s->running, &s->n_running, q); }

static void running_insert(Sched *s, SchedSeq *q) {
    LLM_ASSERT(s->n_running < s->max_seqs);
    list_insert(s->running, &s->n_running, q);
}

void sched_preempt(Sched *s, SchedSeq *q) {
    LLM_ASSERT(q->state == SCHED_SEQ_RUNNING);
    kv_seq_release(s->be.kv, q->slot);
    q->slot = -1;
    q->n_computed = 0;
    sched_running_remove(s, q);
    s->slots_held -= sched_seq_slots(q);
    q->state = SCHED_SEQ_WAITING;
    sched_waiting_insert(s, q);
    q->out.n_preempted++;
    s->stats.preemptions++;
}

/* Where q's computation may go before it needs something else: the end of
 * its tokens, or, for the first sample of an unforked request, the prompt
 * without its last token (the fork point). */
static int seq_limit(const SchedSeq *q) {
    return q->req->forked ? q->n_tokens : q->req->info.n_prompt - 1;
}

/* The other samples of q's request share q's blocks from now on. */
static void fork_request(Sched *s, SchedSeq *q) {
    SchedReq *r = q->req;
    for (int j = 1; j < r->info.n; j++) {
        SchedSeq *c = &r->seqs[j];
        LLM_ASSERT(c->state == SCHED_SEQ_PENDING);
        if (kv_seq_fork(s->be.kv, q->slot, &c->slot) != KV_OK) LLM_BUG("no KV slot left for a fork");
        c->n_computed = q->n_computed;
        c->state = SCHED_SEQ_RUNNING;
        sched_seq_setup(s, c);
        running_insert(s, c);
    }
    r->forked = 1; /* slots_held is unchanged: the n slots were held since admission */
}

static void plan_forks(Sched *s) {
    for (int i = 0; i < s->n_running; i++) {
        SchedSeq *q = s->running[i];
        if (!q->req->forked && q->n_computed == seq_limit(q)) fork_request(s, q);
    }
}

/* Reserves KV for the next want tokens of q, or for fewer (ending at an
 * earlier block boundary) when they do not fit; returns the tokens
 * reserved, 0 when not even one fits. */
static int fit_chunk(Sched *s, SchedSeq *q, int want) {
    KvCache *kv = s->be.kv;
    int bs = kv->shape.block_size;
    int end = q->n_computed + want;
    if (kv_seq_reserve(kv, q->slot, end) == KV_OK) return want;
    for (end = (end - 1) / bs * bs; end > q->n_computed; end -= bs)
        if (kv_seq_reserve(kv, q->slot, end) == KV_OK) return end - q->n_computed;
    return 0;
}

static void plan_add(Sched *s, SchedSeq *q, int chunk, int *budget) {
    q->chunk = chunk;
    s->plan[s->n_plan++] = q;
    *budget -= chunk;
}

/* Chunks for the running sequences, oldest first; preempts the newest
 * while the current one does not fit. */
static void plan_running(Sched *s, int *budget) {
    for (int i = 0; i < s->n_running && *budget > 0; i++) {
        SchedSeq *q = s->running[i];
        int want = seq_limit(q) - q->n_computed;
        if (want > *budget) want = *budget;
        if (want <= 0) continue;
        int got = fit_chunk(s, q, want);
        while (got == 0 && s->running[s->n_running - 1] != q) {
            sched_preempt(s, s->running[s->n_running - 1]);
            got = fit_chunk(s, q, want);
        }
        if (got > 0) {
            plan_add(s, q, got, budget);
        } else if (i == 0) { /* alone, and still no room: the pool is its limit */
            sched_seq_finish(s, q, SCHED_FINISH_LENGTH, SCHED_CAUSE_KV_POOL, -1);
            i--;
        } else { /* q is the newest: it goes itself (the loop ends, q was last) */
            sched_preempt(s, q);
        }
    }
}

static int blocks_available(const KvCache *kv) {
    KvStats st = kv_cache_stats(kv);
    return st.n_free + st.n_cached;
}

/* First admission of a request: queue time and prefix hit. */
static void note_admission(SchedSeq *q, int n_cached) {
    SchedInfo *info = &q->req->info;
    if (info->queue_s >= 0) return;
    info->queue_s = sched_now() - info->t_submit;
    info->n_cached = n_cached;
}

/* Admits the head of the waiting list if slots, budget and blocks allow;
 * 0 when it stays waiting (admission stops there). */
static int admit_one(Sched *s, int *budget) {
    KvCache *kv = s->be.kv;
    SchedSeq *q = s->waiting[0];
    int slots = sched_seq_slots(q);
    if (s->slots_held + slots > s->max_seqs) return 0;
    int slot = -1, cached = 0;
    if (kv_seq_open_prompt(kv, q->tokens, q->n_tokens, &slot, &cached) != KV_OK)
        LLM_BUG("no free KV slot with %d of %d held", s->slots_held, s->max_seqs);
    q->slot = slot;
    q->n_computed = cached;
    int want = seq_limit(q) - cached;
    if (want > *budget) want = *budget;
    int got = want > 0 ? fit_chunk(s, q, want) : 0;
    if (want > 0 && (got == 0 || (s->n_running > 0 && blocks_available(kv) < s->watermark))) {
        kv_seq_release(kv, slot);
        q->slot = -1;
        q->n_computed = 0;
        return 0;
    }
    sched_waiting_remove(s, q);
    q->state = SCHED_SEQ_RUNNING;
    running_insert(s, q);
    s->slots_held += slots;
    note_admission(q, cached);
    if (!q->ready) sched_seq_setup(s, q);
    if (got > 0) plan_add(s, q, got, budget);
    return 1;
}

void sched_plan(Sched *s) {
    int budget = s->budget;
    s->n_plan = 0;
    plan_forks(s);
    plan_running(s, &budget);
    while (s->n_waiting > 0 && budget > 0 && admit_one(s, &budget)) {}
}
