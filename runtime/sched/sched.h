/* sched.h - the iteration-level scheduler: continuous batching over one
 * engine and one paged KV pool.
 *
 * Requests (prompt token ids, sampling parameters, stop conditions, max
 * tokens, seed, n parallel samples) are submitted at any time; each
 * sched_step() runs ONE forward step whose batch mixes a decode token of
 * every running sequence with chunks of prompts being prefilled, within a
 * token budget (max_batch_tokens <= program max_tokens). Requests join and
 * leave between steps. Target-agnostic: it builds LlmBatch and drives the
 * engine through its ops (engine/engine_step.h), so it never assumes one
 * token or one sequence per step.
 *
 * A sequence is one sample of a request. Its token list is the prompt
 * followed by what it generated; n_computed of them have K/V in the cache.
 * Prefill and decode are the same operation: a step feeds the next chunk
 * of tokens[n_computed..]; when the chunk reaches the end of the list, the
 * last row's logits give the next token. So recomputation after preemption
 * is just a longer prefill over prompt + generated tokens.
 *
 * Each step, in this order:
 *  1. running sequences, oldest first, get their next chunk (a decode is a
 *     chunk of 1) while budget remains; before the step kv_seq_reserve
 *     makes room. A prefill chunk that does not fit the free blocks is
 *     shortened to what fits; when nothing fits, the NEWEST running
 *     sequence is preempted (its blocks released, the sequence put back at
 *     the head of the waiting queue with everything it generated kept) and
 *     the reservation retried. A sequence that cannot grow even when it
 *     runs alone has outgrown the pool: it finishes with "length".
 *  2. waiting sequences are admitted first come, first served (a preempted
 *     one arrived before every never-admitted one, so it comes first) while
 *     budget, sequence slots and blocks remain: kv_seq_open_prompt shares
 *     the longest cached prefix (prefix caching), the rest is prefilled in
 *     chunks. Admission never preempts, and stops at the first request that
 *     does not fit (no overtaking). While other sequences run, an admission
 *     leaves a watermark of free blocks (1% of the pool, at least 1) so
 *     that running sequences can grow.
 *  3. the engine runs the step (pending copy-on-write copies first) and
 *     samples every logits row (see Sampling below); each
 *     sequence's full blocks are committed to the prefix cache
 *     (kv_seq_commit); sampled tokens are checked against the stop
 *     conditions; finished sequences release their blocks at once.
 *
 * Sampling: every sample has its own Sampler (sampler.h) and LlmRng
 * stream seeded with seed + sample index, and draws exactly one uniform
 * per sampled token (none when greedy), so a request gives the same tokens
 * whatever else runs, and sample j of a request with n > 1 gives the same
 * tokens as that request with n = 1 and seed + j. Every row is sampled
 * inside the engine's step (on the device on cuda) with its full row: the
 * step's penalty table is the planned sequences' Sampler lists, appended
 * in plan order with each row's counts_offset moved to its own list, and
 * logprobs come back with the ids (engine.h, LlmStepSample). The step's
 * logits never come to the host.
 *
 * n > 1: the first sample prefills the prompt except its last token; then
 * kv_seq_fork gives the other samples the same blocks (slots for all n are
 * held from admission on), and each sample computes the last prompt token
 * itself, which gives its own logits row (and, if the last block is partly
 * filled, its own copy of that block via copy-on-write). From then on the
 * samples are independent sequences (each may be preempted on its own).
 *
 * Stop conditions, checked on each sampled token in this order: EOS
 * (unless ignore_eos) and stop ids end the sample with "stop" and are not
 * part of the output; a stop string (stop.h, over the detokenized text)
 * ends it with "stop", the text cut before it; max_tokens output tokens, or
 * the end of the context, or of the KV pool, end it with "length".
 *
 * Requests are checked when submitted; a bad one gets an error and never
 * enters (others are not affected). Running out of KV blocks is never an
 * error. Engine failures (device errors) fail sched_step.
 *
 * Not thread-safe: one thread, the owner, calls everything (a server
 * serialises submits and steps), with one exception: the engine call of a
 * step (sched_step_run) may run on another thread while the owner does
 * host work (see the split step below). Callbacks run inside sched_step
 * (sched_step_end) and sched_cancel; they may query (sched_info,
 * sched_output, sched_stats) but must not submit, step, cancel or
 * release: record what to do and act after the call returns.
 */
