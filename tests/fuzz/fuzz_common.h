/* fuzz_common.h - the tokenizers the fuzzers run, loaded once.
 *
 * Header-only helper shared by the two libFuzzer targets in this folder:
 * every fixture family (HF tokenizer.json SentencePiece-style, GGUF
 * byte-level BPE with each pre-tokenizer, GGUF SentencePiece) loaded through
 * model_load_tokenizer, the path the compiler and `llmcc tokenize` use.
 * LLMCC_FIXTURES is set on the compiler command line (see README.md).
 */
#ifndef LLMCC_FUZZ_COMMON_H
#define LLMCC_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/model_load.h"
#include "tok/tok.h"

static const char *const FUZZ_TOK_PATHS[] = {
    LLMCC_FIXTURES "/models/tinystories-656k",
    LLMCC_FIXTURES "/tok/smollm2-tokenizer.json",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-gpt-2.gguf",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-llama-spm.gguf",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-phi-3.gguf",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-deepseek-llm.gguf",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-falcon.gguf",
    LLMCC_FIXTURES "/tok/vocab/ggml-vocab-starcoder.gguf",
};
#define FUZZ_N_TOK ((int)(sizeof FUZZ_TOK_PATHS / sizeof FUZZ_TOK_PATHS[0]))
#define FUZZ_GPT2 2 /* index of the gpt-2 vocab: every byte has a symbol */

static Tokenizer *fuzz_toks[FUZZ_N_TOK];

static void fuzz_load_all(void) {
    for (int i = 0; i < FUZZ_N_TOK; i++) {
        json_t *desc;
        LlmError err = {{0}};
        if (model_load_tokenizer(FUZZ_TOK_PATHS[i], &desc, &err) != LLM_OK) {
            fprintf(stderr, "fuzz: %s\n", err.msg);
            abort();
        }
        char *text = json_dumps(desc, JSON_COMPACT);
        json_decref(desc);
        if (tok_load_json(text, strlen(text), &fuzz_toks[i], &err) != LLM_OK) {
            fprintf(stderr, "fuzz: %s: %s\n", FUZZ_TOK_PATHS[i], err.msg);
            abort();
        }
        free(text);
    }
}

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int fuzz_valid_utf8(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k = c < 0x80 ? 1 : c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
                 : c >= 0xF0 && c < 0xF5 ? 4 : 0;
        if (k == 0 || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((u[i + j] & 0xC0) != 0x80) return 0;
        if (k == 3 && c == 0xE0 && u[i + 1] < 0xA0) return 0;
        if (k == 3 && c == 0xED && u[i + 1] >= 0xA0) return 0;
        if (k == 4 && c == 0xF0 && u[i + 1] < 0x90) return 0;
        if (k == 4 && c == 0xF4 && u[i + 1] >= 0x90) return 0;
        i += k;
    }
    return 1;
}

#endif
