/* cmd_batch.c - `generate --input FILE [--output FILE]`: every request
 * line of a JSON-lines file through the scheduler, one result line per
 * request line, in input order.
 *
 * All lines are read, parsed and submitted first (a bad line gets an
 * error result at once and the others run), then the scheduler steps
 * until every request is done; a result is written as soon as it and all
 * lines before it are done, and its request is released. Blank lines are
 * skipped (they count for line numbers only). With a terminal on stderr a
 * progress bar shows requests done, tokens generated and tokens/s. The run
 * fails only on I/O and engine errors; bad lines are reported in the
 * output and counted in the summary.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/batch_line.h"
#include "cli/commands.h"
#include "cli/gen.h"

typedef struct BatchRun {
    CliSession *s;        /* not owned */
    const CliArgs *a;     /* not owned */
    Sched *sched;
    BatchLine *lines;     /* [n_lines] the request lines, in file order */
    int n_lines;
    int next_write;       /* first line whose result is not written yet */
    FILE *out;            /* results */
    int out_owned;        /* 1 when out is --output */
    FILE *log;            /* progress and summary */
    int tty;              /* 1 when log is a terminal: draw the progress bar */
    double t_start, t_drawn;
    long long generated;  /* output tokens so far */
    long long prompt_tokens;
    int n_done, n_failed;
} BatchRun;

static int read_file(const char *path, char **text, size_t *len, LlmError *err) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) return llm_errorf(err, "--input %s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = llm_xmalloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) buf = llm_xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    if (f != stdin) fclose(f);
    if (bad) {
        free(buf);
        return llm_errorf(err, "--input %s: read error", path);
    }
    *text = buf;
    *len = n;
    return LLM_OK;
}

static void on_event(void *ctx, const SchedEvent *ev) {
    BatchRun *r = ctx;
    if (ev->kind == SCHED_EVENT_TOKEN) r->generated++;
    if (ev->kind != SCHED_EVENT_DONE) return;
    ((BatchLine *)ev->info->user)->done = 1;
    r->n_done++;
}

static int blank(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return 0;
    return 1;
}

/* Parses and submits one line; a bad one is done at once with its error. */
static void add_line(BatchRun *r, const BatchDefaults *d, const char *p, size_t n, int line) {
    BatchLine *b = &r->lines[r->n_lines++];
    LlmError err = {{0}};
    int rc = batch_line_parse(r->s, d, p, n, line, b, &err);
    if (rc == LLM_OK && sched_submit(r->sched, &b->req, &b->sched_id, &err) != LLM_OK)
        rc = llm_error_prefix(&err, "line %d", line);
    if (rc == LLM_OK) {
        r->prompt_tokens += b->req.n_prompt;
        return;
    }
    b->error = llm_xstrdup(err.msg);
    b->done = 1;
    r->n_done++;
    r->n_failed++;
}

/* The records are allocated once for every line of the file: requests
 * point at them (SchedRequest.user), so they never move. */
static void add_lines(BatchRun *r, const BatchDefaults *d, const char *text, size_t len) {
    size_t cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
    r->lines = llm_xcalloc(cap, sizeof(BatchLine));
    int line = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (text + at)) : len - at;
        line++;
        if (!blank(text + at, n)) add_line(r, d, text + at, n, line);
        at += n + 1;
    }
}

