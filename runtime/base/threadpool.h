/* threadpool.h - a fixed pool of worker threads for data-parallel loops.
 *
 * llm_parallel_for(pool, n, fn, ctx) splits [0, n) into contiguous chunks,
 * one per thread (the caller is thread 0), and returns when all are done.
 * Chunks are a pure function of n and the thread count, so results are
 * deterministic for a given thread count. A NULL pool runs inline.
 */
#ifndef LLMCC_BASE_THREADPOOL_H
#define LLMCC_BASE_THREADPOOL_H

typedef struct LlmThreadPool LlmThreadPool;

typedef void (*LlmRangeFn)(void *ctx, int begin, int end);

/* n_threads <= 0 picks the number of online CPUs. */
LlmThreadPool *threadpool_create(int n_threads);
void threadpool_destroy(LlmThreadPool *pool);
int threadpool_size(const LlmThreadPool *pool);
void llm_parallel_for(LlmThreadPool *pool, int n, LlmRangeFn fn, void *ctx);

#endif
