/* cmd_generate.c - `generate`: prompt -> chunked prefill -> token-by-token
 * decode, streaming text as it is produced (the engine is gen.c).
 *
 * One sequence in KV slot 0. Generation stops at -n tokens, at EOS (not
 * printed; unless --ignore-eos), at a --stop-id token (not printed), at a
 * --stop string (the text before it is printed), at the end of the
 * context, or when the KV pool is full (reported in the summary, not an
 * error). Only generated text is printed, followed by a
 * newline; the prompt is fed to the detokenizer first so that the first
 * generated piece keeps its leading space.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/gen.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "--dump-logits writes host floats and assumes a little-endian host"
#endif

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
        if (manifest_number(gen, "min_p", &v, &found, err) != LLM_OK) return LLM_ERR;
        if (found) p->min_p = (float)v;
        if (manifest_number(gen, "repetition_penalty", &v, &found, err) != LLM_OK) return LLM_ERR;
        if (found) p->repetition_penalty = (float)v;
    }
    cli_apply_sampling_flags(a, p);
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

static void gen_finish_output(GenState *g, FILE *out) {
    gen_flush(g, out);
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
            t_decode > 0 ? n_decoded / t_decode : 0.0, gen_stop_name(g->stop),
            (unsigned long long)g->sampler.params.seed);
}

/* Opens what a run needs: sampler, stops, logprobs output, KV slot, dump
 * file, detokenizer; starts the round. */
static int gen_setup(GenState *g, const int32_t *ids, int n, FILE *log, LlmError *err) {
    if (gen_open(g, log, err) != LLM_OK) return LLM_ERR;
    if (g->a->dump_logits != NULL) {
        g->dump = fopen(g->a->dump_logits, "wb");
        if (g->dump == NULL) return llm_errorf(err, "--dump-logits %s: cannot open for writing",
                                               g->a->dump_logits);
    }
    gen_reset_decoder(g, ids, n);
    gen_begin(g, ids, n);
    return LLM_OK;
}

int cmd_generate(CliSession *s, const CliArgs *a, FILE *out, FILE *log, LlmError *err) {
    if (a->input != NULL) return cmd_generate_batch(s, a, out, log, err);
    GenState g;
    gen_state_init(&g, s, a);
    int32_t *ids = NULL;
    int n = 0;
    int32_t first = 0;
    int rc = gen_prompt(&g, &ids, &n, err);
    if (rc == LLM_OK) rc = gen_setup(&g, ids, n, log, err);
    double t0 = gen_now_seconds();
    if (rc == LLM_OK) rc = gen_prefill(&g, ids, n, &first, err);
    if (rc == LLM_OK && g.dump != NULL && fclose(g.dump) != 0)
        rc = llm_errorf(err, "--dump-logits %s: write failed", a->dump_logits);
    g.dump = NULL;
    if (rc == LLM_OK) {
        double t1 = gen_now_seconds();
        gen_decode(&g, first, out);
        double t2 = gen_now_seconds();
        gen_finish_output(&g, out);
        gen_summary(&g, n, t1 - t0, t2 - t1, log);
    }
    free(ids);
    gen_state_free(&g);
    return rc;
}
