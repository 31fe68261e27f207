/* tokenize_cmd.c - `llmcc tokenize`: encode texts to ids, decode ids to
 * text, or time the encoder, with the tokenizer a compiled model would
 * carry (model_load_tokenizer + runtime/tok).
 *
 * The whole input is read first; texts are slices of it, cut as
 * TokenizeSplit says. Encoding writes one line per text, the ids separated
 * by single spaces (an empty text gives an empty line). Decoding reads one
 * line of ids per text and writes each text followed by what separated it
 * on input (nothing, "\n", or "\n" MARK "\n"), so the two are inverse.
 * The bench mode encodes every text once before timing (warm-up), then
 * times one more pass and prints only the throughput.
 */
#include "tokenize_cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load/model_load.h"
#include "tok/tok.h"

/* Reads all of in into a malloc'd buffer (NUL-terminated). */
static int read_stream(FILE *in, char **buf, size_t *len, LlmError *err) {
    size_t cap = 1 << 16, n = 0;
    char *b = llm_xmalloc(cap);
    size_t k;
    while ((k = fread(b + n, 1, cap - n - 1, in)) > 0) {
        n += k;
        if (cap - n - 1 == 0) b = llm_xrealloc(b, cap *= 2);
    }
    if (ferror(in)) {
        free(b);
        return llm_errorf(err, "stdin: read error: %s", strerror(errno));
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return LLM_OK;
}

/* Cursor over the input that hands out texts. */
typedef struct TextCursor {
    const char *buf;   /* whole input */
    size_t len;        /* bytes in buf */
    size_t pos;        /* start of the next text */
    int done;          /* 1 once the last text was returned */
    TokenizeSplit split; /* how texts are cut */
    char *sep;         /* "\n" MARK "\n" for TOKENIZE_SPLIT_MARK, owned */
    size_t sep_len;    /* bytes in sep */
} TextCursor;

static void cursor_init(TextCursor *c, const char *buf, size_t len, const TokenizeOptions *o) {
    memset(c, 0, sizeof *c);
    c->buf = buf;
    c->len = len;
    c->split = o->split;
    if (o->split == TOKENIZE_SPLIT_MARK) {
        c->sep_len = strlen(o->mark) + 2;
        c->sep = llm_xmalloc(c->sep_len + 1);
        snprintf(c->sep, c->sep_len + 1, "\n%s\n", o->mark);
    } else if (o->split == TOKENIZE_SPLIT_LINES) {
        c->sep = llm_xstrdup("\n");
        c->sep_len = 1;
    }
}

/* Next text as [*s, *s + *n); 0 when there is none. With a separator, a
 * text ends at the next separator; a non-empty rest after the last one is
 * a text too. Without one, the whole input is one text (even empty). */
static int cursor_next(TextCursor *c, const char **s, size_t *n) {
    if (c->done) return 0;
    const char *start = c->buf + c->pos;
    size_t rest = c->len - c->pos;
    if (c->split == TOKENIZE_SPLIT_NONE) {
        c->done = 1;
        *s = start, *n = rest;
        return 1;
    }
    const char *e = memmem(start, rest, c->sep, c->sep_len);
    if (!e) {
        c->done = 1;
        *s = start, *n = rest;
        return rest > 0;
    }
    *s = start, *n = (size_t)(e - start);
    c->pos += *n + c->sep_len;
    return 1;
}

static int load_tokenizer(const char *path, Tokenizer **t, LlmError *err) {
    json_t *desc;
    if (model_load_tokenizer(path, &desc, err)) return LLM_ERR;
    char *text = json_dumps(desc, JSON_COMPACT);
    json_decref(desc);
    int rc = tok_load_json(text, strlen(text), t, err);
    free(text);
    if (rc != LLM_OK) return llm_error_prefix(err, "%s", path);
    return LLM_OK;
}

static void write_ids(FILE *out, const int32_t *ids, int n) {
    for (int i = 0; i < n; i++) fprintf(out, i ? " %d" : "%d", (int)ids[i]);
    fputc('\n', out);
}

static int run_encode(const TokenizeOptions *o, const Tokenizer *t, const char *buf,
                      size_t len, FILE *out, LlmError *err) {
    int add_bos = o->bos == TOKENIZE_BOS_MODEL
                      ? (tok_add_bos_default(t) ? TOK_ADD_BOS : 0) | (tok_add_eos_default(t) ? TOK_ADD_EOS : 0)
                      : 0;
    TextCursor c;
    cursor_init(&c, buf, len, o);
    const char *s;
    size_t n;
    int rc = LLM_OK;
    while (rc == LLM_OK && cursor_next(&c, &s, &n)) {
        int32_t *ids;
        int n_ids;
        rc = tok_encode(t, s, n, add_bos, &ids, &n_ids, err);
        if (rc != LLM_OK) break;
        write_ids(out, ids, n_ids);
        free(ids);
    }
    free(c.sep);
    return rc;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Encodes every text once; returns the token count. */
static long long encode_pass(const TokenizeOptions *o, const Tokenizer *t, const char *buf,
                             size_t len, int add_bos, LlmError *err) {
    TextCursor c;
    cursor_init(&c, buf, len, o);
    const char *s;
    size_t n;
    long long tokens = 0;
    while (cursor_next(&c, &s, &n)) {
        int32_t *ids;
        int n_ids;
        if (tok_encode(t, s, n, add_bos, &ids, &n_ids, err) != LLM_OK) {
            tokens = -1;
            break;
        }
        tokens += n_ids;
        free(ids);
    }
    free(c.sep);
    return tokens;
}

static int run_bench(const TokenizeOptions *o, const Tokenizer *t, const char *buf, size_t len,
                     LlmError *err) {
    int add_bos = o->bos == TOKENIZE_BOS_MODEL
                      ? (tok_add_bos_default(t) ? TOK_ADD_BOS : 0) | (tok_add_eos_default(t) ? TOK_ADD_EOS : 0)
                      : 0;
    if (encode_pass(o, t, buf, len, add_bos, err) < 0) return LLM_ERR;
    double t0 = now_s();
    long long tokens = encode_pass(o, t, buf, len, add_bos, err);
    double dt = now_s() - t0;
    if (tokens < 0) return LLM_ERR;
    fprintf(stderr, "llmcc tokenize: %zu bytes, %lld tokens, %.4f s, %.2f MB/s\n", len, tokens,
            dt, dt > 0 ? (double)len / dt / 1e6 : 0.0);
    return LLM_OK;
}

/* Parses one line of ids (white space separated) into *ids. */
static int parse_ids(const char *s, size_t n, int line, int n_vocab, int32_t **ids, int *n_ids,
                     LlmError *err) {
    char *copy = llm_xmalloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = 0;
    int32_t *v = llm_xmalloc((n / 2 + 1) * sizeof(int32_t));
    int k = 0, rc = LLM_OK;
    for (char *tok = strtok(copy, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        char *end;
        errno = 0;
        long x = strtol(tok, &end, 10);
        if (*end != 0 || errno != 0) {
            rc = llm_errorf(err, "stdin line %d: \"%.40s\" is not a token id", line, tok);
            break;
        }
        if (x < 0 || x >= n_vocab) {
            rc = llm_errorf(err, "stdin line %d: token id %ld is out of range (the vocabulary "
                            "has %d tokens)", line, x, n_vocab);
            break;
        }
        v[k++] = (int32_t)x;
    }
    free(copy);
    if (rc != LLM_OK) {
        free(v);
        return rc;
    }
    *ids = v;
    *n_ids = k;
    return LLM_OK;
}

static void write_text(FILE *out, const Tokenizer *t, const int32_t *ids, int n) {
    TokDecoder *d = tok_decoder_new(t);
    char buf[TOK_DECODE_MAX];
    for (int i = 0; i < n; i++) fwrite(buf, 1, tok_decoder_push(d, ids[i], buf), out);
    size_t k;
    while ((k = tok_decoder_flush(d, buf)) > 0) fwrite(buf, 1, k, out);
    tok_decoder_free(d);
}

static int run_decode(const TokenizeOptions *o, const Tokenizer *t, const char *buf,
                      size_t len, FILE *out, LlmError *err) {
    TokenizeOptions lines = *o;
    lines.split = TOKENIZE_SPLIT_LINES;
    TextCursor c;
    cursor_init(&c, buf, len, &lines);
    const char *s;
    size_t n;
    int rc = LLM_OK;
    for (int line = 1; rc == LLM_OK && cursor_next(&c, &s, &n); line++) {
        int32_t *ids;
        int n_ids;
        rc = parse_ids(s, n, line, tok_vocab_size(t), &ids, &n_ids, err);
        if (rc != LLM_OK) break;
        write_text(out, t, ids, n_ids);
        if (o->split == TOKENIZE_SPLIT_LINES) fputc('\n', out);
        if (o->split == TOKENIZE_SPLIT_MARK) fprintf(out, "\n%s\n", o->mark);
        free(ids);
    }
    free(c.sep);
    return rc;
}

int tokenize_run(const TokenizeOptions *o, FILE *in, FILE *out, LlmError *err) {
    Tokenizer *t;
    if (load_tokenizer(o->path, &t, err)) return LLM_ERR;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_stream(in, &buf, &len, err);
    if (rc == LLM_OK) {
        if (o->mode == TOKENIZE_MODE_DECODE) rc = run_decode(o, t, buf, len, out, err);
        else if (o->mode == TOKENIZE_MODE_BENCH) rc = run_bench(o, t, buf, len, err);
        else rc = run_encode(o, t, buf, len, out, err);
        free(buf);
    }
    tok_free(t);
    return rc;
}
