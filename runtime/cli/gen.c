/* gen.c - the shared decode engine (see gen.h).
 *
 * Prefill asks for logits of the last token only (or of every token with
 * --dump-logits). Decode feeds one token per step; a token that stops the
 * round (EOS unless --ignore-eos, the end-of-turn token, a --stop-id) is
 * neither printed nor fed, and the last token of a round cut by -n or by a
 * stop string is recorded but not fed, so n_past counts exactly the tokens
 * whose K/V are in the cache. Text goes detokenizer -> stop matcher ->
 * out; what reaches out is also kept in text (chat stores it as the reply).
 */
#include "cli/gen.h"

#include "cli/commands.h"
#include "cli/logprobs_json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const GEN_STOP_NAMES[] = {"length", "eos", "end-of-turn", "stop-string", "stop-token",
                                             "context", "kv-full", "error"};
_Static_assert(sizeof GEN_STOP_NAMES / sizeof GEN_STOP_NAMES[0] == GEN_STOP_ERROR + 1,
               "GEN_STOP_NAMES and GenStop out of step");

double gen_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *gen_stop_name(GenStop stop) {
    LLM_ASSERT(stop >= GEN_STOP_LENGTH && stop <= GEN_STOP_ERROR);
    return GEN_STOP_NAMES[stop];
}

void gen_state_init(GenState *g, CliSession *s, const CliArgs *a) {
    memset(g, 0, sizeof *g);
    g->s = s;
    g->a = a;
    size_t t = (size_t)s->prog->max_tokens;
    g->tokens = llm_xmalloc(sizeof(int32_t) * t);
    g->positions = llm_xmalloc(sizeof(int32_t) * t);
    g->seq_index = llm_xcalloc(t, sizeof(int32_t));
    g->logit_rows = llm_xmalloc(sizeof(int32_t) * t);
    size_t rows = a->dump_logits ? t : 1;
    if (a->dump_logits) g->logits = llm_xmalloc(sizeof(float) * rows * (size_t)s->prog->vocab_size);
    g->rows = llm_xcalloc(rows, sizeof(LlmSampleRow));
    g->ids = llm_xcalloc(rows, sizeof(int32_t));
    g->lps = llm_xcalloc(rows, sizeof(LlmTokenLogprobs));
    g->out_ids = llm_xmalloc(sizeof(int32_t) * ((size_t)a->n_predict + 1));
    g->text_cap = 256;
    g->text = llm_xcalloc(g->text_cap, 1);
    g->seq = -1;
    g->eot_id = -1;
    g->stops.matched = -1;
}

void gen_state_free(GenState *g) {
    if (g->seq >= 0) kv_seq_release(&g->s->kv, g->seq);
    if (g->dump != NULL) fclose(g->dump);
    if (g->dec != NULL) tok_decoder_free(g->dec);
    if (g->sampler.cands != NULL) sampler_free(&g->sampler);
    stop_matcher_free(&g->stops);
    if (g->lp_owned) fclose(g->lp_out);
    free(g->text);
    free(g->tokens);
    free(g->positions);
    free(g->seq_index);
    free(g->logit_rows);
    free(g->logits);
    free(g->rows);
    free(g->ids);
    free(g->lps);
    free(g->out_ids);
}

/* The --logprobs destination: the log, or --logprobs-file. */
static int gen_open_logprobs(GenState *g, FILE *log, LlmError *err) {
    if (g->sampler.params.logprobs < 0) return LLM_OK;
    if (g->a->logprobs_file == NULL) {
        g->lp_out = log;
        return LLM_OK;
    }
    g->lp_out = fopen(g->a->logprobs_file, "w");
    if (g->lp_out == NULL)
        return llm_errorf(err, "--logprobs-file %s: cannot open for writing", g->a->logprobs_file);
    g->lp_owned = 1;
    return LLM_OK;
}

int gen_open(GenState *g, FILE *log, LlmError *err) {
    SamplerParams sp;
    const CliArgs *a = g->a;
    if (cmd_sampler_params(g->s, a, &sp, err) != LLM_OK) return LLM_ERR;
    for (int i = 0; i < a->n_stop_ids; i++)
        if (a->stop_ids[i] >= g->s->prog->vocab_size)
            return llm_errorf(err, "--stop-id %d: not a token id in [0, %d)", a->stop_ids[i],
                              g->s->prog->vocab_size);
    if (stop_matcher_init(&g->stops, a->stop, a->n_stop, err) != LLM_OK) return LLM_ERR;
    sampler_init(&g->sampler, &sp, g->s->prog->vocab_size);
    if (gen_open_logprobs(g, log, err) != LLM_OK) return LLM_ERR;
    if (kv_seq_open(&g->s->kv, &g->seq) != KV_OK) LLM_BUG("no free KV slot");
    return LLM_OK;
}

