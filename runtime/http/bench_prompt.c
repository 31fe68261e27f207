/* bench_prompt.c - prompts of an exact token count (see bench_prompt.h). */
#include "http/bench_prompt.h"

#include <stdlib.h>
#include <string.h>

#include "sample/rng.h"

/* Word lengths in letters; count adjustments per stream; streams tried. */
enum { PROMPT_WORD_MIN = 2, PROMPT_WORD_MAX = 16, PROMPT_TRIES = 4, PROMPT_STREAMS = 4 };

static int is_word(const char *b, int n) {
    if (n < PROMPT_WORD_MIN + 1 || n > PROMPT_WORD_MAX + 1 || b[0] != ' ') return 0;
    for (int i = 1; i < n; i++)
        if (b[i] < 'a' || b[i] > 'z') return 0;
    return 1;
}

/* 1 when text (a word twice, with or without a leading space) encodes to
 * exactly [id, id] without BOS: the word stays one token between words. */
static int encodes_twice(const Tokenizer *tok, const char *text, size_t len, int32_t id) {
    int32_t *ids = NULL;
    int n = 0;
    LlmError e;
    if (tok_encode(tok, text, len, 0, &ids, &n, &e) != LLM_OK) return 0;
    int ok = n == 2 && ids[0] == id && ids[1] == id;
    free(ids);
    return ok;
}

/* Sorts the word tokens into the two ways a word can stay one token: as
 * "w w" (SentencePiece adds the first space) or as " w w" (byte-level). */
static void find_words(BenchPrompter *p, int32_t *bare, int *n_bare, int32_t *spaced, int *n_spaced) {
    int v = tok_vocab_size(p->tok);
    for (int32_t id = 0; id < v; id++) {
        char b[2 * PROMPT_WORD_MAX + 4];
        int n = tok_token_bytes(p->tok, id, b, sizeof b / 2);
        if (id == tok_bos_id(p->tok) || id == tok_eos_id(p->tok) || !is_word(b, n)) continue;
        memcpy(b + n, b, (size_t)n); /* " w w" */
        if (encodes_twice(p->tok, b, 2 * (size_t)n, id)) spaced[(*n_spaced)++] = id;
        if (encodes_twice(p->tok, b + 1, 2 * (size_t)n - 1, id)) bare[(*n_bare)++] = id;
    }
}

int bench_prompter_init(BenchPrompter *p, const Tokenizer *tok, LlmError *err) {
    memset(p, 0, sizeof *p);
    int v = tok_vocab_size(tok), n_bare = 0, n_spaced = 0;
    p->tok = tok;
    p->add_bos = tok_add_bos_default(tok) && tok_bos_id(tok) >= 0;
    int32_t *bare = llm_xmalloc((size_t)v * sizeof(int32_t));
    int32_t *spaced = llm_xmalloc((size_t)v * sizeof(int32_t));
    find_words(p, bare, &n_bare, spaced, &n_spaced);
    p->lead_space = n_spaced > n_bare;
    p->words = p->lead_space ? spaced : bare;
    p->n_words = p->lead_space ? n_spaced : n_bare;
    free(p->lead_space ? bare : spaced);
    if (p->n_words == 0) {
        bench_prompter_free(p);
        return llm_errorf(err, "bench: the tokenizer (%d tokens) has no whole-word tokens (a space "
                          "and %d to %d lowercase letters) to build prompts from", v,
                          PROMPT_WORD_MIN, PROMPT_WORD_MAX);
    }
    return LLM_OK;
}

void bench_prompter_free(BenchPrompter *p) {
    free(p->words);
    memset(p, 0, sizeof *p);
}

/* The first n words of the stream (seed, index, salt) as text, with the
 * leading space only where the tokenizer wants it (byte-level BPE). */
static char *words_text(const BenchPrompter *p, uint64_t seed, int index, int salt, int n) {
    LlmRng r;
    rng_seed(&r, seed ^ (0xD1B54A32D192ED03ull * ((uint64_t)(uint32_t)index + 1)) ^
                     (0x8CB92BA72F3D8DD7ull * (uint64_t)salt));
    size_t cap = (size_t)n * (PROMPT_WORD_MAX + 1) + 1, len = 0;
    char *text = llm_xmalloc(cap);
    for (int i = 0; i < n; i++) {
        int32_t id = p->words[rng_next_u64(&r) % (uint64_t)p->n_words];
        char b[64];
        int k = tok_token_bytes(p->tok, id, b, sizeof b);
        memcpy(text + len, b, (size_t)k);
        len += (size_t)k;
    }
    text[len] = '\0';
    if (!p->lead_space) memmove(text, text + 1, len); /* every word starts with a space */
    return text;
}

static int count_tokens(const BenchPrompter *p, const char *text, int *n, LlmError *err) {
    int32_t *ids = NULL;
    if (tok_encode(p->tok, text, strlen(text), p->add_bos ? TOK_ADD_BOS : 0, &ids, n, err) != LLM_OK)
        return LLM_ERR;
    free(ids);
    return LLM_OK;
}

/* Adjusts the word count of stream salt towards tokens; keeps the closest
 * text in *best (*best_n tokens). */
static int try_stream(const BenchPrompter *p, uint64_t seed, int index, int salt, int tokens,
                      char **best, int *best_n, LlmError *err) {
    int words = tokens - p->add_bos > 1 ? tokens - p->add_bos : 1;
    for (int t = 0; t < PROMPT_TRIES; t++) {
        char *cand = words_text(p, seed, index, salt, words);
        int n = 0;
        if (count_tokens(p, cand, &n, err) != LLM_OK) {
            free(cand);
            return LLM_ERR;
        }
        if (*best == NULL || abs(n - tokens) < abs(*best_n - tokens)) {
            free(*best);
            *best = cand;
            *best_n = n;
        } else {
            free(cand);
        }
        if (*best_n == tokens || words + (tokens - n) < 1) break;
        words += tokens - n;
    }
    return LLM_OK;
}

int bench_prompt_make(const BenchPrompter *p, uint64_t seed, int index, int tokens, char **text,
                      int *n_tokens, LlmError *err) {
    LLM_ASSERT(tokens >= 1);
    char *best = NULL;
    int best_n = 0;
    for (int salt = 0; salt < PROMPT_STREAMS && (best == NULL || best_n != tokens); salt++)
        if (try_stream(p, seed, index, salt, tokens, &best, &best_n, err) != LLM_OK) {
            free(best);
            return LLM_ERR;
        }
    *text = best;
    *n_tokens = best_n;
    return LLM_OK;
}
