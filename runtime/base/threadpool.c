/* threadpool.c - pthread workers woken per parallel_for by a generation
 * counter; the caller runs chunk 0 and waits for the rest. */
#include "base/threadpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/error.h"

struct LlmThreadPool {
    int n_threads;          /* including the caller */
    pthread_t *threads;     /* [n_threads - 1] workers */
    pthread_mutex_t mu;
    pthread_cond_t wake;    /* workers wait here for a new generation */
    pthread_cond_t done;    /* caller waits here for pending == 0 */
    unsigned long generation; /* bumped per job */
    int pending;            /* workers still running the current job */
    int quit;
    int n;                  /* current job: range size */
    LlmRangeFn fn;
    void *ctx;
};

typedef struct WorkerArg {
    LlmThreadPool *pool;
    int index; /* 1..n_threads-1 */
} WorkerArg;

static void run_chunk(LlmThreadPool *p, int index) {
    long n = p->n, t = p->n_threads;
    int begin = (int)(n * index / t), end = (int)(n * (index + 1) / t);
    if (begin < end) p->fn(p->ctx, begin, end);
}

static void *worker_main(void *arg) {
    WorkerArg *wa = arg;
    LlmThreadPool *p = wa->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, wa->index);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    free(wa);
    return NULL;
}

LlmThreadPool *threadpool_create(int n_threads) {
    if (n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    LlmThreadPool *p = llm_xcalloc(1, sizeof *p);
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = llm_xcalloc((size_t)n_threads, sizeof *p->threads);
    for (int i = 1; i < n_threads; i++) {
        WorkerArg *wa = llm_xmalloc(sizeof *wa);
        wa->pool = p;
        wa->index = i;
        if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0)
            LLM_BUG("pthread_create failed");
    }
    return p;
}

void threadpool_destroy(LlmThreadPool *p) {
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n_threads; i++) pthread_join(p->threads[i - 1], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p);
}

int threadpool_size(const LlmThreadPool *p) { return p ? p->n_threads : 1; }

void llm_parallel_for(LlmThreadPool *p, int n, LlmRangeFn fn, void *ctx) {
    if (n <= 0) return;
    if (p == NULL || p->n_threads == 1 || n == 1) {
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->n = n;
    p->fn = fn;
    p->ctx = ctx;
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
