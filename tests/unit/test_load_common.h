/* test_load_common.h - helpers shared by the loader tests: temp folders,
 * writing files, a byte-buffer builder for GGUF / safetensors files, and a
 * message check. Header-only (static inline) because CMake builds each
 * tests/unit/test_*.c as its own binary.
 */
#ifndef LLMCC_TEST_LOAD_COMMON_H
#define LLMCC_TEST_LOAD_COMMON_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

/* Growing byte buffer. */
typedef struct Buf {
    uint8_t *p; /* [len] bytes */
    size_t len; /* bytes written */
} Buf;

static inline void buf_put(Buf *b, const void *src, size_t n) {
    b->p = llm_xrealloc(b->p, b->len + n);
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static inline void buf_u32(Buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    buf_put(b, x, 4);
}
static inline void buf_u64(Buf *b, uint64_t v) {
    buf_u32(b, (uint32_t)v);
    buf_u32(b, (uint32_t)(v >> 32));
}
static inline void buf_f32(Buf *b, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    buf_u32(b, u);
}
static inline void buf_str(Buf *b, const char *s) {
    buf_u64(b, strlen(s));
    buf_put(b, s, strlen(s));
}
static inline void buf_pad(Buf *b, size_t align) {
    static const uint8_t zero[64];
    while (b->len % align) buf_put(b, zero, 1);
}

/* Creates a fresh temp folder into dir[64]. */
static inline void tmp_dir(char *dir) {
    snprintf(dir, 64, "/tmp/llmcc_test_XXXXXX");
    if (mkdtemp(dir) == NULL) abort();
}

static inline void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) abort();
    if (n > 0 && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
}

static inline void write_text(const char *dir, const char *name, const char *text) {
    write_file(dir, name, text, strlen(text));
}

static inline int rm_entry(const char *path, const struct stat *st, int flag,
                           struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Fails the test (via cmocka's fail_msg) unless msg contains every needle. */
#define assert_msg_has(msg, ...)                                                 \
    do {                                                                         \
        const char *needles_[] = {__VA_ARGS__};                                  \
        for (size_t i_ = 0; i_ < sizeof needles_ / sizeof needles_[0]; i_++)     \
            if (strstr((msg), needles_[i_]) == NULL)                             \
                fail_msg("message \"%s\" lacks \"%s\"", (msg), needles_[i_]);    \
    } while (0)

#endif
