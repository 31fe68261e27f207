/* fuzz_tok_decoder.c - libFuzzer target: the streaming detokenizer on
 * arbitrary id sequences.
 *
 * The first input byte picks the tokenizer; the rest is read as 24-bit
 * little-endian ids, some beyond the vocabulary (they must be ignored, not
 * read). Checks: no crash or sanitizer report; every piece a push or flush
 * returns is valid UTF-8 and fits TOK_DECODE_MAX; no byte is lost: the
 * pieces hold at least as many bytes as the tokens' bytes minus the
 * invalid ones replaced (each U+FFFD stands for >= 1 byte), and repeated
 * flushes end.
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

static size_t push_checked(size_t k, const char *out) {
    if (k >= TOK_DECODE_MAX || out[k] != 0 || !fuzz_valid_utf8(out, k)) abort();
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const Tokenizer *t = fuzz_toks[data[0] % FUZZ_N_TOK];
    TokDecoder *d = tok_decoder_new(t);
    char out[TOK_DECODE_MAX];
    size_t in_bytes = 0, out_bytes = 0;
    for (size_t i = 1; i + 3 <= size; i += 3) {
        int32_t id = (int32_t)(data[i] | data[i + 1] << 8 | data[i + 2] << 16);
        if (data[i + 2] & 0x80) id = -id;
        char piece[4096];
        int b = tok_token_bytes(t, id, piece, sizeof piece);
        if (b > 0) in_bytes += (size_t)b;
        out_bytes += push_checked(tok_decoder_push(d, id, out), out);
    }
    size_t k;
    int rounds = 0;
    while ((k = push_checked(tok_decoder_flush(d, out), out)) > 0) {
        out_bytes += k;
        if (++rounds > 1 << 20) abort();
    }
    /* each input byte becomes itself or part of one U+FFFD (3 bytes);
     * only the SentencePiece leading space may be dropped, once */
    if (out_bytes + 1 < in_bytes / 4) abort();
    tok_decoder_free(d);
    return 0;
}
