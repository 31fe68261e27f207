/* kv_cache.h - the paged KV block manager: block ids, reference counts,
 * per-sequence block tables, the prefix cache and copy-on-write. The
 * storage itself (n_blocks blocks of block_size token slots for K and for
 * V, laid out as program.h documents) belongs to the engine
 * (runtime/engine), in host or device memory; this module only decides
 * which block holds what. Sequences live in slots 0..max_seqs-1; each slot
 * owns one row of a contiguous block-table matrix
 * int32 [max_seqs][max_blocks_per_seq] (-1 = unused), so a batch can pass
 * the matrix (or one row) straight to LlmBatch.block_tables.
 *
 * Every block is in exactly one state:
 *   free     on the free stack: no references, no content anyone wants;
 *   cached   no references, but committed (see below) and on the evictable
 *            list, so a later prompt with the same prefix can share it;
 *   used     referenced by block tables (ref_counts) and/or pinned as the
 *            source of a pending copy (pins).
 * Allocation takes a free block first, then evicts the least recently
 * freed cached block (which leaves the prefix cache).
 *
 * Prefix cache: the caller commits a sequence's full blocks once a step has
 * written their K/V (kv_seq_commit). A committed block is identified by its
 * tokens and by the block before it in its sequence: its chain hash is
 * XXH3-64 of its block_size token ids seeded with the previous block's
 * chain hash. The hash only picks a bucket; a match also needs equal tokens
 * (stored per block) and the same predecessor, recorded as the
 * predecessor's commit id (unique per commit, never reused), so a block is
 * never shared when its tokens or any earlier token differ, even when
 * hashes collide. kv_seq_open_prompt shares the longest committed chain
 * that matches a prompt, at most (n_prompt - 1) / block_size blocks, so the
 * last prompt token is always computed (its logits are needed).
 *
 * Copy-on-write: kv_seq_fork shares all of a sequence's blocks. A step
 * writes only into the sequence's last, partly filled block and into new
 * blocks; when kv_seq_reserve finds that last block shared, it gives the
 * sequence a fresh block and queues a copy {src, dst} that must run before
 * the step (kv_cache_pending_copies, then kv_cache_copies_done). The source
 * stays pinned until then. No block is both a source and a destination in
 * the pending list, so the copies may run in any order or in parallel.
 *
 * Running out of blocks is a normal status (KV_OUT_OF_BLOCKS) that the
 * caller handles, never an error or an abort. Calling with a sequence that
 * is not open, or with counts that contradict the sequence, is a programmer
 * bug (abort with file:line).
 *
 * Invariants (checked by kv_cache_check): every block is in exactly one of
 * the three states; a used block is referenced by block tables exactly
 * ref_count times and is the source of exactly pins pending copies; a
 * sequence's table has ceil(n_tokens / block_size) entries set and the rest
 * -1 (so it wastes at most one partly filled block); its first n_committed
 * blocks are committed; every committed block in a table follows its
 * table predecessor in the prefix chain; the hash table holds exactly the
 * committed blocks, once each, without duplicates.
 */
#ifndef LLMCC_KV_KV_CACHE_H
#define LLMCC_KV_KV_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/program.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The shape of one block, from the program. */
typedef struct KvCacheShape {
    int n_layers;           /* transformer layers */
    int n_kv_heads;         /* KV heads per layer */
    int head_dim;           /* elements per head */
    int block_size;         /* token slots per block */
    int max_blocks_per_seq; /* block-table row length */
    size_t elem_bytes;      /* bytes per K or V element */
} KvCacheShape;

/* Result of growing or opening a sequence: statuses, not errors. */
typedef enum KvStatus {
    KV_OK = 0,            /* the sequence now has room */
    KV_OUT_OF_BLOCKS = 1, /* the pool (or the slot table) is full; nothing changed */
    KV_SEQ_TOO_LONG = 2   /* more tokens than max_blocks_per_seq * block_size */
} KvStatus;

/* One block copy the engine must make before the next step: K and V of
 * every layer of block src are copied to block dst. */
typedef struct KvCopy {
    int32_t src; /* block read (pinned until kv_cache_copies_done) */
    int32_t dst; /* block written (a fresh block of the sequence that copied) */
} KvCopy;

/* Chain hash of one full block: tokens [n_tokens] seeded with the previous
 * block's chain hash (KV_HASH_ROOT for a sequence's first block). */
