/* sched_step.c - one step: the plan (sched_queue.c) becomes an LlmBatch
 * with its sampling input, the engine runs it (copy-on-write copies
 * first) and samples every logits row, the sequences advance, their full
 * blocks are committed, and the sampled tokens go to sched_output.c.
 *
 * Batch layout: the planned sequences in plan order, each one's chunk
 * contiguous and in position order; block-table row r of the batch is
 * the r-th planned sequence's table (copied, so the engine sees only the
 * rows it needs). A chunk that reaches the end of its sequence's tokens
 * gets one logits row (its last token) and one LlmSampleRow, its
 * Sampler's next row; that Sampler's penalty table (empty without
 * penalties) is appended to the step's table and the row's counts_offset
 * moved to it. The engine samples every row, penalties and logprobs
 * included; nothing is picked on the host.
 *
 * KV statistics after each step: the blocks in use and how many of their
 * token slots hold K/V of a running sequence (a block shared by several
 * sequences counts once, with the most tokens any of them holds in it).
 *
 * The step in three parts (sched.h): begin = plan + build_batch, run =
 * run_engine alone (it reads the batch arrays and writes sampled, lps and
 * step_engine_s, nothing else of the Sched, so it may run on another
 * thread), end = the statistics + apply_step on the owner's thread. The batch's sizes live in
 * the Sched (n_step_*) from begin to end.
 */
#include "sched/sched_internal.h"

#include <string.h>

#include "engine/engine_step.h"

/* Logits row k of the step samples for q: its Sampler's next row, with
 * its penalty list appended to the step's table at *n_counts. */
static void add_sample_row(Sched *s, SchedSeq *q, int k, int *n_counts) {
    Sampler *sp = &q->sampler;
    sampler_next_row(sp, &s->rows[k]);
    int need = *n_counts + sp->n_counts;
    if (need > s->cap_counts) {
        s->cap_counts = need > 2 * s->cap_counts ? need : 2 * s->cap_counts;
        s->counts = llm_xrealloc(s->counts, sizeof(LlmTokenCount) * (size_t)s->cap_counts);
    }
    if (sp->n_counts > 0)
        memcpy(s->counts + *n_counts, sp->counts, sizeof(LlmTokenCount) * (size_t)sp->n_counts);
    s->rows[k].counts_offset = *n_counts;
    *n_counts = need;
}

/* Fills the batch arrays and the sampling rows from the plan; *n_logits
 * rows, *n_counts entries of the penalty table. Returns the token count. */
static int build_batch(Sched *s, int *n_logits, int *n_counts) {
    const KvCache *kv = s->be.kv;
    size_t mb = (size_t)s->be.prog->max_blocks_per_seq;
    int t = 0, k = 0;
    *n_counts = 0;
    for (int r = 0; r < s->n_plan; r++) {
        SchedSeq *q = s->plan[r];
        memcpy(s->tables + (size_t)r * mb, kv_seq_block_table(kv, q->slot), sizeof(int32_t) * mb);
        for (int j = 0; j < q->chunk; j++, t++) {
            s->tokens[t] = q->tokens[q->n_computed + j];
            s->positions[t] = q->n_computed + j;
            s->seq_index[t] = r;
        }
        q->row = -1;
        if (q->n_computed + q->chunk == q->n_tokens) {
            q->row = k;
            s->logit_rows[k] = t - 1;
            add_sample_row(s, q, k, n_counts);
            k++;
        }
    }
    *n_logits = k;
    return t;
}

/* Live token slots in the blocks of the running sequences (module comment). */
static long long kv_live_tokens(Sched *s) {
    const KvCache *kv = s->be.kv;
    int bs = kv->shape.block_size;
    uint32_t stamp = ++s->step_stamp;
    long long live = 0;
    for (int i = 0; i < s->n_running; i++) {
        const KvSeq *seq = &kv->seqs[s->running[i]->slot];
        for (int b = 0; b < seq->n_blocks; b++) {
            int32_t id = seq->block_table[b];
            int fill = seq->n_tokens - b * bs < bs ? seq->n_tokens - b * bs : bs;
            if (s->stamp[id] != stamp) {
                s->stamp[id] = stamp;
                s->fill[id] = 0;
            }
            if (fill > s->fill[id]) {
                live += fill - s->fill[id];
                s->fill[id] = fill;
            }
        }
    }
    return live;
}

