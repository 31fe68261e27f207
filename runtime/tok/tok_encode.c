/* tok_encode.c - text -> ids: special tokens, normalization, model.
 *
 * The order follows HF tokenizers (and agrees with llama.cpp for GGUF):
 *  1. split the raw text on special tokens that match un-normalized text;
 *  2. normalize each remaining piece (NFC, Prepend "\u2581", ' ' -> "\u2581");
 *  3. split the normalized piece on specials whose normalized text matches;
 *  4. pre-tokenize (regex split for byte-level; Metaspace for spm) and run
 *     BPE on each pre-token.
 * Special tokens are matched leftmost, longest first. Nothing here reads
 * past len; invalid UTF-8 flows through as single bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

typedef struct EncodeRun {
    const Tokenizer *t; /* the tokenizer */
    TokIds *out;        /* ids appended here */
    const char *origin; /* start of the whole input (Metaspace "first") */
} EncodeRun;

/* Finds the leftmost special (of the given normalized kind) in s. */
static const TokSpecial *find_special(const Tokenizer *t, const char *s, size_t len,
                                      int normalized, size_t *at) {
    for (size_t i = 0; i < len; i++) {
        if (!t->special_first[(uint8_t)s[i]]) continue;
        for (int k = 0; k < t->n_specials; k++) {
            const TokSpecial *sp = &t->specials[k];
            if (sp->normalized != normalized || sp->len > len - i) continue;
            if (sp->text[0] == s[i] && memcmp(sp->text, s + i, sp->len) == 0) {
                *at = i;
                return sp;
            }
        }
    }
    return NULL;
}

static void encode_byte_piece(void *ctx, const char *s, size_t len) {
    EncodeRun *r = ctx;
    tok_bpe_bytes(r->t, s, len, r->out);
}

/* Metaspace pre-tokenizer (when configured) and SentencePiece BPE. */
static void encode_spm_piece(EncodeRun *r, const char *s, size_t len, int at_origin) {
    const Tokenizer *t = r->t;
    if (t->meta_prefix == TOK_PREFIX_NONE && !t->meta_space) {
        tok_bpe_chars(t, s, len, r->out);
        return;
    }
    int starts_meta = len >= 3 && memcmp(s, "\xE2\x96\x81", 3) == 0;
    int prefix = !starts_meta && (t->meta_prefix == TOK_PREFIX_ALWAYS ||
                                  (t->meta_prefix == TOK_PREFIX_FIRST && at_origin));
    char *buf = llm_xmalloc(len * 3 + 3);
    size_t n = 0;
    if (prefix) memcpy(buf, "\xE2\x96\x81", 3), n = 3;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' && t->meta_space) memcpy(buf + n, "\xE2\x96\x81", 3), n += 3;
        else buf[n++] = s[i];
    }
    size_t word = 0;
    for (size_t i = 1; t->meta_split && i + 2 < n; i++) {
        if (memcmp(buf + i, "\xE2\x96\x81", 3) != 0) continue;
        tok_bpe_chars(t, buf + word, i - word, r->out);
        word = i;
    }
    tok_bpe_chars(t, buf + word, n - word, r->out);
    free(buf);
}

static void encode_model(EncodeRun *r, const char *s, size_t len) {
    if (len == 0) return;
    if (r->t->kind == TOK_KIND_BYTE_BPE) tok_pretok_split(r->t, s, len, encode_byte_piece, r);
    else encode_spm_piece(r, s, len, s == r->origin);
}

/* Steps 2-4 for one piece of raw text between specials. */
static void encode_raw_piece(EncodeRun *r, const char *s, size_t len) {
    if (len == 0) return;
    char *norm = NULL;
    size_t n = len;
    const char *p = s;
    if (r->t->norm_prepend || r->t->norm_space || r->t->norm_nfc) {
        n = tok_normalize(r->t, s, len, &norm);
        p = norm;
    }
    size_t at;
    const TokSpecial *sp;
    while (r->t->has_norm_specials && (sp = find_special(r->t, p, n, 1, &at)) != NULL) {
        encode_model(r, p, at);
        tok_ids_push(r->out, sp->id);
        p += at + sp->len;
        n -= at + sp->len;
    }
    encode_model(r, p, n);
    free(norm);
}

int tok_encode(const Tokenizer *t, const char *text, size_t len, int add_bos,
               int32_t **ids, int *n_ids, LlmError *err) {
    (void)err;
    TokIds out = {NULL, 0, 0};
    EncodeRun r = {t, &out, text};
    if ((add_bos & TOK_ADD_BOS) && t->bos_id >= 0) tok_ids_push(&out, t->bos_id);
    size_t at;
    const TokSpecial *sp;
    while ((sp = find_special(t, text, len, 0, &at)) != NULL) {
        encode_raw_piece(&r, text, at);
        tok_ids_push(&out, sp->id);
        text += at + sp->len;
        len -= at + sp->len;
    }
    encode_raw_piece(&r, text, len);
    if ((add_bos & TOK_ADD_EOS) && t->eos_id >= 0) tok_ids_push(&out, t->eos_id);
    if (!out.v) out.v = llm_xmalloc(sizeof(int32_t));
    *ids = out.v;
    *n_ids = out.n;
    return LLM_OK;
}