typedef uint64_t (*KvHashFn)(const int32_t *tokens, int n_tokens, uint64_t parent_hash);
#define KV_HASH_ROOT 0u

/* Counters for metrics and bench. Block counts are "now"; the rest count
 * since kv_cache_init. */
typedef struct KvStats {
    int n_blocks;               /* blocks in the pool */
    int n_used;                 /* referenced or pinned */
    int n_cached;               /* unreferenced, committed, evictable */
    int n_free;                 /* unreferenced, holding nothing */
    int peak_used;              /* most blocks used at once */
    long long prompt_tokens;    /* prompt tokens offered to kv_seq_open_prompt */
    long long prefix_hit_tokens; /* of those, found in the prefix cache */
    long long n_commits;        /* blocks entered into the prefix cache */
    long long n_evictions;      /* cached blocks taken by the allocator */
    long long n_copies;         /* copy-on-write copies queued */
} KvStats;

/* One sequence slot. */
typedef struct KvSeq {
    int active;           /* 1 while the slot is open */
    int n_tokens;         /* tokens the sequence holds (written, or reserved for the next step) */
    int n_blocks;         /* blocks in the table row, ceil(n_tokens / block_size) */
    int n_committed;      /* leading blocks known committed (prefix cache), <= n_tokens / block_size */
    int32_t *block_table; /* [max_blocks_per_seq] row of KvCache.block_tables */
} KvSeq;

typedef struct KvCache {
    KvCacheShape shape;
    int n_blocks;             /* blocks in the pool */
    int max_seqs;             /* sequence slots */
    size_t block_bytes;       /* bytes of one block of K plus V, all layers */
    int32_t *free_ids;        /* [n_blocks] stack of free block ids, top at n_free - 1 */
    int n_free;               /* entries on the free stack */
    int32_t *ref_counts;      /* [n_blocks] block-table references per block */
    int32_t *pins;            /* [n_blocks] pending copies reading the block */
    int32_t *block_tables;    /* [max_seqs][max_blocks_per_seq], -1 = unused */
    KvSeq *seqs;              /* [max_seqs] */
    /* prefix cache */
    KvHashFn hash_fn;         /* chain hash (kv_hash_block; tests may swap it before use) */
    uint64_t *hashes;         /* [n_blocks] chain hash of a committed block */
    uint64_t *commit_ids;     /* [n_blocks] 0 = not committed, else unique commit number */
    uint64_t *parent_commits; /* [n_blocks] commit id of the predecessor, 0 for a first block */
    int32_t *block_tokens;    /* [n_blocks][block_size] token ids of a committed block */
    int32_t *buckets;         /* [bucket_mask + 1] first block of each hash bucket, -1 = none */
    int32_t *bucket_next;     /* [n_blocks] next block in the same bucket, -1 = end */
    uint32_t bucket_mask;     /* buckets - 1; buckets is a power of two >= n_blocks */
    uint64_t last_commit;     /* the last commit id handed out */
    /* evictable (cached) blocks, least recently freed first */
    int32_t *lru_prev;        /* [n_blocks] previous cached block, -1 = none */
    int32_t *lru_next;        /* [n_blocks] next cached block, -1 = none */
    int32_t lru_head;         /* least recently freed cached block, -1 = none */
    int32_t lru_tail;         /* most recently freed cached block, -1 = none */
    int n_cached;             /* blocks on the evictable list */
    /* copy-on-write */
    KvCopy *copies;           /* [n_blocks] pending copies, in the order queued */
    int n_copies;             /* entries of copies */
    KvStats stats;            /* counters (block counts filled in by kv_cache_stats) */
} KvCache;

KvCacheShape kv_shape_from_program(const LlmProgram *prog);

/* Bytes of K plus V for one block over all layers (0 if it overflows). */
size_t kv_cache_block_bytes(const KvCacheShape *shape);
/* Bytes of one block of K (or of V) in one layer (0 if it overflows): the
 * stride between blocks of a layer in the engines' pools. */
size_t kv_cache_layer_block_bytes(const KvCacheShape *shape);

/* Blocks that fit in budget_bytes (0 = the default: one sequence of the
 * full context, i.e. max_blocks_per_seq). Errors when the budget holds no
 * block; flag names the option for the message ("--kv-memory"). */
int kv_cache_blocks_for_budget(const KvCacheShape *shape, size_t budget_bytes, const char *flag,
                               int *n_blocks, LlmError *err);

/* Sets up the free list (all blocks), an empty prefix cache and max_seqs
 * empty slots. */
