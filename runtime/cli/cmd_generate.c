/* cmd_generate.c - `generate`: prompt -> chunked prefill -> token-by-token
 * decode, streaming text as it is produced.
 *
 * One sequence in KV slot 0. Prefill runs the prompt in chunks of
 * prog->max_tokens, asking for logits of the last prompt token only (or of
 * every prompt token with --dump-logits). Decode feeds one token per step.
 * Generation stops at -n tokens, at EOS (not printed; unless --ignore-eos),
 * at the end of the context, or when the KV pool is full (reported in the
 * summary, not an error). Only generated text is printed, followed by a
 * newline; the prompt is fed to the detokenizer first so that the first
 * generated piece keeps its leading space.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "--dump-logits writes host floats and assumes a little-endian host"
#endif

typedef enum GenStop {
    GEN_STOP_LENGTH = 0, /* -n tokens generated */
    GEN_STOP_EOS,        /* the model produced EOS */
    GEN_STOP_CONTEXT,    /* max_context positions used */
    GEN_STOP_KV_FULL     /* the KV pool has no free block */
} GenStop;

/* Which logits rows a forward step produces. */
typedef enum GenLogits {
    GEN_LOGITS_NONE = 0, /* a prefill chunk before the last */
    GEN_LOGITS_LAST,     /* the last token of the step */
    GEN_LOGITS_ALL       /* every token (--dump-logits) */
} GenLogits;

static const char *const GEN_STOP_NAMES[] = {"length", "eos", "context", "kv-full"};

typedef struct GenState {
    CliSession *s;
    const CliArgs *a;
    int seq;              /* KV sequence slot */
    int n_past;           /* tokens already in the KV cache */
    int32_t *tokens;      /* [max_tokens] batch scratch */
    int32_t *positions;   /* [max_tokens] */
    int32_t *seq_index;   /* [max_tokens], all 0 (one block-table row) */
    int32_t *logit_rows;  /* [max_tokens] */
    float *logits;        /* [max_tokens or 1][vocab] */
    FILE *dump;           /* --dump-logits file, or NULL */
    TokDecoder *dec;      /* streaming detokenizer */
    Sampler sampler;
    int32_t *out_ids;     /* [n_predict] generated ids */
    int n_out;            /* generated so far */
    GenStop stop;
} GenState;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads a number field of the manifest's "generation" object, if present. */
static int manifest_number(const json_t *gen, const char *key, double *out, int *found,
                           LlmError *err) {
    const json_t *v = json_object_get(gen, key);
    *found = v != NULL;
    if (v == NULL) return LLM_OK;
    if (!json_is_number(v)) return llm_errorf(err, "manifest: generation.%s is not a number", key);
    *out = json_number_value(v);
    return LLM_OK;
}

