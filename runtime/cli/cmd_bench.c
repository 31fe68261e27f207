/* cmd_bench.c - `bench`: time to first token and decode speed of one
 * sequence, and how close decode comes to the memory-bandwidth limit.
 *
 * The prompt is --prompt-len synthetic token ids (a fixed pseudo-random
 * pattern, so runs compare); decode is greedy for --gen-len tokens with
 * EOS ignored. One warm-up run (it also captures the cuda decode graph),
 * then --runs timed runs; medians are reported. Bytes per decode token are
 * the program's decode_bytes (weights) plus the K/V a token reads at the
 * run's mean context; the ratio divides achieved bytes/s by the device's
 * copy bandwidth measured in the same process (read + write bytes, as the
 * issue's roofline states it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/gen.h"

typedef struct BenchRun {
    double ttft;   /* seconds from the first prefill step to the first sampled token */
    double decode; /* seconds for the gen_len - 1 decode steps */
} BenchRun;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One step of n tokens at positions pos.. of slot 0, sampling greedily. */
static int bench_step(CliSession *s, const int32_t *ids, int n, int pos, int32_t *next, LlmError *err) {
    int32_t positions[4096], seq_index[4096], row = n - 1;
    for (int i = 0; i < n; i++) {
        positions[i] = pos + i;
        seq_index[i] = 0;
    }
    LlmBatch b = {.n_tokens = n, .tokens = ids, .positions = positions, .seq_index = seq_index,
                  .n_seqs = 1, .block_tables = kv_seq_block_table(&s->kv, 0), .n_logits = 1,
                  .logit_rows = &row, .logits = NULL};
    LlmSampleRow greedy = {.temperature = 0.0f, .top_p = 1.0f, .repetition_penalty = 1.0f};
    LlmStepSample sample = {.rows = &greedy, .ids = next};
    return session_step(s, &b, &sample, err);
}

static int bench_run(CliSession *s, const CliArgs *a, const int32_t *prompt, BenchRun *r,
                     LlmError *err) {
    int seq = 0;
    if (kv_seq_open(&s->kv, &seq) != KV_OK || seq != 0) LLM_BUG("bench needs KV slot 0");
    int total = a->prompt_len + a->gen_len;
    if (kv_seq_reserve(&s->kv, seq, total) != KV_OK)
        return llm_errorf(err, "bench: the KV pool cannot hold %d tokens: raise --kv-memory", total);
    int chunk = s->prog->max_tokens < 4096 ? s->prog->max_tokens : 4096;
    int32_t next = 0;
    double t0 = gen_now_seconds();
    for (int at = 0; at < a->prompt_len; at += chunk) {
        int n = a->prompt_len - at < chunk ? a->prompt_len - at : chunk;
        if (bench_step(s, prompt + at, n, at, &next, err) != LLM_OK) return LLM_ERR;
    }
    double t1 = gen_now_seconds();
    for (int i = 1; i < a->gen_len; i++)
        if (bench_step(s, &next, 1, a->prompt_len + i - 1, &next, err) != LLM_OK) return LLM_ERR;
    double t2 = gen_now_seconds();
    kv_seq_release(&s->kv, seq);
    r->ttft = t1 - t0;
    r->decode = t2 - t1;
    return LLM_OK;
}

static void bench_report(CliSession *s, const CliArgs *a, double ttft, double decode, FILE *out) {
    const LlmProgram *p = s->prog;
    char dev[256];
    p->engine->describe(s->engine, dev, sizeof dev);
    double bw = p->engine->copy_bandwidth(s->engine);
    double tps = decode > 0 ? (a->gen_len - 1) / decode : 0.0;
    double mean_ctx = a->prompt_len + 0.5 * a->gen_len;
    double kv = 2.0 * p->n_layers * p->n_kv_heads * p->head_dim * (double)p->kv_elem_bytes * mean_ctx;
    double bytes = (double)p->decode_bytes + kv;
    fprintf(out, "device                 %s\n", dev);
    fprintf(out, "prompt / generated     %d / %d tokens, batch %d, median of %d runs\n",
            a->prompt_len, a->gen_len, a->batch, a->runs);
    fprintf(out, "time to first token    %.2f ms\n", ttft * 1e3);
    fprintf(out, "prefill                %.1f tokens/s\n", ttft > 0 ? a->prompt_len / ttft : 0.0);
    fprintf(out, "decode                 %.2f tokens/s (%.3f ms/token)\n", tps, tps > 0 ? 1e3 / tps : 0.0);
    fprintf(out, "bytes read per token   %.1f MB (weights %.1f MB + KV %.1f MB at mean context %.0f)\n",
            bytes / 1e6, (double)p->decode_bytes / 1e6, kv / 1e6, mean_ctx);
    fprintf(out, "achieved bandwidth     %.1f GB/s\n", bytes * tps / 1e9);
    fprintf(out, "copy bandwidth         %.1f GB/s (memory to memory, read + write, this run)\n", bw / 1e9);
    fprintf(out, "ratio to copy bw       %.1f%%\n", bw > 0 ? 100.0 * bytes * tps / bw : 0.0);
}

int cmd_bench(CliSession *s, const CliArgs *a, FILE *out, LlmError *err) {
    if (a->url != NULL) return cmd_bench_http(s, a, out, err);
    if (cli_bench_serving(a)) return cmd_bench_serve(s, a, out, err);
    const LlmProgram *p = s->prog;
    if (a->prompt_len + a->gen_len > p->max_context)
        return llm_errorf(err, "bench: --prompt-len %d + --gen-len %d exceed the context of %d tokens",
                          a->prompt_len, a->gen_len, p->max_context);
    int32_t *prompt = llm_xmalloc(sizeof(int32_t) * (size_t)a->prompt_len);
    for (int i = 0; i < a->prompt_len; i++)
        prompt[i] = (int32_t)(((uint32_t)i * 2654435761u + 12345u) % (uint32_t)p->vocab_size);
    double *ttft = llm_xcalloc((size_t)a->runs, sizeof(double));
    double *dec = llm_xcalloc((size_t)a->runs, sizeof(double));
    int rc = LLM_OK;
    for (int r = 0; r <= a->runs && rc == LLM_OK; r++) {
        BenchRun br = {0.0, 0.0};
        rc = bench_run(s, a, prompt, &br, err);
        if (rc == LLM_OK && r > 0) {
            ttft[r - 1] = br.ttft;
            dec[r - 1] = br.decode;
        }
    }
    if (rc == LLM_OK) bench_report(s, a, median(ttft, a->runs), median(dec, a->runs), out);
    free(prompt);
    free(ttft);
    free(dec);
    return rc;
}