int kv_cache_init(KvCache *kv, const KvCacheShape *shape, int n_blocks, int max_seqs,
                  LlmError *err);
void kv_cache_free(KvCache *kv);

/* The default chain hash: XXH3-64 of the token ids' bytes seeded with
 * parent_hash. */
uint64_t kv_hash_block(const int32_t *tokens, int n_tokens, uint64_t parent_hash);

/* ---- sequences ------------------------------------------------------- */

/* Opens an empty sequence; KV_OUT_OF_BLOCKS when every slot is taken. */
KvStatus kv_seq_open(KvCache *kv, int *seq);
/* Opens a sequence for prompt [n_prompt] and shares the longest chain of
 * committed blocks matching its start, at most (n_prompt - 1) / block_size
 * blocks. *n_cached = prompt tokens whose K/V are already there (a multiple
 * of block_size, < n_prompt); the sequence holds them, so the caller
 * reserves n_prompt and computes positions *n_cached..n_prompt-1.
 * KV_OUT_OF_BLOCKS when every slot is taken (nothing changed). */
KvStatus kv_seq_open_prompt(KvCache *kv, const int32_t *prompt, int n_prompt, int *seq,
                            int *n_cached);
/* Opens *child sharing every block of parent (counts + 1), with the same
 * length and committed prefix. KV_OUT_OF_BLOCKS when every slot is taken. */
KvStatus kv_seq_fork(KvCache *kv, int parent, int *child);
/* Grows seq to n_tokens tokens: the next step writes positions
 * old n_tokens..n_tokens-1. Blocks are appended (free ones first, then
 * evicted cached ones). If the partly filled last block that the step
 * writes into is shared, the sequence gets a fresh block and a copy is
 * queued; if it is committed and only this sequence holds it, it leaves the
 * prefix cache. All or nothing: on KV_OUT_OF_BLOCKS or KV_SEQ_TOO_LONG
 * nothing changed. n_tokens <= the current length changes nothing. */
KvStatus kv_seq_reserve(KvCache *kv, int seq, int n_tokens);
/* Enters seq's full blocks into the prefix cache once their K/V are
 * written. tokens [n_tokens] are the sequence's ids from position 0
 * (n_tokens <= its length); blocks before n_committed are not read again.
 * A block equal to one already cached (same tokens, same predecessor) is
 * replaced by the cached one in every table that holds it, and released.
 * Returns how many blocks became committed for seq (n_committed's growth). */
int kv_seq_commit(KvCache *kv, int seq, const int32_t *tokens, int n_tokens);
/* Shrinks seq to its first n_tokens tokens (<= its length), for rollback
 * and preemption: whole blocks past them are released; a block left partly
 * filled stays (kv_seq_reserve copies it before writing if it is shared). */
void kv_seq_truncate(KvCache *kv, int seq, int n_tokens);
/* Drops seq's references; blocks no longer referenced become cached (when
 * committed; the sequence's last block is freed first, so chains are evicted
 * from the tail) or free. Pending copies into them are dropped. The slot
 * becomes free. */
void kv_seq_release(KvCache *kv, int seq);

/* Blocks needed to hold n_tokens more tokens in seq (0 if already room). */
int kv_seq_blocks_needed(const KvCache *kv, int seq, int n_tokens);
const int32_t *kv_seq_block_table(const KvCache *kv, int seq);

/* ---- prefix cache and copies ------------------------------------------ */

/* Prompt tokens that kv_seq_open_prompt would find cached now (same cap);
 * changes nothing. */
int kv_cache_prefix_match(const KvCache *kv, const int32_t *prompt, int n_prompt);
/* The copies to run before the next step (*copies valid until the next
 * call that changes kv); returns how many. */
int kv_cache_pending_copies(const KvCache *kv, const KvCopy **copies);
/* Marks every pending copy as done: unpins the sources. */
void kv_cache_copies_done(KvCache *kv);
/* For an engine's copy_blocks: every copy inside a pool of n_blocks
 * blocks and not onto itself, else an error naming the copy. */
int kv_copies_check(const KvCopy *copies, int n, int n_blocks, LlmError *err);

/* Counters and block counts now. */
KvStats kv_cache_stats(const KvCache *kv);

/* Verifies the invariants above; for tests and debug builds. */
int kv_cache_check(const KvCache *kv, LlmError *err);

#ifdef __cplusplus
}
#endif

#endif
