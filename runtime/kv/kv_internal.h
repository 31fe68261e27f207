/* kv_internal.h - what the files of runtime/kv share and nobody else uses:
 * the block allocator (kv_cache.c) and the prefix cache's hash table
 * (kv_prefix.c). Internal to runtime/kv.
 */
#ifndef LLMCC_KV_KV_INTERNAL_H
#define LLMCC_KV_KV_INTERNAL_H

#include "kv/kv_cache.h"

/* The open sequence seq; aborts when it is not open. */
KvSeq *kv_seq_get(const KvCache *kv, int seq);

/* Free plus cached blocks: what allocation can still hand out. */
int kv_blocks_available(const KvCache *kv);
/* A block with count 1: a free one, else the least recently freed cached
 * one (leaving the prefix cache); -1 when there is none. */
int32_t kv_block_alloc(KvCache *kv);
/* Count + 1; a cached block leaves the evictable list. */
void kv_block_ref(KvCache *kv, int32_t id);
/* Count - 1; at 0, pending copies into the block are dropped and, once no
 * copy reads it, it becomes cached (committed) or free. */
void kv_block_unref(KvCache *kv, int32_t id);

/* Token ids of block id as stored at commit: [block_size]. */
const int32_t *kv_block_tokens(const KvCache *kv, int32_t id);
/* The hash bucket of a chain hash. */
uint32_t kv_bucket_of(const KvCache *kv, uint64_t hash);
/* The committed block with this chain hash, predecessor commit and tokens
 * [block_size], or -1. */
int32_t kv_prefix_find(const KvCache *kv, uint64_t hash, uint64_t parent_commit,
                       const int32_t *tokens);
/* Takes a committed block out of the prefix cache (its content is about to
 * change, or it is being evicted). */
void kv_prefix_remove(KvCache *kv, int32_t id);

#endif
