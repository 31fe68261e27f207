/* tok_decoder.c - token bytes and streaming detokenization.
 *
 * tok_finish (run once at load) turns each token's vocab text into the raw
 * bytes it stands for: byte-level tokens map each char back through the
 * GPT-2 byte table; SentencePiece tokens turn "\u2581" into ' ' and
 * <0xNN> into the byte NN; special tokens decode to their own text.
 *
 * TokDecoder keeps the bytes that do not yet form a complete UTF-8 char and
 * emits only complete chars. A byte that can never start or continue a
 * valid sequence is emitted as U+FFFD (as HF's lossy decode does); flush
 * turns a held incomplete tail into one U+FFFD. No byte is dropped
 * otherwise.
 *
 * Leading-space rule: when the tokenizer prepends "\u2581" to the text
 * (HF decoder Strip(start=1) or Metaspace decoder with a prepend scheme;
 * GGUF llama with add_space_prefix), HF's decode strips one space from the
 * start of the whole decoded string. The decoder does the same: the first
 * token that yields any bytes loses one leading ' ' if it has one; later
 * tokens keep theirs. Special tokens yield their text and count as the
 * first piece. Decoding a continuation (no BOS) therefore equals HF
 * decode(ids) with skip_special_tokens=False.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

static size_t utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t utf8_get(const char *s, size_t n) {
    const uint8_t *u = (const uint8_t *)s;
    if (n == 1) return u[0];
    uint32_t cp = u[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) cp = (cp << 6) | (u[i] & 0x3F);
    return cp;
}

/* Byte-level text -> bytes; returns 0 if some char is not a byte symbol. */
static int bytes_from_byte_level(const char *s, size_t len, char *out, size_t *n_out) {
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = tok_utf8_len(s + i, len - i);
        int b = tok_cp_to_byte(utf8_get(s + i, k));
        if (b < 0 || (k == 1 && (uint8_t)s[i] >= 0x80)) return 0;
        out[n++] = (char)b;
        i += k;
    }
    *n_out = n;
    return 1;
}

/* SentencePiece text -> bytes: <0xNN> is one byte, "\u2581" is ' '. */
static size_t bytes_from_spm(const char *s, size_t len, char *out) {
    unsigned v;
    if (len == 6 && s[0] == '<' && s[1] == '0' && s[2] == 'x' && s[5] == '>' &&
        sscanf(s + 3, "%2X", &v) == 1) {
        out[0] = (char)v;
        return 1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) {
            out[n++] = ' ';
            i += 2;
        } else {
            out[n++] = s[i];
        }
    }
    return n;
}

static void finish_token_bytes(Tokenizer *t, int32_t id) {
    const char *s = t->text[id];
    size_t len = t->text_len[id], n = 0;
    char *buf = llm_xmalloc(len + 1);
    int ok = !t->is_special[id];
    if (ok && t->kind == TOK_KIND_BYTE_BPE) ok = bytes_from_byte_level(s, len, buf, &n);
    else if (ok) n = bytes_from_spm(s, len, buf);
    if (!ok) {
        free(buf);
        t->bytes[id] = t->text[id];
        t->bytes_len[id] = (uint32_t)len;
        return;
    }
    t->bytes[id] = buf;
    t->bytes_len[id] = (uint32_t)n;
}

static void finish_byte_ids(Tokenizer *t) {
    for (int b = 0; b < 256; b++) {
        char key[8];
        size_t n;
        if (t->kind == TOK_KIND_BYTE_BPE) {
            n = utf8_put(key, tok_byte_to_cp((uint8_t)b));
        } else {
            snprintf(key, sizeof key, "<0x%02X>", b);
            n = 6;
        }
        t->byte_id[b] = str_map_get(&t->vocab, key, n);
    }
}

int tok_finish(Tokenizer *t, LlmError *err) {
    (void)err;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (!t->text[i]) tok_set_token(t, i, "", 0);
        if (!t->bytes[i]) finish_token_bytes(t, i);
    }
    finish_byte_ids(t);
    return LLM_OK;
}

struct TokDecoder {
    const Tokenizer *t; /* borrowed */
    char *pend;         /* bytes not yet emitted */
    size_t n;           /* bytes in pend */
    size_t cap;         /* allocated bytes of pend */
    int started;        /* 1 once some token produced bytes */
};

TokDecoder *tok_decoder_new(const Tokenizer *t) {
    TokDecoder *d = llm_xcalloc(1, sizeof *d);
    d->t = t;
    return d;
}

void tok_decoder_free(TokDecoder *d) {
    if (!d) return;
    free(d->pend);
    free(d);
}

/* Length of a complete char at s, 0 if s holds a valid but incomplete
 * prefix, or -1 if s[0] starts no valid char here (Unicode's well-formed
 * table: no overlongs, surrogates or code points past U+10FFFF, so the
 * output is always valid UTF-8, as Rust's from_utf8_lossy gives HF). */
static int utf8_status(const char *s, size_t avail) {
    const uint8_t *u = (const uint8_t *)s;
    uint8_t c = u[0];
    if (c < 0x80) return 1;
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
          : c >= 0xF0 && c <= 0xF4 ? 4 : -1;
    if (n < 0) return -1;
    uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    uint8_t hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    for (int i = 1; i < n; i++) {
        if ((size_t)i >= avail) return 0;
        if (u[i] < (i == 1 ? lo : 0x80) || u[i] > (i == 1 ? hi : 0xBF)) return -1;
    }
    return n;
}

/* Moves complete chars from pend to out; at_end also flushes the tail. */
static size_t decoder_emit(TokDecoder *d, char *out, int at_end) {
    size_t i = 0, o = 0;
    while (i < d->n && o + 4 < TOK_DECODE_MAX) {
        int k = utf8_status(d->pend + i, d->n - i);
        if (k == 0 && !at_end) break;
        if (k <= 0) {
            o += utf8_put(out + o, 0xFFFD);
            i += k == 0 ? d->n - i : 1;
            continue;
        }
        memcpy(out + o, d->pend + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    if (i > 0) memmove(d->pend, d->pend + i, d->n - i);
    d->n -= i;
    out[o] = 0;
    return o;
}

size_t tok_decoder_push(TokDecoder *d, int32_t id, char *out) {
    const Tokenizer *t = d->t;
    if (id >= 0 && id < t->n_vocab && t->bytes_len[id] > 0) {
        const char *b = t->bytes[id];
        size_t len = t->bytes_len[id];
        if (!d->started && t->strip_first_space && b[0] == ' ') b++, len--;
        d->started = 1;
        if (d->n + len > d->cap) {
            d->cap = (d->n + len) * 2 + 16;
            d->pend = llm_xrealloc(d->pend, d->cap);
        }
        if (len > 0) memcpy(d->pend + d->n, b, len);
        d->n += len;
    }
    return decoder_emit(d, out, 0);
}

size_t tok_decoder_flush(TokDecoder *d, char *out) { return decoder_emit(d, out, 1); }
