/* tok_load_hf.c - tokenizer from Hugging Face tokenizer.json (+ config).
 *
 * Supported: model BPE (vocab, merges as "a b" or ["a","b"], unk_token,
 * byte_fallback, fuse_unk); normalizers Sequence/Prepend/Replace(' ')/NFC;
 * pre-tokenizers Sequence/ByteLevel/Split(Regex, Isolated)/Digits/
 * Metaspace; added_tokens (matched before the model; "normalized" ones on
 * normalized text); BOS from tokenizer_config (add_bos_token, bos_token) or
 * the TemplateProcessing post-processor. The family is byte-level when a
 * ByteLevel pre-tokenizer or decoder is present, SentencePiece otherwise.
 * Anything else is rejected with a message naming the entry.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tok/tok_internal.h"

#define HF_SRC "tokenizer.json"
#define HF_MAX_VOCAB (1 << 24)

static int hf_has_type(json_t *node, const char *type) {
    if (!json_is_object(node)) return 0;
    const char *ty = json_string_value(json_object_get(node, "type"));
    if (ty && strcmp(ty, type) == 0) return 1;
    json_t *list = json_object_get(node, "pretokenizers");
    if (!list) list = json_object_get(node, "decoders");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) if (hf_has_type(v, type)) return 1;
    return 0;
}

static int hf_load_vocab(Tokenizer *t, json_t *model, json_t *added, LlmError *err) {
    json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_object(vocab)) return llm_errorf(err, HF_SRC ": model.vocab is missing");
    json_int_t max_id = -1;
    const char *key;
    json_t *v;
    size_t i;
    json_object_foreach(vocab, key, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= HF_MAX_VOCAB)
            return llm_errorf(err, HF_SRC ": model.vocab[\"%.100s\"]: token id %lld is out of range",
                              key, (long long)id);
        if (id > max_id) max_id = id;
    }
    json_array_foreach(added, i, v) {
        json_int_t id = json_integer_value(json_object_get(v, "id"));
        if (!json_is_integer(json_object_get(v, "id")) || id < 0 || id >= HF_MAX_VOCAB)
            return llm_errorf(err, HF_SRC ": added_tokens[%zu]: token id %lld is out of range", i,
                              (long long)id);
        if (id > max_id) max_id = id;
    }
    tok_alloc_vocab(t, (int32_t)(max_id + 1));
    json_object_foreach(vocab, key, v) tok_set_token(t, (int32_t)json_integer_value(v), key, strlen(key));
    return LLM_OK;
}

static int hf_load_merges(Tokenizer *t, json_t *model, LlmError *err) {
    json_t *merges = json_object_get(model, "merges");
    pair_map_init(&t->merges, json_array_size(merges));
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m) {
        const char *l = NULL, *r = NULL;
        size_t ll = 0, rl = 0;
        if (json_is_array(m) && json_array_size(m) == 2) {
            l = json_string_value(json_array_get(m, 0));
            r = json_string_value(json_array_get(m, 1));
            ll = json_string_length(json_array_get(m, 0));
            rl = json_string_length(json_array_get(m, 1));
        } else if (json_is_string(m)) {
            l = json_string_value(m);
            r = strchr(l, ' ');
            if (r) ll = (size_t)(r - l), r++, rl = strlen(r);
        }
        if (!l || !r) return llm_errorf(err, HF_SRC ": model.merges[%zu] is not \"left right\"", i);
        if (tok_add_merge(t, l, ll, r, rl, (int32_t)i, HF_SRC ": model", err)) return LLM_ERR;
    }
    return LLM_OK;
}

static int hf_load_normalizer(Tokenizer *t, json_t *n, LlmError *err) {
    if (!n || json_is_null(n)) return LLM_OK;
    const char *ty = json_string_value(json_object_get(n, "type"));
    if (!ty) return llm_errorf(err, HF_SRC ": normalizer has no type");
    if (strcmp(ty, "Sequence") == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(n, "normalizers"), i, v)
            if (hf_load_normalizer(t, v, err)) return LLM_ERR;
        return LLM_OK;
    }
    const char *prep = json_string_value(json_object_get(n, "prepend"));
    const char *pat = json_string_value(json_object_get(json_object_get(n, "pattern"), "String"));
    const char *content = json_string_value(json_object_get(n, "content"));
    if (strcmp(ty, "Prepend") == 0 && prep && strcmp(prep, "\xE2\x96\x81") == 0) t->norm_prepend = 1;
    else if (strcmp(ty, "Replace") == 0 && pat && content && strcmp(pat, " ") == 0 &&
             strcmp(content, "\xE2\x96\x81") == 0) t->norm_space = 1;
    else if (strcmp(ty, "NFC") == 0) t->norm_nfc = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    else if (strcmp(ty, "NFKC") == 0) t->norm_nfc = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
    else if (strcmp(ty, "NFD") == 0) t->norm_nfc = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE;
    else if (strcmp(ty, "NFKD") == 0) t->norm_nfc = UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
    else return llm_errorf(err, HF_SRC ": normalizer \"%.50s\" (with these settings) is not supported", ty);
    return LLM_OK;
}

static int hf_load_pretok_one(Tokenizer *t, json_t *p, const char *ty, LlmError *err) {
    if (strcmp(ty, "ByteLevel") == 0) {
        json_t *re = json_object_get(p, "use_regex");
        return (!re || json_is_true(re)) ? tok_pretok_add_regex(t, TOK_REGEX_GPT2, HF_SRC, err) : LLM_OK;
    }
    if (strcmp(ty, "Digits") == 0)
        return tok_pretok_add_regex(t, json_is_true(json_object_get(p, "individual_digits")) ?
                                    "\\p{N}" : "\\p{N}+", HF_SRC, err);
    if (strcmp(ty, "Split") == 0) {
        const char *re = json_string_value(json_object_get(json_object_get(p, "pattern"), "Regex"));
        const char *beh = json_string_value(json_object_get(p, "behavior"));
        if (!re || !beh || strcmp(beh, "Isolated") != 0 || json_is_true(json_object_get(p, "invert")))
            return llm_errorf(err, HF_SRC ": pre_tokenizer Split: only Regex + Isolated is supported");
        return tok_pretok_add_regex(t, re, HF_SRC, err);
    }
    if (strcmp(ty, "Metaspace") == 0) {
        const char *scheme = json_string_value(json_object_get(p, "prepend_scheme"));
        json_t *aps = json_object_get(p, "add_prefix_space");
        t->meta_space = 1;
        t->meta_split = !json_is_false(json_object_get(p, "split"));
        t->meta_prefix = scheme ? (strcmp(scheme, "first") == 0 ? TOK_PREFIX_FIRST :
                                   strcmp(scheme, "always") == 0 ? TOK_PREFIX_ALWAYS : TOK_PREFIX_NONE)
                                : (json_is_false(aps) ? TOK_PREFIX_NONE : TOK_PREFIX_ALWAYS);
        return LLM_OK;
    }
    return llm_errorf(err, HF_SRC ": pre_tokenizer \"%.50s\" is not supported", ty);
}

static int hf_load_pretok(Tokenizer *t, json_t *p, LlmError *err) {
    if (!p || json_is_null(p)) return LLM_OK;
    const char *ty = json_string_value(json_object_get(p, "type"));
    if (!ty) return llm_errorf(err, HF_SRC ": pre_tokenizer has no type");
    if (strcmp(ty, "Sequence") != 0) return hf_load_pretok_one(t, p, ty, err);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(p, "pretokenizers"), i, v)
        if (hf_load_pretok(t, v, err)) return LLM_ERR;
    return LLM_OK;
}

/* HF decodes a normalized added token from its normalized content (so the
 * tinystories "<unk>" decodes as " <unk>"); "\u2581" becomes ' '. */
