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
#include "kv/kv_cache.h"
#include "tok/tok.h"

typedef struct SessionOptions {
    const char *payload_path; /* file holding the payload */
    int n_threads;            /* 0 = all online cores */
    size_t kv_memory;         /* KV budget in bytes, 0 = one full-context sequence */
    int max_seqs;             /* KV sequence slots */
} SessionOptions;

typedef struct CliSession {
    const LlmProgram *prog; /* not owned */
    Payload payload;        /* mapped model file */
    json_t *manifest;       /* parsed manifest object, NULL if the model has none */
    Tokenizer *tok;         /* from the payload's tokenizer section */
    LlmThreadPool *pool;    /* worker threads */
    uint8_t *arena;         /* [prog->arena_bytes] scratch, 64-byte aligned */
    KvCache kv;             /* paged KV pool */
} CliSession;

int session_open(CliSession *s, const LlmProgram *prog, const SessionOptions *opt, LlmError *err);
void session_close(CliSession *s);

/* The context for prog->forward over this session's buffers. */
LlmForwardCtx session_forward_ctx(const CliSession *s);

/* Checks the program's own fields (ABI, shapes) before any use. */
int session_check_program(const LlmProgram *prog, LlmError *err);

#endif
