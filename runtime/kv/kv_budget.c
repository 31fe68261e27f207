/* kv_budget.c - --kv-memory: parse a size or a fraction, turn it into a
 * block count, read host MemAvailable. See kv_budget.h for the syntax.
 *
 * Whole numbers without a fraction part or exponent are read exactly
 * (strtoull); anything else through strtod, with the characters checked
 * first so that hex floats, "inf", "nan", signs and spaces are refused.
 */
#include "kv/kv_budget.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KV_TWO_POW_64 18446744073709551616.0 /* 2^64: first double above SIZE_MAX */

/* The multiplier of a size suffix ("", "K", "MiB", "gb"...), 0 if unknown. */
static uint64_t size_suffix_scale(const char *suf) {
    static const char units[] = "KMGT";
    if (*suf == '\0') return 1;
    const char *u = strchr(units, toupper((unsigned char)*suf));
    if (u == NULL) return 0;
    uint64_t scale = 1024;
    for (const char *q = units; q < u; q++) scale *= 1024;
    const char *rest = suf + 1;
    if (strcmp(rest, "") == 0 || strcasecmp(rest, "b") == 0 || strcasecmp(rest, "ib") == 0)
        return scale;
    return 0;
}

static int bad_size(const char *flag, const char *text, LlmError *err) {
    return llm_errorf(err, "%s: expected a size like 512M or 2G, got '%s' (or a fraction of "
                      "free memory like 0.9)", flag, text);
}

/* Length of the number at the start of s: digits, '.', exponent. */
static size_t number_length(const char *s) {
    size_t n = strspn(s, "0123456789.");
    if ((s[n] == 'e' || s[n] == 'E') && n > 0) {
        size_t m = n + 1 + (s[n + 1] == '+' || s[n + 1] == '-');
        size_t digits = strspn(s + m, "0123456789");
        if (digits > 0) n = m + digits;
    }
    return n;
}

/* The number [len] at s: exact for plain digits, else strtod. */
static int read_number(const char *flag, const char *s, size_t len, double *v, uint64_t *whole,
                       LlmError *err) {
    char *end = NULL;
    errno = 0;
    if (strspn(s, "0123456789") == len) {
        *whole = strtoull(s, &end, 10);
        *v = (double)*whole;
    } else {
        *v = strtod(s, &end);
        *whole = 0;
    }
    if (end != s + len) return bad_size(flag, s, err);
    if (errno == ERANGE) return llm_errorf(err, "%s: %s is out of range", flag, s);
    return LLM_OK;
}

/* bytes = v * scale when that is a whole number of bytes in range. */
static int to_bytes(const char *flag, const char *text, double v, uint64_t whole, uint64_t scale,
                    size_t *bytes, LlmError *err) {
    if (whole > 0 || v == 0) { /* plain digits: exact */
        if (whole > SIZE_MAX / scale) return llm_errorf(err, "%s: %s is out of range", flag, text);
        *bytes = (size_t)(whole * scale);
    } else {
        double b = v * (double)scale;
        if (!(b < KV_TWO_POW_64)) return llm_errorf(err, "%s: %s is out of range", flag, text);
        if (scale == 1 && b != floor(b))
            return llm_errorf(err, "%s: %s is not a whole number of bytes", flag, text);
        *bytes = (size_t)b;
    }
    if (*bytes == 0) return llm_errorf(err, "%s: %s must be more than 0 bytes", flag, text);
    return LLM_OK;
}

int kv_budget_parse(const char *flag, const char *text, KvBudget *out, LlmError *err) {
    size_t len = number_length(text);
    if (len == 0 || strspn(text, ".") == len) return bad_size(flag, text, err);
    uint64_t scale = size_suffix_scale(text + len);
    if (scale == 0) return bad_size(flag, text, err);
    double v = 0.0;
    uint64_t whole = 0;
    if (read_number(flag, text, len, &v, &whole, err) != LLM_OK) return LLM_ERR;
    KvBudget b = {.kind = KV_BUDGET_BYTES};
    if (scale == 1 && v > 0.0 && v < 1.0) {
        b.kind = KV_BUDGET_FRACTION;
        b.fraction = v;
    } else if (to_bytes(flag, text, v, whole, scale, &b.bytes, err) != LLM_OK) {
        return LLM_ERR;
    }
    *out = b;
    return LLM_OK;
}

int kv_budget_blocks(const KvBudget *b, const KvCacheShape *shape, int max_seqs, size_t available,
                     const char *flag, int *n_blocks, LlmError *err) {
    if (b->kind != KV_BUDGET_FRACTION)
        return kv_cache_blocks_for_budget(shape, b->kind == KV_BUDGET_BYTES ? b->bytes : 0, flag,
                                          n_blocks, err);
    size_t per_block = kv_cache_block_bytes(shape);
    if (per_block == 0) return llm_errorf(err, "KV cache: block size overflows or is zero");
    if (available == 0)
        return llm_errorf(err, "%s %g: a fraction needs to know the free memory, which this "
                          "target does not report; give a size like 512M", flag, b->fraction);
    double bytes = b->fraction * (double)available;
    double n = floor(bytes / (double)per_block);
    if (n < 1.0)
        return llm_errorf(err, "%s %g: %g of the %.1f MiB free is %.0f bytes, too small for one "
                          "KV block of %zu bytes", flag, b->fraction, b->fraction,
                          (double)available / 1048576.0, bytes, per_block);
    double most = (double)(max_seqs > 0 ? max_seqs : 1) * (double)shape->max_blocks_per_seq;
    if (most > (double)INT32_MAX) most = (double)INT32_MAX;
    *n_blocks = (int)(n < most ? n : most);
    return LLM_OK;
}

int kv_budget_parse_meminfo(const char *text, const char *source, size_t *bytes, LlmError *err) {
    const char *key = "MemAvailable:";
    const char *line = text;
    while (line != NULL && strncmp(line, key, strlen(key)) != 0) {
        line = strchr(line, '\n');
        if (line != NULL) line++;
    }
    if (line == NULL) return llm_errorf(err, "%s: no MemAvailable line", source);
    const char *p = line + strlen(key);
    while (*p == ' ' || *p == '\t') p++;
    char *end = NULL;
    errno = 0;
    unsigned long long kib = isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
    if (end == NULL || errno == ERANGE || strncmp(end, " kB", 3) != 0 || kib > SIZE_MAX / 1024)
        return llm_errorf(err, "%s: cannot read the MemAvailable line '%.*s'", source,
                          (int)strcspn(line, "\n"), line);
    *bytes = (size_t)kib * 1024;
    return LLM_OK;
}

int kv_budget_host_available(size_t *bytes, LlmError *err) {
    const char *path = "/proc/meminfo";
    FILE *f = fopen(path, "r");
    if (f == NULL) return llm_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return kv_budget_parse_meminfo(buf, path, bytes, err);
}
