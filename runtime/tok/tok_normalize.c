/* tok_normalize.c - the normalizers the supported tokenizers use.
 *
 * NFC, NFKC, NFD or NFKD (utf8proc; text that is not valid UTF-8 is left
 * as it is), then
 * Prepend "\u2581" to a non-empty piece, then ' ' -> "\u2581". This is the
 * HF Sequence[Prepend, Replace] of Llama-style tokenizer.json files and
 * llama.cpp's add_space_prefix + whitespace escaping for GGUF SPM.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tok/tok_internal.h"

size_t tok_normalize(const Tokenizer *t, const char *s, size_t len, char **out) {
    utf8proc_uint8_t *nfc = NULL;
    if (t->norm_nfc && len > 0) {
        utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len,
                                          &nfc, (utf8proc_option_t)t->norm_nfc);
        if (r >= 0) {
            s = (const char *)nfc;
            len = (size_t)r;
        } else {
            nfc = NULL;
        }
    }
    char *buf = llm_xmalloc(len * 3 + 4);
    size_t n = 0;
    if (t->norm_prepend && len > 0) memcpy(buf, "\xE2\x96\x81", 3), n = 3;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' && t->norm_space) memcpy(buf + n, "\xE2\x96\x81", 3), n += 3;
        else buf[n++] = s[i];
    }
    free(nfc);
    *out = buf;
    return n;
}