static void hf_set_added_bytes(Tokenizer *t, int32_t id, const char *s, size_t len) {
    if (t->bytes[id]) return;
    char *b = llm_xmalloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (i + 2 < len && memcmp(s + i, "\xE2\x96\x81", 3) == 0) b[n++] = ' ', i += 2;
        else b[n++] = s[i];
    }
    t->bytes[id] = b;
    t->bytes_len[id] = (uint32_t)n;
}

static void hf_load_added(Tokenizer *t, json_t *added) {
    size_t i;
    json_t *v;
    json_array_foreach(added, i, v) {
        int32_t id = (int32_t)json_integer_value(json_object_get(v, "id"));
        json_t *c = json_object_get(v, "content");
        const char *s = json_string_value(c);
        if (!s) continue;
        tok_set_token(t, id, s, json_string_length(c));
        t->is_special[id] = json_is_true(json_object_get(v, "special"));
        int norm = json_is_true(json_object_get(v, "normalized")) &&
                   (t->norm_prepend || t->norm_space || t->norm_nfc);
        if (!norm) {
            tok_add_special(t, id, s, json_string_length(c), 0);
            continue;
        }
        char *ns;
        size_t n = tok_normalize(t, s, json_string_length(c), &ns);
        tok_add_special(t, id, ns, n, 1);
        hf_set_added_bytes(t, id, ns, n);
        free(ns);
    }
}

