/* error.h - the one mechanism for reporting bad input.
 *
 * Functions that can fail on user input return LLM_OK (0) or LLM_ERR (-1)
 * and fill an LlmError with a one-line message that names the file, the
 * field or tensor, and the offending value. Only main() prints and exits.
 * Programmer bugs (violated invariants) use LLM_BUG, which aborts with
 * file:line; they are never reachable from user input.
 */
#ifndef LLMCC_BASE_ERROR_H
#define LLMCC_BASE_ERROR_H

#include <stddef.h>

enum { LLM_OK = 0, LLM_ERR = -1 };

typedef struct LlmError {
    char msg[1024]; /* NUL-terminated one-line message, "" when no error */
} LlmError;

/* Formats msg into err (if err is non-NULL) and returns LLM_ERR. */
int llm_errorf(LlmError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefixes an existing message: "<prefix>: <old message>". Returns LLM_ERR. */
int llm_error_prefix(LlmError *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
#define LLM_NORETURN [[noreturn]]
#else
#define LLM_NORETURN _Noreturn
#endif

/* Aborts with file:line and a message: for broken invariants only. */
LLM_NORETURN void llm_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LLM_BUG(...) llm_bug(__FILE__, __LINE__, __VA_ARGS__)
#define LLM_ASSERT(cond)                                                   \
    do {                                                                   \
        if (!(cond)) LLM_BUG("assertion failed: %s", #cond);               \
    } while (0)

/* Allocation that aborts on exhaustion (host memory exhaustion is not a
 * user-input error we can report meaningfully). */
void *llm_xmalloc(size_t n);
void *llm_xcalloc(size_t count, size_t size);
void *llm_xrealloc(void *p, size_t n);
char *llm_xstrdup(const char *s);

#endif
