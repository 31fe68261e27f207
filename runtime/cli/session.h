/* session.h - one loaded model: payload, tokenizer, threads, arena, KV pool.
 *
 * session_open checks that the payload belongs to the program (ABI version,
 * weight size, alignment and hash) before anything runs, loads the embedded
 * tokenizer and manifest, and allocates the scratch and the KV pool. The
 * payload path is a parameter so that tests can use a temp file; the CLI
 * passes /proc/self/exe. Every failure frees what was built.
 */
#ifndef LLMCC_CLI_SESSION_H
#define LLMCC_CLI_SESSION_H

#include <stddef.h>

#include <jansson.h>

#include "base/error.h"
#include "base/payload.h"
#include "base/program.h"
#include "base/threadpool.h"
#include "engine/engine.h"
#include "kv/kv_budget.h"
#include "kv/kv_cache.h"
#include "tok/tok.h"

/* What session_open builds: everything, or only the payload, manifest and
 * tokenizer (a client of another process's model: `bench --url`; no
 * engine, no weight check, no KV pool, so no device memory). */
typedef enum SessionParts {
    SESSION_PARTS_ALL = 0,
    SESSION_PARTS_TOKENIZER
} SessionParts;

typedef struct SessionOptions {
    const char *payload_path; /* file holding the payload */
    int n_threads;            /* 0 = all online cores */
    KvBudget kv_memory;       /* KV budget: bytes, a fraction of free memory, or the
                                 default (one full-context sequence) */
    int max_seqs;             /* KV sequence slots */
    SessionParts parts;       /* default: all */
} SessionOptions;

typedef struct CliSession {
    const LlmProgram *prog; /* not owned */
    Payload payload;        /* mapped model file */
    json_t *manifest;       /* parsed manifest object, NULL if the model has none */
    Tokenizer *tok;         /* from the payload's tokenizer section */
    LlmEngine *engine;      /* the target's device half: weights, arena, KV storage
                               (NULL with SESSION_PARTS_TOKENIZER) */
    KvCache kv;             /* paged KV pool bookkeeping (block tables) */
} CliSession;

int session_open(CliSession *s, const LlmProgram *prog, const SessionOptions *opt, LlmError *err);
void session_close(CliSession *s);

/* One forward step through the engine (see engine.h for what sample
 * holds; NULL samples nothing), after the KV block copies that
 * copy-on-write queued (runtime/kv). */
int session_step(CliSession *s, const LlmBatch *b, const LlmStepSample *sample, LlmError *err);

/* Checks the program's own fields (ABI, shapes) before any use. */
int session_check_program(const LlmProgram *prog, LlmError *err);

#endif
