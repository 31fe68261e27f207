/* tok_internal.h - the Tokenizer struct and the functions its modules share.
 *
 * Not a public header: only the runtime/tok C files include it. A Tokenizer is
 * immutable after tok_load_json returns, so one may be shared by threads.
 */
#ifndef LLMCC_TOK_TOK_INTERNAL_H
#define LLMCC_TOK_TOK_INTERNAL_H

#include <stdint.h>

#include <jansson.h>
#include <pcre2.h>

#include "tok/str_map.h"
#include "tok/tok.h"

typedef enum TokKind {
    TOK_KIND_SPM_BPE,  /* "\u2581" for spaces, byte fallback <0xNN> */
    TOK_KIND_BYTE_BPE, /* GPT-2 byte-to-unicode symbols, regex pre-tokens */
} TokKind;

/* When the HF Metaspace pre-tokenizer puts "\u2581" in front of a piece. */
typedef enum TokPrefix {
    TOK_PREFIX_NONE,   /* never */
    TOK_PREFIX_FIRST,  /* only the piece at text offset 0 */
    TOK_PREFIX_ALWAYS, /* every piece */
} TokPrefix;

/* A token matched as a whole in the input before any splitting. */
typedef struct TokSpecial {
    int32_t id;      /* token id */
    const char *text; /* text to match (owned by the Tokenizer) */
    uint32_t len;    /* bytes in text, > 0 */
    int normalized;  /* 1: matched on normalized text (HF "normalized": true) */
} TokSpecial;

#define TOK_MAX_REGEX 8
/* The GPT-2 pre-tokenizer regex (HF ByteLevel use_regex, llama.cpp gpt-2). */
#define TOK_REGEX_GPT2                                                        \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"      \
    "\\s+(?!\\S)|\\s+"

struct Tokenizer {
    TokKind kind;            /* model family */
    int32_t n_vocab;         /* ids are 0..n_vocab-1 */
    char **text;             /* [n_vocab] token text as in the vocab, NUL-terminated, NULL for holes */
    uint32_t *text_len;      /* [n_vocab] bytes in text */
    char **bytes;            /* [n_vocab] decoded bytes (byte-level/▁/<0xNN> undone) */
    uint32_t *bytes_len;     /* [n_vocab] bytes in bytes */
    uint8_t *is_special;     /* [n_vocab] 1 for control/added special tokens */
    StrMap vocab;            /* token text -> id */
    PairMap merges;          /* (left id, right id) -> (rank, merged id) */
    int32_t byte_id[256];    /* byte-level: id of each byte's symbol; spm: <0xNN> id; -1 if none */
    int32_t unk_id;          /* -1 if none */
    int32_t bos_id;          /* -1 if none */
    int32_t eos_id;          /* -1 if none */
    int add_bos;             /* model default for add_bos */
    int add_eos;             /* model default for add_eos (tokenizer_config / GGUF) */
    int fuse_unk;            /* 1: consecutive unknown symbols become one unk */
    int byte_fallback;       /* spm: unknown chars become <0xNN> tokens */
    int norm_prepend;        /* spm: normalizer prepends "\u2581" to each text piece */
    int norm_space;          /* spm: normalizer turns ' ' into "\u2581" */
    int norm_nfc;            /* utf8proc_map options of the Unicode normalizer (NFC, NFKC,
                                NFD or NFKD); 0 = none */
    TokPrefix meta_prefix;   /* spm: Metaspace pre-tokenizer prefix rule */
    int meta_space;          /* spm: Metaspace pre-tokenizer turns ' ' into "\u2581" */
    int meta_split;          /* spm: Metaspace splits before each "\u2581" */
    int strip_first_space;   /* decoder drops the first output's leading space */
    pcre2_code *regex[TOK_MAX_REGEX]; /* pre-tokenizer splits, applied in order */
    int n_regex;             /* used entries of regex */
    TokSpecial *specials;    /* sorted by len descending */
    int n_specials;          /* entries in specials */
    int has_norm_specials;   /* some special has normalized = 1 */
    uint8_t special_first[256]; /* 1 if some special starts with this byte */
};

/* tok.c: vocabulary building shared by the loaders. */
void tok_alloc_vocab(Tokenizer *t, int32_t n_vocab);
/* Sets token id's text (copied); errors on duplicate text are not fatal
 * (the lower id keeps the map entry, as HF and llama.cpp do). */
void tok_set_token(Tokenizer *t, int32_t id, const char *text, size_t len);
void tok_add_special(Tokenizer *t, int32_t id, const char *text, size_t len, int normalized);
/* Fills bytes/bytes_len/byte_id after all tokens are set. */
int tok_finish(Tokenizer *t, LlmError *err);
/* Adds merge number rank (left + right); errors name src and the entry. */
int tok_add_merge(Tokenizer *t, const char *left, size_t llen, const char *right,
                  size_t rlen, int32_t rank, const char *src, LlmError *err);
/* Applies the normalizer (NFC, Prepend, Replace) to s; *out is malloc'd. */
size_t tok_normalize(const Tokenizer *t, const char *s, size_t len, char **out);

/* tok_load_hf.c / tok_load_gguf.c */
int tok_load_hf(Tokenizer *t, json_t *tokenizer, json_t *config, LlmError *err);
int tok_load_gguf(Tokenizer *t, json_t *meta, LlmError *err);

/* tok_pretok.c */
int tok_pretok_add_regex(Tokenizer *t, const char *pattern, const char *src, LlmError *err);
/* Adds the regexes llama.cpp uses for a tokenizer.ggml.pre name. */
int tok_pretok_add_named(Tokenizer *t, const char *pre, LlmError *err);
typedef void (*TokPieceFn)(void *ctx, const char *s, size_t len);
/* Calls fn for each pre-token of s (all regexes, isolated matches). */
void tok_pretok_split(const Tokenizer *t, const char *s, size_t len, TokPieceFn fn, void *ctx);
/* GPT-2 byte-to-unicode: the code point that stands for byte b. */
uint32_t tok_byte_to_cp(uint8_t b);
/* Inverse; -1 if cp is not one of the 256 code points. */
int tok_cp_to_byte(uint32_t cp);

/* tok_bpe.c: id buffer that the encoder appends to. */
typedef struct TokIds {
    int32_t *v; /* ids */
    int n;      /* used */
    int cap;    /* allocated */
} TokIds;
void tok_ids_push(TokIds *ids, int32_t id);
/* Byte-level: BPE over the bytes of one pre-token. */
void tok_bpe_bytes(const Tokenizer *t, const char *s, size_t len, TokIds *out);
/* SentencePiece-style: BPE over the UTF-8 chars of s (already escaped). */
void tok_bpe_chars(const Tokenizer *t, const char *s, size_t len, TokIds *out);

/* utf8 helper: length of the sequence starting at s (1 for invalid bytes). */
size_t tok_utf8_len(const char *s, size_t avail);

#endif