/* Writes the results of the done lines at the front, in order. */
static int write_ready(BatchRun *r, LlmError *err) {
    for (; r->next_write < r->n_lines && r->lines[r->next_write].done; r->next_write++) {
        BatchLine *b = &r->lines[r->next_write];
        json_t *obj;
        if (b->error != NULL) {
            obj = batch_line_error(b);
        } else {
            const SchedOutput *outs[SCHED_MAX_N];
            const SchedInfo *info = sched_info(r->sched, b->sched_id);
            for (int j = 0; j < info->n; j++) outs[j] = sched_output(r->sched, b->sched_id, j);
            obj = batch_line_result(r->s, b, info, outs);
        }
        int rc = json_dumpf(obj, r->out, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_decref(obj);
        if (rc != 0 || fputc('\n', r->out) == EOF)
            return llm_errorf(err, "--output %s: write failed", r->a->output ? r->a->output : "-");
        if (b->error == NULL) sched_release(r->sched, b->sched_id);
        batch_line_free(b);
    }
    if (fflush(r->out) != 0)
        return llm_errorf(err, "--output %s: write failed", r->a->output ? r->a->output : "-");
    return LLM_OK;
}

static void draw_progress(BatchRun *r, int last) {
    double now = gen_now_seconds();
    if (!r->tty || (!last && now - r->t_drawn < 0.1)) return;
    r->t_drawn = now;
    enum { WIDTH = 30 };
    int filled = r->n_lines > 0 ? (int)((long long)WIDTH * r->n_done / r->n_lines) : WIDTH;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '-';
    bar[WIDTH] = '\0';
    double t = now - r->t_start;
    fprintf(r->log, "\r[%s] %d/%d requests, %lld tokens, %.1f tokens/s ", bar, r->n_done,
            r->n_lines, r->generated, t > 0 ? (double)r->generated / t : 0.0);
    if (last) fputc('\n', r->log);
    fflush(r->log);
}

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

static void summary(const BatchRun *r) {
    SchedStats st = sched_stats(r->sched);
    KvStats kv = kv_cache_stats(&r->s->kv);
    double t = gen_now_seconds() - r->t_start;
    double peak_slots = (double)st.peak_used_blocks * r->s->kv.shape.block_size;
    fprintf(r->log, "batch: %d requests (%d refused), %lld prompt tokens, %lld generated tokens "
            "in %.2f s (%.1f tokens/s), %lld steps, %lld preemptions, %lld tokens found in the "
            "prefix cache (prompts and recomputation)\n", r->n_lines, r->n_failed,
            r->prompt_tokens, r->generated, t, t > 0 ? (double)r->generated / t : 0.0, st.steps,
            st.preemptions, kv.prefix_hit_tokens);
    fprintf(r->log, "kv cache: peak %d of %d blocks (%.1f%%), live tokens in used blocks: "
            "%.1f%% at the peak, %.1f%% mean over steps\n", st.peak_used_blocks, kv.n_blocks,
            pct(st.peak_used_blocks, kv.n_blocks), pct((double)st.peak_live_tokens, peak_slots),
            pct((double)st.sum_live_tokens, (double)st.sum_used_slots));
}

static int batch_defaults(CliSession *s, const CliArgs *a, BatchDefaults *d, LlmError *err) {
    memset(d, 0, sizeof *d);
    if (cmd_sampler_params(s, a, &d->sampling, err) != LLM_OK) return LLM_ERR;
    for (int i = 0; i < a->n_stop_ids; i++)
        if (a->stop_ids[i] >= s->prog->vocab_size)
            return llm_errorf(err, "--stop-id %d: not a token id in [0, %d)", a->stop_ids[i],
                              s->prog->vocab_size);
    d->seed = d->sampling.seed;
    d->max_tokens = a->n_predict;
    d->add_bos = a->no_bos ? 0 : tok_add_bos_default(s->tok);
    d->a = a;
    return LLM_OK;
}

static int open_run(BatchRun *r, CliSession *s, const CliArgs *a, FILE *out, FILE *log,
                    LlmError *err) {
    memset(r, 0, sizeof *r);
    r->s = s;
    r->a = a;
    r->log = log;
    r->tty = isatty(fileno(log));
    r->out = out;
    if (a->output != NULL) {
        r->out = fopen(a->output, "w");
        if (r->out == NULL) return llm_errorf(err, "--output %s: cannot open for writing", a->output);
        r->out_owned = 1;
    }
    SchedBackend be = {.prog = s->prog, .engine = s->engine, .kv = &s->kv, .tok = s->tok};
    SchedConfig cfg = {.max_batch_tokens = a->max_batch_tokens, .max_seqs = a->max_seqs};
    if (sched_create(&be, &cfg, &r->sched, err) != LLM_OK) return LLM_ERR;
    sched_set_callback(r->sched, on_event, r);
    return LLM_OK;
}

static void close_run(BatchRun *r) {
    for (int i = r->next_write; i < r->n_lines; i++) batch_line_free(&r->lines[i]);
    free(r->lines);
    if (r->sched != NULL) sched_destroy(r->sched);
    if (r->out_owned) fclose(r->out);
}

int cmd_generate_batch(CliSession *s, const CliArgs *a, FILE *out, FILE *log, LlmError *err) {
    BatchDefaults d;
    char *text = NULL;
    size_t len = 0;
    if (batch_defaults(s, a, &d, err) != LLM_OK || read_file(a->input, &text, &len, err) != LLM_OK)
        return LLM_ERR;
    BatchRun r;
    int rc = open_run(&r, s, a, out, log, err);
    if (rc == LLM_OK) {
        r.t_start = gen_now_seconds();
        add_lines(&r, &d, text, len);
        rc = write_ready(&r, err);
    }
    while (rc == LLM_OK && sched_busy(r.sched)) {
        rc = sched_step(r.sched, err);
        if (rc == LLM_OK) rc = write_ready(&r, err);
        draw_progress(&r, 0);
    }
    if (rc == LLM_OK) {
        draw_progress(&r, 1);
        summary(&r);
    }
    free(text);
    close_run(&r);
    return rc;
}
