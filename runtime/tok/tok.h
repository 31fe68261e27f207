/* tok.h - tokenizers: text <-> token ids, and streaming detokenization.
 *
 * One Tokenizer type covers both families a compiled model may carry:
 *  - SentencePiece-style BPE (Llama 1/2, Mistral, TinyLlama, the bundled
 *    TinyStories model): merges by score or rank, "\u2581" for spaces,
 *    byte fallback tokens <0xNN>;
 *  - byte-level BPE (GPT-2, Llama 3, Qwen2, SmolLM2): pre-tokenizer regex
 *    (PCRE2), byte-to-unicode mapping, merges by rank.
 * Both are built from the JSON description the compiler embeds (see
 * LoadedModel.tokenizer in compiler/load/model_load.h):
 *   {"format":"hf",   "tokenizer": <tokenizer.json>, "config": <tokenizer_config.json>}
 *   {"format":"gguf", "meta": {"tokenizer.ggml.model": ..., every tokenizer.* key}}
 * Special/added tokens are matched in the text before splitting.
 */
#ifndef LLMCC_TOK_TOK_H
#define LLMCC_TOK_TOK_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct Tokenizer Tokenizer;

/* Builds a tokenizer from the JSON text described above. Errors name the
 * source ("tokenizer.json", "GGUF metadata") and the entry at fault. */
int tok_load_json(const char *json_text, size_t len, Tokenizer **out, LlmError *err);
void tok_free(Tokenizer *t);

int tok_vocab_size(const Tokenizer *t);
int tok_bos_id(const Tokenizer *t);          /* -1 if none */
int tok_eos_id(const Tokenizer *t);          /* -1 if none */
int tok_add_bos_default(const Tokenizer *t); /* add_bos_token of the model */
int tok_add_eos_default(const Tokenizer *t); /* add_eos_token of the model */
const char *tok_kind_name(const Tokenizer *t); /* "spm-bpe" or "byte-bpe" */

/* Encodes len bytes of text (any bytes; invalid UTF-8 is never a crash).
 * add_bos: flags, TOK_ADD_BOS (1) prepends BOS and TOK_ADD_EOS (2) appends
 * EOS when the model has one (the model's defaults: tok_add_*_default; a
 * prompt to continue never gets EOS). *ids is malloc'd. */
enum { TOK_ADD_BOS = 1, TOK_ADD_EOS = 2 };
int tok_encode(const Tokenizer *t, const char *text, size_t len, int add_bos,
               int32_t **ids, int *n_ids, LlmError *err);

/* The raw bytes a token stands for (byte-fallback and byte-level mapping
 * undone; SentencePiece "\u2581" becomes a space). Special tokens give their
 * text. Returns the byte count written (at most cap); -1 if id is out of
 * range. */
int tok_token_bytes(const Tokenizer *t, int32_t id, char *out, size_t cap);

/* Streaming detokenizer: feed ids one at a time, get back only complete
 * UTF-8 text; never emits half a character, never drops bytes. Handles the
 * SentencePiece rule that the first token's leading space is dropped. */
typedef struct TokDecoder TokDecoder;
TokDecoder *tok_decoder_new(const Tokenizer *t);
void tok_decoder_free(TokDecoder *d);
/* Appends the text that id completes to out (NUL-terminated) and returns
 * its length; out must hold at least TOK_DECODE_MAX bytes. */
#define TOK_DECODE_MAX 512
size_t tok_decoder_push(TokDecoder *d, int32_t id, char *out);
/* Emits whatever is held back (invalid trailing bytes as U+FFFD). */
size_t tok_decoder_flush(TokDecoder *d, char *out);

#endif