int cmd_sampler_params(const CliSession *s, const CliArgs *a, SamplerParams *p, LlmError *err) {
    *p = sampler_params_default();
    const json_t *gen = s->manifest ? json_object_get(s->manifest, "generation") : NULL;
    if (json_is_object(gen)) {
        double v = 0;
        int found = 0;
        if (manifest_number(gen, "temperature", &v, &found, err) != LLM_OK) return LLM_ERR;
        if (found) p->temperature = (float)v;
        if (manifest_number(gen, "top_k", &v, &found, err) != LLM_OK) return LLM_ERR;
        if (found) p->top_k = v < 0 ? -1 : v > 1e9 ? 1000000000 : (int)v;
        if (manifest_number(gen, "top_p", &v, &found, err) != LLM_OK) return LLM_ERR;
        if (found) p->top_p = (float)v;
    }
    if (a->has_temperature) p->temperature = a->temperature;
    if (a->has_top_k) p->top_k = a->top_k;
    if (a->has_top_p) p->top_p = a->top_p;
    p->seed = a->has_seed ? a->seed
                          : (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    return sampler_params_validate(p, err);
}

static int gen_prompt(const GenState *g, int32_t **ids, int *n, LlmError *err) {
    const CliSession *s = g->s;
    if (g->a->ids != NULL) {
        if (cli_parse_ids("--ids", g->a->ids, s->prog->vocab_size, ids, n, err) != LLM_OK)
            return LLM_ERR;
    } else {
        int add_bos = g->a->no_bos ? 0 : tok_add_bos_default(s->tok);
        if (tok_encode(s->tok, g->a->prompt, strlen(g->a->prompt), add_bos, ids, n, err) != LLM_OK)
            return llm_error_prefix(err, "-p");
    }
    if (*n == 0) return llm_errorf(err, "generate: the prompt has no tokens");
    if (*n > s->prog->max_context)
        return llm_errorf(err, "generate: the prompt has %d tokens, the model's context is %d",
                          *n, s->prog->max_context);
    return LLM_OK;
}

static void gen_state_init(GenState *g, CliSession *s, const CliArgs *a) {
    memset(g, 0, sizeof *g);
    g->s = s;
    g->a = a;
    size_t t = (size_t)s->prog->max_tokens;
    g->tokens = llm_xmalloc(sizeof(int32_t) * t);
    g->positions = llm_xmalloc(sizeof(int32_t) * t);
    g->seq_index = llm_xcalloc(t, sizeof(int32_t));
    g->logit_rows = llm_xmalloc(sizeof(int32_t) * t);
    size_t rows = a->dump_logits ? t : 1;
    g->logits = llm_xmalloc(sizeof(float) * rows * (size_t)s->prog->vocab_size);
    g->out_ids = llm_xmalloc(sizeof(int32_t) * ((size_t)a->n_predict + 1));
    g->seq = -1;
}

static void gen_state_free(GenState *g) {
    if (g->seq >= 0) kv_seq_release(&g->s->kv, g->seq);
    if (g->dump != NULL) fclose(g->dump);
    if (g->dec != NULL) tok_decoder_free(g->dec);
    if (g->sampler.cands != NULL) sampler_free(&g->sampler);
    free(g->tokens);
    free(g->positions);
    free(g->seq_index);
    free(g->logit_rows);
    free(g->logits);
    free(g->out_ids);
}

/* One forward step over ids [n] at positions n_past..; KV must be reserved. */
static void gen_forward(GenState *g, const int32_t *ids, int n, GenLogits want) {
    int want_all = want == GEN_LOGITS_ALL;
    const LlmProgram *prog = g->s->prog;
    for (int i = 0; i < n; i++) {
        g->tokens[i] = ids[i];
        g->positions[i] = g->n_past + i;
        g->logit_rows[i] = want_all ? i : n - 1;
    }
    LlmBatch b = {
        .n_tokens = n, .tokens = g->tokens, .positions = g->positions,
        .seq_index = g->seq_index, .n_seqs = 1,
        .block_tables = kv_seq_block_table(&g->s->kv, g->seq),
        .n_logits = want_all ? n : want == GEN_LOGITS_LAST ? 1 : 0, .logit_rows = g->logit_rows, .logits = g->logits,
    };
    LlmForwardCtx ctx = session_forward_ctx(g->s);
    prog->forward(&ctx, &b);
    g->n_past += n;
}

static int gen_dump_rows(GenState *g, int n, LlmError *err) {
    size_t count = (size_t)n * (size_t)g->s->prog->vocab_size;
    if (fwrite(g->logits, sizeof(float), count, g->dump) != count)
        return llm_errorf(err, "--dump-logits %s: write failed", g->a->dump_logits);
    return LLM_OK;
}

/* Runs the prompt in chunks; *last_row is the logits row of the last prompt
 * token (0, or the last row of the final chunk with --dump-logits). */
static int gen_prefill(GenState *g, const int32_t *ids, int n, int *last_row, LlmError *err) {
    KvCache *kv = &g->s->kv;
    KvStatus st = kv_seq_reserve(kv, g->seq, n);
    if (st != KV_OK)
        return llm_errorf(err, "generate: the KV pool (%d blocks of %d tokens) cannot hold the "
                          "%d-token prompt: raise --kv-memory", kv->n_blocks,
                          kv->shape.block_size, n);
    int chunk = g->s->prog->max_tokens;
    for (int at = 0; at < n; at += chunk) {
        int len = n - at < chunk ? n - at : chunk;
        int dump = g->dump != NULL;
        GenLogits want = dump ? GEN_LOGITS_ALL : at + len == n ? GEN_LOGITS_LAST : GEN_LOGITS_NONE;
        gen_forward(g, ids + at, len, want);
        if (dump && gen_dump_rows(g, len, err) != LLM_OK) return LLM_ERR;
        *last_row = dump ? len - 1 : 0;
    }
    return LLM_OK;
}

/* Streams the text of id; records it. */
static void gen_emit(GenState *g, int32_t id, FILE *out) {
    char buf[TOK_DECODE_MAX];
    size_t len = tok_decoder_push(g->dec, id, buf);
    if (len > 0) {
        fwrite(buf, 1, len, out);
        fflush(out);
    }
    g->out_ids[g->n_out++] = id;
}

/* Decodes from next (sampled from the prompt) until a stop condition. */
static void gen_decode(GenState *g, int32_t next, FILE *out) {
    const LlmProgram *prog = g->s->prog;
    int eos = tok_eos_id(g->s->tok);
    for (;;) {
        if (g->n_out >= g->a->n_predict) { g->stop = GEN_STOP_LENGTH; return; }
        if (next == eos && !g->a->ignore_eos) { g->stop = GEN_STOP_EOS; return; }
        gen_emit(g, next, out);
        if (g->n_out >= g->a->n_predict) { g->stop = GEN_STOP_LENGTH; return; }
        if (g->n_past >= prog->max_context) { g->stop = GEN_STOP_CONTEXT; return; }
        KvStatus st = kv_seq_reserve(&g->s->kv, g->seq, g->n_past + 1);
        if (st != KV_OK) { g->stop = st == KV_OUT_OF_BLOCKS ? GEN_STOP_KV_FULL : GEN_STOP_CONTEXT; return; }
        gen_forward(g, &next, 1, GEN_LOGITS_LAST);
        next = sampler_sample(&g->sampler, g->logits);
    }
}

static void gen_finish_output(GenState *g, FILE *out) {
    char buf[TOK_DECODE_MAX];
    size_t len = tok_decoder_flush(g->dec, buf);
    if (len > 0) fwrite(buf, 1, len, out);
    fputc('\n', out);
    if (g->a->print_ids) {
        fputs("ids:", out);
        for (int i = 0; i < g->n_out; i++) fprintf(out, " %d", (int)g->out_ids[i]);
        fputc('\n', out);
    }
    fflush(out);
}

static void gen_summary(const GenState *g, int n_prompt, double t_prefill, double t_decode,
                        FILE *log) {
    int n_decoded = g->n_out > 1 ? g->n_out - 1 : 0; /* the first token came from prefill */
    fprintf(log, "prompt tokens: %d, generated tokens: %d, prefill: %.1f tokens/s, decode: "
            "%.1f tokens/s, stop: %s, seed: %llu\n", n_prompt, g->n_out,
            t_prefill > 0 ? n_prompt / t_prefill : 0.0,
            t_decode > 0 ? n_decoded / t_decode : 0.0, GEN_STOP_NAMES[g->stop],
            (unsigned long long)g->sampler.params.seed);
}

/* Opens what a run needs: sampler, KV slot, dump file, detokenizer. */
static int gen_setup(GenState *g, const int32_t *ids, int n, LlmError *err) {
    SamplerParams sp;
    if (cmd_sampler_params(g->s, g->a, &sp, err) != LLM_OK) return LLM_ERR;
    sampler_init(&g->sampler, &sp, g->s->prog->vocab_size);
    if (kv_seq_open(&g->s->kv, &g->seq) != KV_OK) LLM_BUG("no free KV slot for generate");
    if (g->a->dump_logits != NULL) {
        g->dump = fopen(g->a->dump_logits, "wb");
        if (g->dump == NULL) return llm_errorf(err, "--dump-logits %s: cannot open for writing",
                                               g->a->dump_logits);
    }
    g->dec = tok_decoder_new(g->s->tok);
    char discard[TOK_DECODE_MAX];
    for (int i = 0; i < n; i++) tok_decoder_push(g->dec, ids[i], discard);
    return LLM_OK;
}

int cmd_generate(CliSession *s, const CliArgs *a, FILE *out, FILE *log, LlmError *err) {
    GenState g;
    gen_state_init(&g, s, a);
    int32_t *ids = NULL;
    int n = 0, last_row = 0;
    int rc = gen_prompt(&g, &ids, &n, err);
    if (rc == LLM_OK) rc = gen_setup(&g, ids, n, err);
    double t0 = now_seconds();
    if (rc == LLM_OK) rc = gen_prefill(&g, ids, n, &last_row, err);
    if (rc == LLM_OK && g.dump != NULL && fclose(g.dump) != 0)
        rc = llm_errorf(err, "--dump-logits %s: write failed", a->dump_logits);
    g.dump = NULL;
    if (rc == LLM_OK) {
        const float *row = g.logits + (size_t)last_row * (size_t)s->prog->vocab_size;
        int32_t first = sampler_sample(&g.sampler, row);
        double t1 = now_seconds();
        gen_decode(&g, first, out);
        double t2 = now_seconds();
        gen_finish_output(&g, out);
        gen_summary(&g, n, t1 - t0, t2 - t1, log);
    }
    free(ids);
    gen_state_free(&g);
    return rc;
}