static void note_kv_use(Sched *s) {
    KvStats kv = kv_cache_stats(s->be.kv);
    long long live = kv_live_tokens(s);
    SchedStats *st = &s->stats;
    st->sum_used_slots += (long long)kv.n_used * s->be.kv->shape.block_size;
    st->sum_live_tokens += live;
    if (kv.n_used > st->peak_used_blocks) {
        st->peak_used_blocks = kv.n_used;
        st->peak_live_tokens = live;
    }
}

/* Advances the planned sequences, commits their full blocks, then hands
 * each sampled token (and its logprobs, when asked) over, which may
 * finish and release a sequence. */
static void apply_step(Sched *s) {
    KvCache *kv = s->be.kv;
    for (int r = 0; r < s->n_plan; r++) {
        SchedSeq *q = s->plan[r];
        q->n_computed += q->chunk;
        kv_seq_commit(kv, q->slot, q->tokens, q->n_computed);
    }
    note_kv_use(s);
    for (int r = 0; r < s->n_plan; r++) {
        SchedSeq *q = s->plan[r];
        if (q->row < 0) continue;
        const LlmTokenLogprobs *lp = s->rows[q->row].logprobs ? &s->lps[q->row] : NULL;
        sched_seq_take(s, q, s->sampled[q->row], lp);
    }
}

static int run_engine(Sched *s, LlmError *err) {
    const LlmProgram *p = s->be.prog;
    int n_logits = s->n_step_logits, n_counts = s->n_step_counts;
    LlmBatch b = {.n_tokens = s->n_step_tokens, .tokens = s->tokens, .positions = s->positions,
                  .seq_index = s->seq_index, .n_seqs = s->n_plan, .block_tables = s->tables,
                  .n_logits = n_logits, .logit_rows = s->logit_rows, .logits = NULL};
    LlmStepSample in = {.rows = s->rows, .counts = n_counts > 0 ? s->counts : NULL,
                        .n_counts = n_counts, .ids = s->sampled, .logprobs = s->lps};
    return engine_step_kv(p->engine, s->be.engine, s->be.kv, &b, n_logits > 0 ? &in : NULL, err);
}

int sched_step_begin(Sched *s) {
    LLM_ASSERT(!s->in_step);
    sched_plan(s);
    if (s->n_plan == 0 && sched_busy(s)) sched_plan(s); /* a fork became ready */
    if (s->n_plan == 0) return 0;
    s->n_step_tokens = build_batch(s, &s->n_step_logits, &s->n_step_counts);
    s->in_step = 1;
    return 1;
}

int sched_step_run(Sched *s, LlmError *err) {
    LLM_ASSERT(s->in_step);
    double t0 = sched_now();
    int rc = run_engine(s, err);
    s->step_engine_s = sched_now() - t0;
    if (rc == LLM_OK) return LLM_OK;
    s->in_step = 0; /* abandoned: no sched_step_end */
    return LLM_ERR;
}

void sched_step_end(Sched *s) {
    LLM_ASSERT(s->in_step);
    s->stats.steps++;
    s->stats.batch_tokens += s->n_step_tokens;
    s->stats.sampled_tokens += s->n_step_logits;
    s->stats.engine_s += s->step_engine_s;
    if (s->n_step_tokens == s->n_plan) {
        s->stats.decode_steps++;
        s->stats.decode_tokens += s->n_step_tokens;
        s->stats.decode_engine_s += s->step_engine_s;
    }
    if (s->n_running > s->stats.peak_running) s->stats.peak_running = s->n_running;
    apply_step(s);
    s->in_step = 0;
}

int sched_step(Sched *s, LlmError *err) {
    if (!sched_step_begin(s)) return LLM_OK;
    if (sched_step_run(s, err) != LLM_OK) return LLM_ERR;
    sched_step_end(s);
    return LLM_OK;
}