#ifndef LLMCC_SCHED_SCHED_H
#define LLMCC_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/program.h"
#include "engine/engine.h"
#include "kv/kv_cache.h"
#include "sample/sampler.h"
#include "tok/tok.h"

#define SCHED_MAX_N 16        /* parallel samples per request */
#define SCHED_MAX_STOP_IDS 16 /* stop token ids per request */

typedef uint64_t SchedId; /* request id: 1, 2, ... in submission order, never reused */

/* What the scheduler runs on; nothing here is owned by the scheduler. The
 * KV cache must have no open sequence when the scheduler is created, and
 * nothing else may open one while it lives. */
typedef struct SchedBackend {
    const LlmProgram *prog;     /* shapes and limits; prog->engine runs the steps */
    LlmEngine *engine;          /* open, its KV storage allocated for kv->n_blocks */
    KvCache *kv;                /* the pool's bookkeeping, kv->max_seqs sequence slots */
    const Tokenizer *tok;       /* detokenization for text and stop strings; EOS id (required) */
} SchedBackend;

typedef struct SchedConfig {
    int max_batch_tokens; /* tokens per step, 1..prog->max_tokens; 0 = prog->max_tokens */
    int max_seqs;         /* sequences running at once, 1..kv->max_seqs; 0 = kv->max_seqs.
                             Never more than max_batch_tokens (each needs a token per step) */
} SchedConfig;

/* One request. Everything is copied by sched_submit. */
typedef struct SchedRequest {
    const int32_t *prompt;       /* [n_prompt] token ids, BOS included if the model wants it */
    int n_prompt;                /* >= 1 */
    SamplerParams sampling;      /* temperature .. logprobs, seed (sample j uses seed + j) */
    int max_tokens;              /* output tokens per sample, >= 1; 0 = until the context is full */
    int n;                       /* parallel samples, 1..SCHED_MAX_N */
    const char *const *stop;     /* [n_stop] stop strings (stop.h limits) */
    int n_stop;
    const int32_t *stop_ids;     /* [n_stop_ids] stop token ids */
    int n_stop_ids;              /* 0..SCHED_MAX_STOP_IDS */
    int ignore_eos;              /* 1: EOS is an ordinary token */
    void *user;                  /* passed back in events and info, not touched */
} SchedRequest;

typedef enum SchedFinish {
    SCHED_FINISH_NONE = 0, /* still running or waiting */
    SCHED_FINISH_STOP,     /* EOS, a stop id or a stop string ("stop") */
    SCHED_FINISH_LENGTH,   /* max_tokens, the context or the KV pool ("length") */
    SCHED_FINISH_CANCELLED /* sched_cancel ("cancelled") */
} SchedFinish;

/* Why a sample finished, in more detail than SchedFinish. */
typedef enum SchedCause {
    SCHED_CAUSE_NONE = 0,
    SCHED_CAUSE_EOS,         /* the model's EOS token */
    SCHED_CAUSE_STOP_ID,     /* a stop id (SchedOutput.stop_detail: the id) */
    SCHED_CAUSE_STOP_STRING, /* a stop string (stop_detail: its index) */
    SCHED_CAUSE_MAX_TOKENS,  /* max_tokens output tokens */
    SCHED_CAUSE_CONTEXT,     /* the next position would be past the context */
    SCHED_CAUSE_KV_POOL,     /* the sequence alone needs more blocks than the pool has */
    SCHED_CAUSE_CANCELLED    /* sched_cancel */
} SchedCause;

/* One sample of a request, kept current as it runs (pointers change when
 * the arrays grow: read them again after each step). */
