/* kv_cache.h - the paged KV pool's bookkeeping: block ids, reference
 * counts, per-sequence block tables. The storage itself (n_blocks blocks of
 * block_size token slots for K and for V, laid out as program.h documents)
 * belongs to the engine (runtime/engine), in host or device memory. Sequences live in slots 0..max_seqs-1;
 * each slot owns one row of a contiguous block-table matrix
 * int32 [max_seqs][max_blocks_per_seq] (-1 = unused), so a batch can pass
 * the matrix (or one row) straight to LlmBatch.block_tables.
 *
 * Blocks carry reference counts so that prefix caching and copy-on-write
 * (a later issue) can share a block between sequences; today every block in
 * use has a count of 1. Running out of blocks is a normal status
 * (KV_OUT_OF_BLOCKS) that the caller handles, never an error or an abort.
 *
 * Invariants (checked by kv_cache_check): every block id is either on the
 * free list exactly once with ref_count 0, or referenced by block tables
 * exactly ref_count times; a sequence's table has its first n_blocks entries
 * set and the rest -1.
 */
#ifndef LLMCC_KV_KV_CACHE_H
#define LLMCC_KV_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/program.h"

/* The shape of one block, from the program. */
typedef struct KvCacheShape {
    int n_layers;           /* transformer layers */
    int n_kv_heads;         /* KV heads per layer */
    int head_dim;           /* elements per head */
    int block_size;         /* token slots per block */
    int max_blocks_per_seq; /* block-table row length */
    size_t elem_bytes;      /* bytes per K or V element */
} KvCacheShape;

/* Result of growing a sequence: statuses, not errors. */
typedef enum KvStatus {
    KV_OK = 0,            /* the sequence now has room */
    KV_OUT_OF_BLOCKS = 1, /* the pool (or the slot table) is full; nothing changed */
    KV_SEQ_TOO_LONG = 2   /* more tokens than max_blocks_per_seq * block_size */
} KvStatus;

/* One sequence slot. */
typedef struct KvSeq {
    int active;           /* 1 while the slot is open */
    int n_tokens;         /* tokens the reserved blocks must hold */
    int n_blocks;         /* blocks in the table row, ceil(n_tokens / block_size) */
    int32_t *block_table; /* [max_blocks_per_seq] row of KvCache.block_tables */
} KvSeq;

typedef struct KvCache {
    KvCacheShape shape;
    int n_blocks;           /* blocks in the pool */
    int max_seqs;           /* sequence slots */
    size_t block_bytes;     /* bytes of one block of K plus V, all layers */
    int32_t *free_ids;      /* [n_blocks] stack of free block ids, top at n_free - 1 */
    int n_free;             /* entries on the free stack */
    int32_t *ref_counts;    /* [n_blocks] table references per block */
    int32_t *block_tables;  /* [max_seqs][max_blocks_per_seq], -1 = unused */
    KvSeq *seqs;            /* [max_seqs] */
} KvCache;

KvCacheShape kv_shape_from_program(const LlmProgram *prog);

/* Bytes of K plus V for one block over all layers (0 if it overflows). */
size_t kv_cache_block_bytes(const KvCacheShape *shape);

/* Blocks that fit in budget_bytes (0 = the default: one sequence of the
 * full context, i.e. max_blocks_per_seq). Errors when the budget holds no
 * block; flag names the option for the message ("--kv-memory"). */
int kv_cache_blocks_for_budget(const KvCacheShape *shape, size_t budget_bytes, const char *flag,
                               int *n_blocks, LlmError *err);

/* Sets up the free list (all blocks) and max_seqs empty slots. */
int kv_cache_init(KvCache *kv, const KvCacheShape *shape, int n_blocks, int max_seqs,
                  LlmError *err);
void kv_cache_free(KvCache *kv);

/* Opens an empty sequence; KV_OUT_OF_BLOCKS when every slot is taken. */
KvStatus kv_seq_open(KvCache *kv, int *seq);
/* Grows seq so that it can hold n_tokens tokens, appending blocks from the
 * free list. All or nothing: on KV_OUT_OF_BLOCKS the table is unchanged.
 * Never shrinks. */
KvStatus kv_seq_reserve(KvCache *kv, int seq, int n_tokens);
/* Drops seq's references; blocks whose count reaches 0 go back on the free
 * list. The slot becomes free. */
void kv_seq_release(KvCache *kv, int seq);

/* Blocks needed to hold n_tokens more tokens in seq (0 if already room). */
int kv_seq_blocks_needed(const KvCache *kv, int seq, int n_tokens);
const int32_t *kv_seq_block_table(const KvCache *kv, int seq);

/* Verifies the invariants above; for tests and debug builds. */
int kv_cache_check(const KvCache *kv, LlmError *err);

#endif