void gen_begin(GenState *g, const int32_t *ids, int n) {
    sampler_begin(&g->sampler, ids, n);
    stop_matcher_reset(&g->stops);
    g->text_len = 0;
    g->text[0] = '\0';
}

void gen_reset_decoder(GenState *g, const int32_t *prime, int n) {
    if (g->dec != NULL) tok_decoder_free(g->dec);
    g->dec = tok_decoder_new(g->s->tok);
    char discard[TOK_DECODE_MAX];
    for (int i = 0; i < n; i++) tok_decoder_push(g->dec, prime[i], discard);
}

/* The step's sampling input: rows [n_logits], the last one the request's
 * next row (its uniform drawn now) with the Sampler's penalty table, the
 * others (--dump-logits rows before the last) plain greedy rows whose ids
 * are not used. */
static LlmStepSample gen_sample_input(GenState *g, int n_logits) {
    memset(g->rows, 0, sizeof(LlmSampleRow) * (size_t)(n_logits - 1));
    sampler_next_row(&g->sampler, &g->rows[n_logits - 1]);
    LlmStepSample in = {.rows = g->rows, .counts = g->sampler.counts,
                        .n_counts = g->sampler.n_counts, .ids = g->ids, .logprobs = g->lps};
    return in;
}

/* One forward step over ids [n] at positions n_past..; KV must be reserved.
 * Logits reach the host for --dump-logits (want ALL, ALL_LAST); with want
 * LAST or ALL_LAST the engine samples the token after the last one into
 * *next (and its logprobs into next_lp when they are on). */
static int gen_forward(GenState *g, const int32_t *ids, int n, GenLogits want, int32_t *next,
                       LlmError *err) {
    int want_all = want == GEN_LOGITS_ALL || want == GEN_LOGITS_ALL_LAST;
    int sample = want == GEN_LOGITS_LAST || want == GEN_LOGITS_ALL_LAST;
    for (int i = 0; i < n; i++) {
        g->tokens[i] = ids[i];
        g->positions[i] = g->n_past + i;
        g->logit_rows[i] = want_all ? i : n - 1;
    }
    int n_logits = want_all ? n : sample ? 1 : 0;
    LlmBatch b = {
        .n_tokens = n, .tokens = g->tokens, .positions = g->positions,
        .seq_index = g->seq_index, .n_seqs = 1,
        .block_tables = kv_seq_block_table(&g->s->kv, g->seq),
        .n_logits = n_logits, .logit_rows = g->logit_rows,
        .logits = want_all ? g->logits : NULL,
    };
    LlmStepSample in;
    if (sample) in = gen_sample_input(g, n_logits);
    if (session_step(g->s, &b, sample ? &in : NULL, err) != LLM_OK) return LLM_ERR;
    g->n_past += n;
    if (!sample) return LLM_OK;
    *next = g->ids[n_logits - 1];
    if (g->rows[n_logits - 1].logprobs) g->next_lp = g->lps[n_logits - 1];
    return LLM_OK;
}

static int gen_dump_rows(GenState *g, int n, LlmError *err) {
    size_t count = (size_t)n * (size_t)g->s->prog->vocab_size;
    if (fwrite(g->logits, sizeof(float), count, g->dump) != count)
        return llm_errorf(err, "--dump-logits %s: write failed", g->a->dump_logits);
    return LLM_OK;
}