typedef struct SchedOutput {
    int index;                       /* sample number, 0..n-1 */
    uint64_t seed;                   /* its sampling seed (request seed + index) */
    const int32_t *ids;              /* [n_ids] output tokens (stop tokens excluded) */
    int n_ids;
    const char *text;                /* [text_len] text released so far, NUL-terminated */
    size_t text_len;
    const LlmTokenLogprobs *logprobs; /* [n_ids] when the request asked for logprobs, else NULL */
    const double *token_times;       /* [n_ids] seconds from submission to each token */
    double first_token_s;            /* seconds from submission to the first sampled token
                                        (a stop token counts), -1 before */
    double finish_s;                 /* seconds from submission to the finish, -1 before */
    SchedFinish finish;              /* SCHED_FINISH_NONE while it runs */
    SchedCause cause;
    int stop_detail;                 /* the stop id, or the stop string's index; -1 otherwise */
    int n_preempted;                 /* times its blocks were taken back */
} SchedOutput;

/* A request as a whole. */
typedef struct SchedInfo {
    SchedId id;
    void *user;                /* SchedRequest.user */
    int n_prompt;              /* prompt tokens */
    int n_cached;              /* prompt tokens found in the prefix cache at first admission */
    int n;                     /* samples */
    int n_finished;            /* samples finished */
    double t_submit;           /* CLOCK_MONOTONIC seconds at submission */
    double queue_s;            /* submission to first admission, -1 before */
    double first_token_s;      /* submission to the first token of any sample, -1 before */
    double finish_s;           /* submission to the last sample's finish, -1 before */
} SchedInfo;

typedef enum SchedEventKind {
    SCHED_EVENT_TOKEN = 0, /* a sample produced an output token (delta: text it released) */
    SCHED_EVENT_FINISH,    /* a sample finished (delta: the text still held back, now released) */
    SCHED_EVENT_DONE       /* every sample of the request finished (out: NULL) */
} SchedEventKind;

typedef struct SchedEvent {
    SchedEventKind kind;
    const SchedInfo *info;  /* the request */
    const SchedOutput *out; /* the sample (TOKEN, FINISH), NULL for DONE */
    const char *delta;      /* [delta_len] new text; may be empty (held back by the
                               detokenizer or the stop matcher) */
    size_t delta_len;
} SchedEvent;

/* Called for every event; ctx is SchedCallbacks.ctx. */
typedef void (*SchedEventFn)(void *ctx, const SchedEvent *ev);

/* Counters since sched_create, and the state now. */
typedef struct SchedStats {
    long long steps;            /* engine steps run */
    long long batch_tokens;     /* tokens fed, all steps (prefill, recomputation, decode) */
    long long sampled_tokens;   /* logits rows sampled */
    long long preemptions;      /* sequences preempted */
    long long submitted;        /* requests accepted */
    long long finished;         /* requests done (cancelled included) */
    int running;                /* sequences holding KV now */
    int waiting;                /* sequences waiting to be (re)admitted */
    int peak_running;           /* most sequences in one step */
    int peak_used_blocks;       /* most KV blocks in use after a step */
    long long peak_live_tokens; /* live tokens in the KV pool at that step */
    long long sum_used_slots;   /* sum over steps of used blocks * block_size */
    long long sum_live_tokens;  /* sum over steps of token slots holding live K/V */
    /* Where the engine's time went (wall clock of each step's engine run,
     * sampling included): steps that fed one token per sequence (decodes)
     * apart from those that carried prompt chunks. */
    long long decode_steps, decode_tokens;
    double decode_engine_s;     /* seconds in the engine, one-token-per-sequence steps */
    double engine_s;            /* seconds in the engine, all steps */
} SchedStats;

typedef struct Sched Sched; /* opaque */

/* Creates a scheduler over be (see SchedBackend). Errors: a config out of
 * range, a KV cache with open sequences. */
int sched_create(const SchedBackend *be, const SchedConfig *cfg, Sched **out, LlmError *err);
/* Frees everything; open sequences are released. */
void sched_destroy(Sched *s);

