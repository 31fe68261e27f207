/* sched_internal.h - what the files of runtime/sched share: the request and
 * sequence records, the queues, and the functions that move sequences
 * between them. Internal to runtime/sched.
 *
 * Files: sched.c (create, submit and its checks, cancel, queries),
 * sched_queue.c (the running and waiting lists, slots, admission,
 * preemption, forks: the plan of a step), sched_step.c (the batch with
 * its sampling rows and penalty table, the engine call, commits, KV
 * statistics), sched_output.c (a
 * sampled token: stop conditions, text, events, finishing).
 *
 * Invariants: a sequence is in exactly one of: the running list (it holds
 * KV slot `slot`, kv length == n_computed between steps), the waiting list
 * (slot -1, n_computed 0), neither (PENDING: a sample of an unforked
 * request; FINISHED). Both lists are ordered by (request id, sample index),
 * oldest first. slots_held == running sequences + (n - 1) for every running
 * request that has not forked yet, <= max_seqs.
 */
#ifndef LLMCC_SCHED_SCHED_INTERNAL_H
#define LLMCC_SCHED_SCHED_INTERNAL_H

#include "sched/sched.h"
#include "sample/stop.h"

typedef enum SchedSeqState {
    SCHED_SEQ_PENDING = 0, /* sample j > 0 of a request that has not forked yet */
    SCHED_SEQ_WAITING,     /* in the waiting list, no KV slot */
    SCHED_SEQ_RUNNING,     /* in the running list, holds a KV slot */
    SCHED_SEQ_FINISHED     /* done; only its output remains */
} SchedSeqState;

typedef struct SchedReq SchedReq;

/* One sample of a request. */
typedef struct SchedSeq {
    SchedReq *req;        /* owner */
    SchedOutput out;      /* the public view (ids, text, logprobs, times point into this) */
    SchedSeqState state;
    int slot;             /* KV slot while running, else -1 */
    int32_t *tokens;      /* [cap_tokens] the prompt, then the output */
    int n_tokens;         /* prompt + output tokens */
    int cap_tokens;       /* n_prompt + max_tokens */
    int n_computed;       /* leading tokens whose K/V are in the cache */
    int ready;            /* 1 once sampler, stops and dec are set up */
    Sampler sampler;      /* this sample's parameters, stream and penalty table */
    StopMatcher stops;    /* the request's stop strings over this sample's text */
    TokDecoder *dec;      /* streaming detokenizer, primed with the prompt */
    char *text;           /* [text_cap] released text, NUL-terminated */
    size_t text_cap;
    LlmTokenLogprobs *logprobs; /* [cap_out] when logprobs are asked */
    double *times;        /* [cap_out] token times */
    int cap_out;          /* entries allocated in logprobs / times */
    int chunk;            /* this step: tokens fed from n_computed */
    int row;              /* this step: logits row, -1 = none */
} SchedSeq;

struct SchedReq {
    SchedInfo info;       /* the public view */
    SamplerParams sampling; /* sample j: seed + j */
    int max_tokens;       /* resolved: >= 1 */
    int to_context;       /* 1 when max_tokens was 0 (its end is the context's) */
    char **stop;          /* [n_stop] owned copies */
    int n_stop;
    int32_t stop_ids[SCHED_MAX_STOP_IDS];
    int n_stop_ids;
    int ignore_eos;
    int forked;           /* 1 once every sample is a sequence of its own (n == 1: always) */
    SchedSeq *seqs;       /* [info.n] */
};

struct Sched {
    SchedBackend be;
    int budget;           /* tokens per step */
    int max_seqs;         /* sequences running at once */
    int watermark;        /* free blocks an admission leaves while others run */
    int vocab;
    int32_t eos;          /* -1 if the tokenizer has none */
    SchedEventFn fn;      /* event callback or NULL */
    void *fn_ctx;
    SchedReq **reqs;      /* [cap_reqs] unreleased requests, ordered by id */
    int n_reqs, cap_reqs;
    SchedId last_id;      /* the last id handed out */
    SchedSeq **running;   /* [max_seqs] */
    int n_running;
    SchedSeq **waiting;   /* [cap_waiting] */
    int n_waiting, cap_waiting;
    int slots_held;       /* see the invariants above */
    /* step scratch */
    SchedSeq **plan;      /* [max_seqs] sequences fed this step, in batch order */
    int n_plan;
    int32_t *tokens, *positions, *seq_index, *logit_rows, *sampled; /* [budget] */
    int32_t *tables;      /* [max_seqs][max_blocks_per_seq] block tables of the plan */
    LlmSampleRow *rows;   /* [budget] the step's sampling rows, one per logits row */
    LlmTokenLogprobs *lps; /* [max_seqs] the step's logprobs (a sequence has <= 1 logits row) */
    LlmTokenCount *counts; /* [cap_counts] the step's penalty table: the rows' Sampler lists */
    int cap_counts;       /* entries allocated in counts (grown as a step needs) */
    uint32_t *stamp;      /* [n_blocks] KV statistics: last step that counted the block */
    int32_t *fill;        /* [n_blocks] live slots of the block this step */
    uint32_t step_stamp;
    int n_step_tokens;    /* the begun step: tokens, logits rows and penalty entries */
    int n_step_logits, n_step_counts;
    double step_engine_s; /* the begun step's engine run, seconds (set by run, read by end) */
    int in_step;          /* 1 from sched_step_begin (a step to run) to sched_step_end, or
                             to a failed sched_step_run */
    SchedStats stats;
};

double sched_now(void);

/* ---- sched_queue.c ---- */
/* KV slots a sequence holds or reserves: n for an unforked first sample. */
int sched_seq_slots(const SchedSeq *q);
void sched_waiting_insert(Sched *s, SchedSeq *q);
void sched_running_remove(Sched *s, SchedSeq *q);
void sched_waiting_remove(Sched *s, SchedSeq *q);
/* Gives q's blocks back and puts it at its place in the waiting list. */
void sched_preempt(Sched *s, SchedSeq *q);
/* Plans the step: forks, running chunks (preempting), admissions. */
void sched_plan(Sched *s);

/* ---- sched_output.c ---- */
/* Sampler, stop matcher, detokenizer of a sequence about to run first. */
void sched_seq_setup(Sched *s, SchedSeq *q);
/* A token sampled for q (lp: its logprobs, or NULL). */
void sched_seq_take(Sched *s, SchedSeq *q, int32_t id, const LlmTokenLogprobs *lp);
/* Ends q: releases its slot, flushes text, events; DONE when it was the
 * request's last. */
void sched_seq_finish(Sched *s, SchedSeq *q, SchedFinish f, SchedCause c, int detail);
void sched_seq_free(SchedSeq *q);
void sched_emit(Sched *s, SchedEventKind kind, SchedReq *r, SchedSeq *q, const char *delta,
                size_t len);

#endif
