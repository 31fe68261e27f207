/* tok_load_gguf.c - tokenizer from GGUF metadata (keys mapped 1:1 to JSON).
 *
 * "gpt2": byte-level BPE; tokens + merges (ranked by order) + the regexes
 * named by tokenizer.ggml.pre. "llama": SentencePiece-style BPE; tokens +
 * scores, merges derived from the vocab (every split of a token into two
 * tokens, ranked by the merged token's score, best first, as llama.cpp's
 * SPM tokenizer does), "\u2581" escaping, add_space_prefix, <0xNN> bytes.
 * Token types: 3 (control) and 4 (user-defined) are matched as whole in the
 * text; 3 is special (control) for decoding. Both decode to their text as
 * written, not through the byte-level map (llama.cpp's token_to_piece: the
 * deepseek-llm vocab has user-defined "\u00fc" and friends, which would
 * otherwise decode as the lone byte 0xFC).
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

#define GGUF_SRC "GGUF metadata"

enum { GGUF_TOKEN_UNKNOWN = 2, GGUF_TOKEN_CONTROL = 3, GGUF_TOKEN_USER = 4, GGUF_TOKEN_BYTE = 6 };

static int gguf_get_id(json_t *meta, const char *key, int32_t n_vocab, int32_t *out, LlmError *err) {
    json_t *v = json_object_get(meta, key);
    if (!v) return LLM_OK;
    json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
    if (id < 0 || id >= n_vocab)
        return llm_errorf(err, GGUF_SRC ": %s %lld is out of range (%d tokens)", key,
                          (long long)id, (int)n_vocab);
    *out = (int32_t)id;
    return LLM_OK;
}

static int gguf_get_bool(json_t *meta, const char *key, int dflt) {
    json_t *v = json_object_get(meta, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static int gguf_load_tokens(Tokenizer *t, json_t *meta, LlmError *err) {
    json_t *tokens = json_object_get(meta, "tokenizer.ggml.tokens");
    if (!json_is_array(tokens) || json_array_size(tokens) == 0)
        return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.tokens is missing or empty");
    json_t *types = json_object_get(meta, "tokenizer.ggml.token_type");
    tok_alloc_vocab(t, (int32_t)json_array_size(tokens));
    for (int32_t i = 0; i < t->n_vocab; i++) {
        json_t *s = json_array_get(tokens, (size_t)i);
        if (!json_is_string(s))
            return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.tokens[%d] is not a string", (int)i);
        const char *txt = json_string_value(s);
        size_t len = json_string_length(s);
        tok_set_token(t, i, txt, len);
        json_int_t type = json_integer_value(json_array_get(types, (size_t)i));
        if (type == GGUF_TOKEN_CONTROL || type == GGUF_TOKEN_USER)
            tok_add_special(t, i, txt, len, 0);
        t->is_special[i] = type == GGUF_TOKEN_CONTROL;
        if (type == GGUF_TOKEN_USER) { /* decoded as written (tok_finish keeps it) */
            t->bytes[i] = t->text[i];
            t->bytes_len[i] = t->text_len[i];
        }
        if (type == GGUF_TOKEN_UNKNOWN && t->unk_id < 0) t->unk_id = i;
    }
    return LLM_OK;
}

static int gguf_load_merges(Tokenizer *t, json_t *meta, LlmError *err) {
    json_t *merges = json_object_get(meta, "tokenizer.ggml.merges");
    if (!json_is_array(merges)) return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.merges is missing");
    pair_map_init(&t->merges, json_array_size(merges));
    for (size_t i = 0; i < json_array_size(merges); i++) {
        const char *m = json_string_value(json_array_get(merges, i));
        const char *sp = m ? strchr(m + (m[0] == ' '), ' ') : NULL;
        if (!sp)
            return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.merges[%zu] is not \"left right\"", i);
        if (tok_add_merge(t, m, (size_t)(sp - m), sp + 1, strlen(sp + 1), (int32_t)i,
                          GGUF_SRC ": tokenizer.ggml", err))
            return LLM_ERR;
    }
    return LLM_OK;
}

typedef struct ScoreRank {
    float score; /* token score, higher merges first */
    int32_t id;  /* token id */
} ScoreRank;

