/* kv_budget.h - how much memory the KV pool may take (--kv-memory): a byte
 * count or a fraction of the memory free for it, and the number of blocks
 * that buys. Parsing needs no model; kv_budget_blocks needs the block shape
 * and, for a fraction, the bytes available (the engine's kv_capacity on a
 * device, host MemAvailable on the cpu target).
 *
 * Syntax: a size is a decimal number with an optional binary suffix K, M,
 * G or T (case-insensitive, optionally followed by "B" or "iB"): 512M,
 * 4GiB, 1.5g, 1e9, 1048576. Without a suffix, a number below 1 is a
 * fraction (0.9 = 90% of what is free) and anything else a whole number of
 * bytes. Every bad value gives an error naming the flag and the value.
 */
#ifndef LLMCC_KV_KV_BUDGET_H
#define LLMCC_KV_KV_BUDGET_H

#include <stddef.h>

#include "base/error.h"
#include "kv/kv_cache.h"

typedef enum KvBudgetKind {
    KV_BUDGET_DEFAULT = 0, /* not given: one sequence of the full context */
    KV_BUDGET_BYTES,       /* a byte count */
    KV_BUDGET_FRACTION     /* a share of the memory free for the pool */
} KvBudgetKind;

typedef struct KvBudget {
    KvBudgetKind kind;
    size_t bytes;    /* KV_BUDGET_BYTES: bytes, > 0 */
    double fraction; /* KV_BUDGET_FRACTION: share, in (0, 1) */
} KvBudget;

/* Parses text (see the syntax above); flag names the option in messages. */
int kv_budget_parse(const char *flag, const char *text, KvBudget *out, LlmError *err);

/* Blocks of shape that b buys: the default gives max_blocks_per_seq; bytes
 * give bytes / block bytes; a fraction gives fraction * available / block
 * bytes (available: bytes free for the pool, 0 = unknown, an error for a
 * fraction), but never more than max_seqs full-context sequences can use
 * (max_seqs * max_blocks_per_seq: a small model must not turn 90% of a
 * large memory into blocks it cannot fill). Errors when that is no block
 * at all. */
int kv_budget_blocks(const KvBudget *b, const KvCacheShape *shape, int max_seqs, size_t available,
                     const char *flag, int *n_blocks, LlmError *err);

/* MemAvailable (bytes) from the text of /proc/meminfo; source names it in
 * messages. */
int kv_budget_parse_meminfo(const char *text, const char *source, size_t *bytes, LlmError *err);
/* MemAvailable of this host, from /proc/meminfo. */
int kv_budget_host_available(size_t *bytes, LlmError *err);

#endif
