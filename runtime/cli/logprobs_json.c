/* logprobs_json.c - the --logprobs line writer (see logprobs_json.h). */
#include "cli/logprobs_json.h"

#include <math.h>
#include <stdint.h>

#include <utf8proc.h>

/* s [n] as a JSON string: quotes, backslashes and control characters
 * escaped, valid UTF-8 copied, any other byte written as U+FFFD. */
static void json_string(FILE *f, const char *s, int n) {
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
    json_string(f, text, n);
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
