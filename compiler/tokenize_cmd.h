/* tokenize_cmd.h - `llmcc tokenize`: the tokenizer of a model, without
 * compiling it, for conformance tests and benchmarks.
 *
 * Reads texts on an input stream and writes one line of space-separated
 * token ids per text, or (decode) reads lines of ids and writes the texts.
 * How the input is cut into texts (TokenizeSplit) is the same in both
 * directions, so `tokenize | tokenize --decode` gives the input back for
 * text the tokenizer can represent. Argument parsing stays in main.c; this
 * module reports bad input through LlmError and never exits.
 */
#ifndef LLMCC_TOKENIZE_CMD_H
#define LLMCC_TOKENIZE_CMD_H

#include <stdio.h>

#include "base/error.h"

/* How the input stream is cut into texts. */
typedef enum TokenizeSplit {
    TOKENIZE_SPLIT_NONE,  /* the whole input is one text */
    TOKENIZE_SPLIT_LINES, /* every line (without its '\n') is one text */
    TOKENIZE_SPLIT_MARK,  /* texts end at "\n" MARK "\n" (llama.cpp .inp files) */
} TokenizeSplit;

/* Which way the command runs. */
typedef enum TokenizeMode {
    TOKENIZE_MODE_ENCODE, /* text -> ids */
    TOKENIZE_MODE_DECODE, /* ids -> text */
    TOKENIZE_MODE_BENCH,  /* encode, print only the throughput to stderr */
} TokenizeMode;

/* BOS policy of the encoder. */
typedef enum TokenizeBos {
    TOKENIZE_BOS_MODEL, /* as the model's add_bos says */
    TOKENIZE_BOS_NEVER, /* --no-bos */
} TokenizeBos;

typedef struct TokenizeOptions {
    const char *path;    /* model folder, GGUF file or tokenizer JSON */
    TokenizeMode mode;   /* encode, decode or bench */
    TokenizeSplit split; /* how input is cut into texts */
    const char *mark;    /* separator line for TOKENIZE_SPLIT_MARK */
    TokenizeBos bos;     /* BOS policy (encode and bench) */
} TokenizeOptions;

/* Runs the command on in/out. Errors name the file, the line and the
 * value at fault (unreadable model, bad tokenizer, non-integer or
 * out-of-range id). */
int tokenize_run(const TokenizeOptions *o, FILE *in, FILE *out, LlmError *err);

#endif