/* Token id named by a config entry: a string or {"content": ...}. */
static int32_t hf_named_id(const Tokenizer *t, json_t *v) {
    if (json_is_object(v)) v = json_object_get(v, "content");
    const char *s = json_string_value(v);
    return s ? str_map_get(&t->vocab, s, strlen(s)) : -1;
}

static void hf_load_bos(Tokenizer *t, json_t *tok, json_t *config) {
    json_t *single = json_object_get(json_object_get(tok, "post_processor"), "single");
    json_t *first = json_object_get(json_array_get(single, 0), "SpecialToken");
    int32_t post_bos = first ? hf_named_id(t, json_object_get(first, "id")) : -1;
    t->bos_id = hf_named_id(t, json_object_get(config, "bos_token"));
    t->eos_id = hf_named_id(t, json_object_get(config, "eos_token"));
    if (t->bos_id < 0) t->bos_id = post_bos;
    json_t *add = json_object_get(config, "add_bos_token");
    t->add_bos = add ? json_is_true(add) : post_bos >= 0;
    t->add_eos = json_is_true(json_object_get(config, "add_eos_token"));
}

int tok_load_hf(Tokenizer *t, json_t *tok, json_t *config, LlmError *err) {
    if (!json_is_object(tok)) return llm_errorf(err, HF_SRC ": \"tokenizer\" object is missing");
    json_t *model = json_object_get(tok, "model");
    const char *ty = json_string_value(json_object_get(model, "type"));
    if (!ty || strcmp(ty, "BPE") != 0)
        return llm_errorf(err, HF_SRC ": model.type \"%.50s\" is not supported (expected BPE)",
                          ty ? ty : "missing");
    json_t *added = json_object_get(tok, "added_tokens");
    if (hf_load_vocab(t, model, added, err) || hf_load_merges(t, model, err)) return LLM_ERR;
    int byte_level = hf_has_type(json_object_get(tok, "pre_tokenizer"), "ByteLevel") ||
                     hf_has_type(json_object_get(tok, "decoder"), "ByteLevel");
    t->kind = byte_level ? TOK_KIND_BYTE_BPE : TOK_KIND_SPM_BPE;
    if (hf_load_normalizer(t, json_object_get(tok, "normalizer"), err) ||
        hf_load_pretok(t, json_object_get(tok, "pre_tokenizer"), err))
        return LLM_ERR;
    hf_load_added(t, added);
    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    t->unk_id = unk ? str_map_get(&t->vocab, unk, strlen(unk)) : -1;
    t->byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
    t->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
    json_t *dec = json_object_get(tok, "decoder");
    t->strip_first_space = !byte_level && (hf_has_type(dec, "Strip") || hf_has_type(dec, "Metaspace"));
    hf_load_bos(t, tok, config);
    return LLM_OK;
}