static int score_cmp(const void *pa, const void *pb) {
    const ScoreRank *a = pa, *b = pb;
    return a->score > b->score ? -1 : a->score < b->score ? 1 : 0;
}

/* Ranks tokens by score (equal scores share a rank) and adds every split
 * of each token into two in-vocab tokens as a merge. */
static void gguf_spm_merges(Tokenizer *t, json_t *meta, json_t *types) {
    json_t *scores = json_object_get(meta, "tokenizer.ggml.scores");
    ScoreRank *order = llm_xmalloc((size_t)t->n_vocab * sizeof(ScoreRank));
    for (int32_t i = 0; i < t->n_vocab; i++) {
        order[i].score = (float)json_number_value(json_array_get(scores, (size_t)i));
        order[i].id = i;
    }
    qsort(order, (size_t)t->n_vocab, sizeof(ScoreRank), score_cmp);
    pair_map_init(&t->merges, (size_t)t->n_vocab * 2);
    int32_t rank = 0;
    for (int32_t k = 0; k < t->n_vocab; k++) {
        if (k > 0 && order[k].score != order[k - 1].score) rank = k;
        int32_t id = order[k].id;
        json_int_t type = json_integer_value(json_array_get(types, (size_t)id));
        if (type == GGUF_TOKEN_CONTROL || type == GGUF_TOKEN_BYTE) continue;
        const char *s = t->text[id];
        uint32_t len = t->text_len[id];
        for (uint32_t cut = 1; cut < len; cut++) {
            if (((uint8_t)s[cut] & 0xC0) == 0x80) continue;
            int32_t a = str_map_get(&t->vocab, s, cut);
            int32_t b = str_map_get(&t->vocab, s + cut, len - cut);
            if (a >= 0 && b >= 0) pair_map_put(&t->merges, a, b, rank, id);
        }
    }
    free(order);
}

static int gguf_load_model(Tokenizer *t, json_t *meta, const char *model, LlmError *err) {
    if (strcmp(model, "gpt2") == 0) {
        t->kind = TOK_KIND_BYTE_BPE;
        const char *pre = json_string_value(json_object_get(meta, "tokenizer.ggml.pre"));
        if (gguf_load_merges(t, meta, err)) return LLM_ERR;
        return tok_pretok_add_named(t, pre ? pre : "default", err);
    }
    if (strcmp(model, "llama") == 0) {
        t->kind = TOK_KIND_SPM_BPE;
        json_t *scores = json_object_get(meta, "tokenizer.ggml.scores");
        if (!json_is_array(scores) || json_array_size(scores) != (size_t)t->n_vocab)
            return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.scores is missing or has %zu "
                              "entries for %d tokens", json_array_size(scores), (int)t->n_vocab);
        gguf_spm_merges(t, meta, json_object_get(meta, "tokenizer.ggml.token_type"));
        int space = gguf_get_bool(meta, "tokenizer.ggml.add_space_prefix", 1);
        t->norm_prepend = space;
        t->norm_space = 1;
        t->byte_fallback = 1;
        t->strip_first_space = space;
        return LLM_OK;
    }
    return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.model \"%.100s\" is not supported "
                      "(expected \"gpt2\" or \"llama\")", model);
}

int tok_load_gguf(Tokenizer *t, json_t *meta, LlmError *err) {
    if (!json_is_object(meta)) return llm_errorf(err, GGUF_SRC ": \"meta\" object is missing");
    const char *model = json_string_value(json_object_get(meta, "tokenizer.ggml.model"));
    if (!model) return llm_errorf(err, GGUF_SRC ": tokenizer.ggml.model is missing");
    if (gguf_load_tokens(t, meta, err)) return LLM_ERR;
    if (gguf_load_model(t, meta, model, err)) return LLM_ERR;
    if (gguf_get_id(meta, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos_id, err) ||
        gguf_get_id(meta, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos_id, err) ||
        gguf_get_id(meta, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk_id, err))
        return LLM_ERR;
    t->add_bos = gguf_get_bool(meta, "tokenizer.ggml.add_bos_token", t->kind == TOK_KIND_SPM_BPE);
    t->add_eos = gguf_get_bool(meta, "tokenizer.ggml.add_eos_token", 0);
    return LLM_OK;
}