/* Receives events from now on (NULL: none). */
void sched_set_callback(Sched *s, SchedEventFn fn, void *ctx);

/* Checks and queues a request; *id names it. Errors (the request is not
 * queued; the message names the field as the HTTP API and the batch file
 * do: prompt, max_tokens, n, temperature, top_k, top_p, min_p,
 * repetition_penalty, presence_penalty, frequency_penalty, logprobs, stop,
 * stop_token_ids): an empty prompt, a token id outside the vocabulary, a
 * prompt that leaves no room in the context or does not fit the KV pool,
 * max_tokens past the context, n out of range or more than the sequences
 * that may run at once, sampling values out of range, too many or bad
 * stop strings or stop ids. */
int sched_submit(Sched *s, const SchedRequest *req, SchedId *id, LlmError *err);

/* Cancels request id: its sequences release their blocks at once and
 * finish as SCHED_FINISH_CANCELLED (FINISH and DONE events). Returns 1 if
 * it was unfinished, 0 if it is finished or unknown. */
int sched_cancel(Sched *s, SchedId id);

/* One scheduling iteration and forward step (nothing when idle). Errors
 * only from the engine. The same as sched_step_begin, then (if it returned
 * 1) sched_step_run and sched_step_end. */
int sched_step(Sched *s, LlmError *err);

/* The split step, for a caller that overlaps its own host work with the
 * engine's forward step (the HTTP server).
 *
 * sched_step_begin plans the step (admissions, preemptions, forks; the
 * copy-on-write copies it needs are queued in the KV pool) and builds its
 * batch. Returns 1 when there is a step to run, 0 when nothing is planned
 * (idle, or nothing can run now): then there is nothing to run or end.
 *
 * sched_step_run runs the engine on that batch: the pool's pending copies,
 * then the forward step and its sampling. It touches only the step's batch
 * arrays (inside the Sched, built by begin), the engine, and the KV pool's
 * pending-copy list (kv_cache_copies_done unpins the copies' sources,
 * which may move blocks between the pool's used, cached and free states).
 * It modifies no request, output or statistic, and may run on a thread
 * other than the owner's. While it runs the owner must call no kv_*
 * function (kv_cache_stats included) and no sched_* function except the
 * pure reads sched_info, sched_output, sched_busy and sched_stats (they
 * read the request table, outputs and counters, which run does not touch);
 * SchedInfo and SchedOutput pointers, and the arrays they point to, may be
 * read. The owner must see run return (a mutex or a join orders the two
 * threads' memory) before it calls anything else. Errors only from the
 * engine: then the step is abandoned (no sched_step_end; the sequences
 * are as begin left them, and the caller is expected to cancel them).
 *
 * sched_step_end takes the step's results on the owner's thread: the
 * statistics, the sequences advance, full blocks are committed, sampled
 * tokens are checked against the stop conditions and the events (the
 * callbacks) run.
 *
 * Between begin and end (or a failed run) no submit, cancel, release or
 * other step may happen (aborts). */
int sched_step_begin(Sched *s);
int sched_step_run(Sched *s, LlmError *err);
void sched_step_end(Sched *s);
/* 1 while some request is unfinished. */
int sched_busy(const Sched *s);

/* The request and its samples, NULL for an unknown id. Valid until
 * sched_release(id). */
const SchedInfo *sched_info(const Sched *s, SchedId id);
const SchedOutput *sched_output(const Sched *s, SchedId id, int sample);
/* Forgets a finished request (its outputs go). Returns 0 if it is
 * unfinished or unknown (nothing happens). */
int sched_release(Sched *s, SchedId id);

SchedStats sched_stats(const Sched *s);

/* "stop", "length", "cancelled" (and "" for NONE). */
const char *sched_finish_name(SchedFinish f);
/* "eos", "stop_id", "stop_string", "max_tokens", "context", "kv_pool",
 * "cancelled" (and "" for NONE). */
const char *sched_cause_name(SchedCause c);

#endif
