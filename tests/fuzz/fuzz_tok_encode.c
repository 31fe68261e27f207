/* fuzz_tok_encode.c - libFuzzer target: tok_encode on arbitrary bytes.
 *
 * The first input byte picks the tokenizer, the rest is the text. Checks:
 * no crash or sanitizer report, every id in range, streaming decode of the
 * ids emits only valid UTF-8, and for gpt-2 (all 256 bytes have a symbol,
 * no normalizer) the token bytes concatenate back to the exact input.
 */
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_load_all();
    return 0;
}

static void check_decode(const Tokenizer *t, const int32_t *ids, int n) {
    TokDecoder *d = tok_decoder_new(t);
    char out[TOK_DECODE_MAX];
    for (int i = 0; i < n; i++) {
        size_t k = tok_decoder_push(d, ids[i], out);
        if (!fuzz_valid_utf8(out, k)) abort();
    }
    size_t k;
    while ((k = tok_decoder_flush(d, out)) > 0)
        if (!fuzz_valid_utf8(out, k)) abort();
    tok_decoder_free(d);
}

static void check_bytes_round_trip(const Tokenizer *t, const int32_t *ids, int n,
                                   const char *text, size_t len) {
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        char piece[1024];
        int b = tok_token_bytes(t, ids[i], piece, sizeof piece);
        if (b < 0 || at + (size_t)b > len || memcmp(text + at, piece, (size_t)b) != 0) abort();
        at += (size_t)b;
    }
    if (at != len) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int which = data[0] % FUZZ_N_TOK;
    const Tokenizer *t = fuzz_toks[which];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    int32_t *ids = NULL;
    int n = 0;
    LlmError err;
    if (tok_encode(t, text, len, data[0] & 0x80, &ids, &n, &err) != LLM_OK) abort();
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= tok_vocab_size(t)) abort();
    check_decode(t, ids, n);
    if (which == FUZZ_GPT2 && !(data[0] & 0x80)) check_bytes_round_trip(t, ids, n, text, len);
    free(ids);
    return 0;
}
