/* logprobs_json.c - the --logprobs line writer (see logprobs_json.h). */
#include "cli/logprobs_json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* s [n] as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 copied, any other byte written as U+FFFD. */
static void write_string(FILE *f, const char *s, int n) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    fputc('"', f);
    for (int at = 0; at < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate(p + at, n - at, &cp);
        if (len <= 0) {
            fputs("\\ufffd", f);
            at++;
            continue;
        }
        if (cp == '"' || cp == '\\') fprintf(f, "\\%c", (char)cp);
        else if (cp < 0x20) fprintf(f, "\\u%04x", (unsigned)cp);
        else fwrite(p + at, 1, (size_t)len, f);
        at += (int)len;
    }
    fputc('"', f);
}

/* "id":..,"token":..,"bytes":[..],"logprob":.. of one token. */
static void token_fields(FILE *f, const Tokenizer *tok, int32_t id, float logprob) {
    char text[1024];
    int n = tok_token_bytes(tok, id, text, sizeof text);
    if (n < 0) n = 0;
    fprintf(f, "\"id\":%d,\"token\":", (int)id);
    write_string(f, text, n);
    fputs(",\"bytes\":[", f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%u", i ? "," : "", (unsigned)(unsigned char)text[i]);
    double lp = isinf(logprob) || isnan(logprob) ? -9999.0 : (double)logprob;
    fprintf(f, "],\"logprob\":%.9g", lp);
}

void logprobs_json_write(FILE *f, const Tokenizer *tok, int index, const LlmTokenLogprobs *lp) {
    fprintf(f, "{\"index\":%d,", index);
    token_fields(f, tok, lp->id, lp->logprob);
    fputs(",\"top_logprobs\":[", f);
    for (int i = 0; i < lp->n_top; i++) {
        fputs(i ? ",{" : "{", f);
        token_fields(f, tok, lp->top_ids[i], lp->top_logprobs[i]);
        fputc('}', f);
    }
    fputs("]}\n", f);
    fflush(f);
}

json_t *json_text(const char *s, size_t n) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    char *buf = llm_xmalloc(3 * n + 1); /* a bad byte (1) becomes U+FFFD (3) */
    size_t len = 0;
    for (size_t at = 0; at < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t step = utf8proc_iterate(p + at, (utf8proc_ssize_t)(n - at), &cp);
        if (step <= 0) {
            memcpy(buf + len, "\xef\xbf\xbd", 3);
            len += 3;
            at++;
            continue;
        }
        memcpy(buf + len, p + at, (size_t)step);
        len += (size_t)step;
        at += (size_t)step;
    }
    json_t *v = json_stringn(buf, len);
    free(buf);
    if (v == NULL) LLM_BUG("json_stringn refused %zu bytes of checked UTF-8", len);
    return v;
}

/* "id", "token", "bytes", "logprob" of one token into o. */
static void token_object(json_t *o, const Tokenizer *tok, int32_t id, float logprob) {
    char text[1024];
    int n = tok_token_bytes(tok, id, text, sizeof text);
    if (n < 0) n = 0;
    json_t *bytes = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(bytes, json_integer((unsigned char)text[i]));
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "token", json_text(text, (size_t)n));
    json_object_set_new(o, "bytes", bytes);
    double lp = isinf(logprob) || isnan(logprob) ? -9999.0 : (double)logprob;
    json_object_set_new(o, "logprob", json_real(lp));
}

json_t *logprobs_json_object(const Tokenizer *tok, const LlmTokenLogprobs *lp) {
    json_t *o = json_object(), *top = json_array();
    token_object(o, tok, lp->id, lp->logprob);
    for (int i = 0; i < lp->n_top; i++) {
        json_t *t = json_object();
        token_object(t, tok, lp->top_ids[i], lp->top_logprobs[i]);
        json_array_append_new(top, t);
    }
    json_object_set_new(o, "top_logprobs", top);
    return o;
}
