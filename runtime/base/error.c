/* error.c - LlmError formatting, LLM_BUG and checked allocation. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int llm_errorf(LlmError *err, const char *fmt, ...) {
    if (err == NULL) return LLM_ERR;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return LLM_ERR;
}

int llm_error_prefix(LlmError *err, const char *fmt, ...) {
    if (err == NULL) return LLM_ERR;
    char prefix[512];
    char old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    memcpy(err->msg + n, ": ", 2);
    size_t rest = sizeof err->msg - n - 3;
    size_t m = strlen(old);
    if (m > rest) m = rest;
    memcpy(err->msg + n + 2, old, m);
    err->msg[n + 2 + m] = '\0';
    return LLM_ERR;
}

void llm_bug(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: internal error: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *llm_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) LLM_BUG("out of host memory (%zu bytes)", n);
    return p;
}

void *llm_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL) LLM_BUG("out of host memory (%zu x %zu bytes)", count, size);
    return p;
}

void *llm_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) LLM_BUG("out of host memory (%zu bytes)", n);
    return q;
}

char *llm_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = llm_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
