/* stop.h - stop strings over a stream of detokenized text.
 *
 * The matcher sits between the streaming detokenizer and the output. Text
 * that could still be the start of a stop string is held back until it is
 * resolved: released when the next bytes rule the match out, dropped when
 * they complete it. On a match the text before the stop string is
 * released, the stop string and everything after it are dropped, and the
 * stream ends. The match is the one that completes first in the byte
 * stream (of those completing at the same byte, the longest), so where the
 * text is cut into pieces (tokens) changes nothing, and a stop string may
 * span any number of tokens. Matching is on bytes; stop strings must be
 * valid UTF-8, so on valid UTF-8 text the output is only ever cut at a
 * character boundary (a match or a held suffix starts with the stop
 * string's first byte, a lead byte).
 * Not here: stop token ids (the caller compares ids), max tokens.
 */
#ifndef LLMCC_SAMPLE_STOP_H
#define LLMCC_SAMPLE_STOP_H

#include <stddef.h>

#include "base/error.h"

#define STOP_MAX_STRINGS 16 /* stop strings per request */
#define STOP_MAX_BYTES 256  /* bytes per stop string */

typedef enum StopStatus {
    STOP_CONTINUE = 0, /* no stop string completed; go on */
    STOP_MATCHED       /* a stop string completed; the stream has ended */
} StopStatus;

typedef struct StopMatcher {
    char **strs;     /* [n] owned copies of the stop strings */
    size_t *lens;    /* [n] their byte lengths, each 1..STOP_MAX_BYTES */
    int n;           /* stop strings; 0 = pass everything through */
    size_t max_len;  /* longest stop string */
    char *buf;       /* [cap] held text at held_at, then the work area */
    size_t cap;      /* bytes allocated for buf */
    size_t held_at;  /* offset of the held text in buf */
    size_t held;     /* bytes held back (< max_len) */
    int matched;     /* index of the stop string found, -1 while none */
} StopMatcher;

/* Checks a request's stop strings: at most STOP_MAX_STRINGS (strs is read
 * only when n is in range), each non-empty, at most STOP_MAX_BYTES bytes,
 * valid UTF-8. Messages name --stop and the value. */
int stop_strings_validate(const char *const *strs, int n, LlmError *err);
/* The same checks with name ("stop") in the messages instead of --stop. */
int stop_strings_check(const char *const *strs, int n, const char *name, LlmError *err);

/* Validates and copies strs [n]; m is empty on error. */
int stop_matcher_init(StopMatcher *m, const char *const *strs, int n, LlmError *err);
void stop_matcher_free(StopMatcher *m);
/* A new stream with the same stop strings (nothing held, no match). */
void stop_matcher_reset(StopMatcher *m);

/* Feeds text [len]; *out / *out_len: the bytes now safe to emit (valid
 * until the next call). After STOP_MATCHED every push releases nothing. */
StopStatus stop_matcher_push(StopMatcher *m, const char *text, size_t len, const char **out,
                             size_t *out_len);

/* The stream ended without a match: releases the held text. */
void stop_matcher_flush(StopMatcher *m, const char **out, size_t *out_len);

#endif