int gen_prefill(GenState *g, const int32_t *ids, int n, int32_t *first, LlmError *err) {
    KvCache *kv = &g->s->kv;
    kv_seq_truncate(kv, g->seq, g->n_past); /* drop what the caller rolled back */
    KvStatus st = kv_seq_reserve(kv, g->seq, g->n_past + n);
    if (st != KV_OK)
        return llm_errorf(err, "the KV pool (%d blocks of %d tokens) cannot hold the "
                          "%d-token prompt: raise --kv-memory", kv->n_blocks,
                          kv->shape.block_size, g->n_past + n);
    int chunk = g->s->prog->max_tokens;
    for (int at = 0; at < n; at += chunk) {
        int len = n - at < chunk ? n - at : chunk;
        int dump = g->dump != NULL, last = at + len == n;
        GenLogits want = dump ? (last ? GEN_LOGITS_ALL_LAST : GEN_LOGITS_ALL)
                              : (last ? GEN_LOGITS_LAST : GEN_LOGITS_NONE);
        if (gen_forward(g, ids + at, len, want, first, err) != LLM_OK) return LLM_ERR;
        if (dump && gen_dump_rows(g, len, err) != LLM_OK) return LLM_ERR;
    }
    return LLM_OK;
}

/* Writes text [len] to out and appends it to g->text. */
static void gen_put(GenState *g, const char *text, size_t len, FILE *out) {
    if (len == 0) return;
    fwrite(text, 1, len, out);
    fflush(out);
    if (g->text_len + len + 1 > g->text_cap) {
        g->text_cap = 2 * (g->text_len + len + 1);
        g->text = llm_xrealloc(g->text, g->text_cap);
    }
    memcpy(g->text + g->text_len, text, len);
    g->text_len += len;
    g->text[g->text_len] = '\0';
}

/* Passes detokenized text through the stop matcher; 1 on a stop string. */
static int gen_write(GenState *g, const char *text, size_t len, FILE *out) {
    const char *ready = NULL;
    size_t n = 0;
    StopStatus st = stop_matcher_push(&g->stops, text, len, &ready, &n);
    gen_put(g, ready, n, out);
    return st == STOP_MATCHED;
}

/* Streams the text of id and records it; 1 when it completed a stop string. */
static int gen_emit(GenState *g, int32_t id, FILE *out) {
    char buf[TOK_DECODE_MAX];
    size_t len = tok_decoder_push(g->dec, id, buf);
    g->out_ids[g->n_out++] = id;
    return gen_write(g, buf, len, out);
}

/* 1 when next ends the round (sets g->stop). */
static int gen_is_stop_token(GenState *g, int32_t next) {
    if (next == tok_eos_id(g->s->tok) && !g->a->ignore_eos) {
        g->stop = GEN_STOP_EOS;
        return 1;
    }
    if (next == g->eot_id) {
        g->stop = GEN_STOP_EOT;
        return 1;
    }
    for (int i = 0; i < g->a->n_stop_ids; i++)
        if (next == g->a->stop_ids[i]) {
            g->stop = GEN_STOP_TOKEN;
            return 1;
        }
    return 0;
}

void gen_decode(GenState *g, int32_t next, FILE *out) {
    const LlmProgram *prog = g->s->prog;
    g->n_out = 0;
    for (;;) {
        if (g->n_out >= g->a->n_predict) { g->stop = GEN_STOP_LENGTH; return; }
        if (g->lp_out != NULL) logprobs_json_write(g->lp_out, g->s->tok, g->n_out, &g->next_lp);
        if (gen_is_stop_token(g, next)) return;
        sampler_accept(&g->sampler, next);
        if (gen_emit(g, next, out)) { g->stop = GEN_STOP_STRING; return; }
        if (g->n_out >= g->a->n_predict) { g->stop = GEN_STOP_LENGTH; return; }
        if (g->n_past >= prog->max_context) { g->stop = GEN_STOP_CONTEXT; return; }
        KvStatus st = kv_seq_reserve(&g->s->kv, g->seq, g->n_past + 1);
        if (st != KV_OK) { g->stop = st == KV_OUT_OF_BLOCKS ? GEN_STOP_KV_FULL : GEN_STOP_CONTEXT; return; }
        LlmError err;
        if (gen_forward(g, &next, 1, GEN_LOGITS_LAST, &next, &err) != LLM_OK) {
            fprintf(stderr, "generate: %s\n", err.msg);
            g->stop = GEN_STOP_ERROR;
            return;
        }
    }
}

void gen_flush(GenState *g, FILE *out) {
    char buf[TOK_DECODE_MAX];
    size_t len = tok_decoder_flush(g->dec, buf);
    gen_write(g, buf, len, out);
    const char *held = NULL;
    size_t n = 0;
    stop_matcher_flush(&g->stops, &held, &n);
    gen_put(g, held, n, out);
}
