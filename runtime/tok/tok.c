/* tok.c - Tokenizer construction, accessors and the public load entry.
 *
 * tok_load_json parses the embedded JSON description and hands the parsed
 * tree to the hf or gguf loader, which fill the vocabulary through the
 * helpers here; tok_finish then derives what encoding and decoding need
 * (decoded bytes per token, byte -> id tables). Invariant after a
 * successful load: every id < n_vocab has text (holes get ""), every merge
 * names in-vocab ids, specials are sorted longest first.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

void tok_alloc_vocab(Tokenizer *t, int32_t n_vocab) {
    t->n_vocab = n_vocab;
    t->text = llm_xcalloc((size_t)n_vocab, sizeof(char *));
    t->text_len = llm_xcalloc((size_t)n_vocab, sizeof(uint32_t));
    t->bytes = llm_xcalloc((size_t)n_vocab, sizeof(char *));
    t->bytes_len = llm_xcalloc((size_t)n_vocab, sizeof(uint32_t));
    t->is_special = llm_xcalloc((size_t)n_vocab, 1);
    str_map_init(&t->vocab, (size_t)n_vocab);
}

void tok_set_token(Tokenizer *t, int32_t id, const char *text, size_t len) {
    LLM_ASSERT(id >= 0 && id < t->n_vocab);
    if (t->text[id]) return;
    char *copy = llm_xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    t->text[id] = copy;
    t->text_len[id] = (uint32_t)len;
    str_map_put(&t->vocab, copy, len, id);
}

void tok_add_special(Tokenizer *t, int32_t id, const char *text, size_t len, int normalized) {
    if (len == 0) return;
    t->specials = llm_xrealloc(t->specials, (size_t)(t->n_specials + 1) * sizeof(TokSpecial));
    char *copy = llm_xmalloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    TokSpecial sp = {id, copy, (uint32_t)len, normalized};
    t->specials[t->n_specials++] = sp;
    t->has_norm_specials |= normalized;
    t->special_first[(uint8_t)text[0]] = 1;
}

int tok_add_merge(Tokenizer *t, const char *left, size_t llen, const char *right,
                  size_t rlen, int32_t rank, const char *src, LlmError *err) {
    int32_t a = str_map_get(&t->vocab, left, llen);
    int32_t b = str_map_get(&t->vocab, right, rlen);
    if (a < 0 || b < 0) {
        int bad_left = a < 0;
        return llm_errorf(err, "%s: merges[%d] \"%.*s %.*s\": token \"%.*s\" is not in the vocab",
                          src, rank, (int)llen, left, (int)rlen, right,
                          (int)(bad_left ? llen : rlen), bad_left ? left : right);
    }
    char *joined = llm_xmalloc(llen + rlen);
    memcpy(joined, left, llen);
    memcpy(joined + llen, right, rlen);
    int32_t m = str_map_get(&t->vocab, joined, llen + rlen);
    free(joined);
    if (m < 0)
        return llm_errorf(err, "%s: merges[%d] \"%.*s %.*s\": merged token is not in the vocab",
                          src, rank, (int)llen, left, (int)rlen, right);
    pair_map_put(&t->merges, a, b, rank, m);
    return LLM_OK;
}

static int special_cmp(const void *pa, const void *pb) {
    const TokSpecial *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

int tok_load_json(const char *json_text, size_t len, Tokenizer **out, LlmError *err) {
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(json_text, len, 0, &jerr);
    if (!root)
        return llm_errorf(err, "tokenizer description: JSON error at line %d: %s", jerr.line,
                          jerr.text);
    Tokenizer *t = llm_xcalloc(1, sizeof *t);
    t->unk_id = t->bos_id = t->eos_id = -1;
    const char *format = json_string_value(json_object_get(root, "format"));
    int rc;
    if (format && strcmp(format, "hf") == 0)
        rc = tok_load_hf(t, json_object_get(root, "tokenizer"), json_object_get(root, "config"), err);
    else if (format && strcmp(format, "gguf") == 0)
        rc = tok_load_gguf(t, json_object_get(root, "meta"), err);
    else
        rc = llm_errorf(err, "tokenizer description: \"format\" is %s%s%s, expected \"hf\" or \"gguf\"",
                        format ? "\"" : "", format ? format : "missing", format ? "\"" : "");
    json_decref(root);
    if (rc == LLM_OK) rc = tok_finish(t, err);
    if (rc != LLM_OK) {
        tok_free(t);
        return LLM_ERR;
    }
    if (t->n_specials > 1) /* qsort(NULL, 0) is undefined */
        qsort(t->specials, (size_t)t->n_specials, sizeof(TokSpecial), special_cmp);
    *out = t;
    return LLM_OK;
}

void tok_free(Tokenizer *t) {
    if (!t) return;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        free(t->text[i]);
        if (t->bytes[i] != t->text[i]) free(t->bytes[i]);
    }
    free(t->text);
    free(t->text_len);
    free(t->bytes);
    free(t->bytes_len);
    free(t->is_special);
    for (int i = 0; i < t->n_specials; i++) free((char *)t->specials[i].text);
    free(t->specials);
    for (int i = 0; i < t->n_regex; i++) pcre2_code_free(t->regex[i]);
    str_map_free(&t->vocab);
    pair_map_free(&t->merges);
    free(t);
}

int tok_vocab_size(const Tokenizer *t) { return t->n_vocab; }
int tok_bos_id(const Tokenizer *t) { return t->bos_id; }
int tok_eos_id(const Tokenizer *t) { return t->eos_id; }
int tok_add_bos_default(const Tokenizer *t) { return t->add_bos && t->bos_id >= 0; }
int tok_add_eos_default(const Tokenizer *t) { return t->add_eos && t->eos_id >= 0; }

const char *tok_kind_name(const Tokenizer *t) {
    return t->kind == TOK_KIND_SPM_BPE ? "spm-bpe" : "byte-bpe";
}

int tok_token_bytes(const Tokenizer *t, int32_t id, char *out, size_t cap) {
    if (id < 0 || id >= t->n_vocab) return -1;
    size_t n = t->bytes_len[id] < cap ? t->bytes_len[id] : cap;
    memcpy(out, t->bytes[id], n);
    return (int)n;
}
