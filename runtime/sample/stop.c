/* stop.c - the stop-string matcher (see stop.h).
 *
 * buf holds the held-back text at held_at. A push first moves it to the
 * front (the caller has used the previous output by then), appends the new
 * text, looks for the first stop string that completes inside the new
 * bytes (one cannot complete inside the held text: it would have been
 * found last time), and otherwise holds back the longest suffix that is a
 * proper prefix of some stop string. Everything before that suffix can
 * start no match, so it is released. Cost per push: O(bytes * n * max_len)
 * at worst, with n <= 16 and max_len <= 256.
 */
#include "sample/stop.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

/* 1 when s [len] is well-formed UTF-8. */
static int valid_utf8(const char *s, size_t len) {
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t at = 0;
    while (at < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n = utf8proc_iterate(p + at, (utf8proc_ssize_t)(len - at), &cp);
        if (n <= 0) return 0;
        at += (size_t)n;
    }
    return 1;
}

int stop_strings_check(const char *const *strs, int n, const char *name, LlmError *err) {
    if (n < 0 || n > STOP_MAX_STRINGS)
        return llm_errorf(err, "%s: %d stop strings, at most %d", name, n, STOP_MAX_STRINGS);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(strs[i]);
        if (len == 0) return llm_errorf(err, "%s '': a stop string must not be empty", name);
        if (len > STOP_MAX_BYTES)
            return llm_errorf(err, "%s '%.32s...': %zu bytes, at most %d", name, strs[i], len,
                              STOP_MAX_BYTES);
        if (!valid_utf8(strs[i], len))
            return llm_errorf(err, "%s '%s': not valid UTF-8", name, strs[i]);
    }
    return LLM_OK;
}

int stop_strings_validate(const char *const *strs, int n, LlmError *err) {
    return stop_strings_check(strs, n, "--stop", err);
}

int stop_matcher_init(StopMatcher *m, const char *const *strs, int n, LlmError *err) {
    memset(m, 0, sizeof *m);
    m->matched = -1;
    if (stop_strings_validate(strs, n, err) != LLM_OK) return LLM_ERR;
    m->n = n;
    if (n == 0) return LLM_OK;
    m->strs = llm_xmalloc(sizeof(char *) * (size_t)n);
    m->lens = llm_xmalloc(sizeof(size_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        m->strs[i] = llm_xstrdup(strs[i]);
        m->lens[i] = strlen(strs[i]);
        if (m->lens[i] > m->max_len) m->max_len = m->lens[i];
    }
    m->cap = 2 * m->max_len;
    m->buf = llm_xmalloc(m->cap);
    return LLM_OK;
}

void stop_matcher_free(StopMatcher *m) {
    for (int i = 0; i < m->n; i++) free(m->strs[i]);
    free(m->strs);
    free(m->lens);
    free(m->buf);
    memset(m, 0, sizeof *m);
    m->matched = -1;
}

void stop_matcher_reset(StopMatcher *m) {
    m->held = m->held_at = 0;
    m->matched = -1;
}

/* The longest stop string that ends at byte end of buf; -1 if none. */
static int match_ending_at(const StopMatcher *m, size_t end) {
    int best = -1;
    for (int i = 0; i < m->n; i++) {
        size_t len = m->lens[i];
        if (len > end || (best >= 0 && len <= m->lens[best])) continue;
        if (memcmp(m->buf + end - len, m->strs[i], len) == 0) best = i;
    }
    return best;
}

/* Length of the longest suffix of buf [total] that is a proper prefix of
 * some stop string. */
static size_t held_suffix(const StopMatcher *m, size_t total) {
    size_t k = total < m->max_len - 1 ? total : m->max_len - 1;
    for (; k > 0; k--)
        for (int i = 0; i < m->n; i++)
            if (m->lens[i] > k && memcmp(m->buf + total - k, m->strs[i], k) == 0) return k;
    return 0;
}

StopStatus stop_matcher_push(StopMatcher *m, const char *text, size_t len, const char **out,
                             size_t *out_len) {
    *out = m->buf;
    *out_len = 0;
    if (m->matched >= 0) return STOP_MATCHED;
    if (m->n == 0) {
        *out = text;
        *out_len = len;
        return STOP_CONTINUE;
    }
    memmove(m->buf, m->buf + m->held_at, m->held);
    m->held_at = 0;
    if (m->held + len > m->cap) {
        m->cap = 2 * (m->held + len);
        m->buf = llm_xrealloc(m->buf, m->cap);
        *out = m->buf;
    }
    if (len > 0) memcpy(m->buf + m->held, text, len);
    size_t total = m->held + len;
    for (size_t end = m->held + 1; end <= total; end++) {
        int i = match_ending_at(m, end);
        if (i < 0) continue;
        m->matched = i;
        *out_len = end - m->lens[i];
        m->held = 0;
        return STOP_MATCHED;
    }
    m->held = held_suffix(m, total);
    m->held_at = total - m->held;
    *out_len = m->held_at;
    return STOP_CONTINUE;
}

void stop_matcher_flush(StopMatcher *m, const char **out, size_t *out_len) {
    *out = m->buf != NULL ? m->buf + m->held_at : "";
    *out_len = m->matched >= 0 ? 0 : m->held;
    m->held = m->held_at = 0;
}
