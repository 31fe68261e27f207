/* step_worker.c - the engine call of a step on a thread of its own (see
 * step_worker.h).
 *
 * State under mu: kicked (a step to run, set by the owner, taken by the
 * worker), ended with rc/err (set by the worker, taken by collect), quit.
 * The worker writes the pipe's byte after it set ended, so a readable
 * pipe always finds the result there; the pipe never holds more than one
 * byte (one step in flight), so the write never blocks.
 */
#include "http/step_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct StepWorker {
    Sched *sched;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t kick;   /* the worker waits here for kicked or quit */
    int kicked;            /* under mu: sched_step_run to run */
    int ended;             /* under mu: a step ended, rc and err not collected */
    int quit;              /* under mu: the thread ends */
    int in_flight;         /* owner only: kicked and not collected */
    int rc;                /* under mu: the ended step's status */
    LlmError err;          /* under mu: its error when rc is LLM_ERR */
    int fds[2];            /* pipe: [0] read by the owner's loop, [1] written by the worker */
};

static void wake_owner(StepWorker *w) {
    char c = 1;
    while (write(w->fds[1], &c, 1) < 0)
        if (errno != EINTR) LLM_BUG("step worker: write to the wake pipe: %s", strerror(errno));
}

static void *worker_main(void *arg) {
    StepWorker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->kicked && !w->quit) pthread_cond_wait(&w->kick, &w->mu);
        if (w->quit) break;
        w->kicked = 0;
        pthread_mutex_unlock(&w->mu);
        LlmError err = {{0}};
        int rc = sched_step_run(w->sched, &err);
        pthread_mutex_lock(&w->mu);
        w->rc = rc;
        w->err = err;
        w->ended = 1;
        pthread_mutex_unlock(&w->mu);
        wake_owner(w);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Starts the thread with every signal blocked (it inherits the mask). */
static int start_thread(StepWorker *w) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int step_worker_start(Sched *s, StepWorker **out, LlmError *err) {
    StepWorker *w = llm_xcalloc(1, sizeof *w);
    w->sched = s;
    if (pipe2(w->fds, O_CLOEXEC) != 0) {
        free(w);
        return llm_errorf(err, "serve: cannot create the step pipe: %s", strerror(errno));
    }
    fcntl(w->fds[0], F_SETFL, fcntl(w->fds[0], F_GETFL) | O_NONBLOCK);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->kick, NULL);
    int rc = start_thread(w);
    if (rc != 0) {
        close(w->fds[0]);
        close(w->fds[1]);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->kick);
        free(w);
        return llm_errorf(err, "serve: cannot start the step thread: %s", strerror(rc));
    }
    *out = w;
    return LLM_OK;
}

void step_worker_stop(StepWorker *w) {
    if (w == NULL) return;
    LLM_ASSERT(!w->in_flight);
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_signal(&w->kick);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    close(w->fds[0]);
    close(w->fds[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->kick);
    free(w);
}

int step_worker_fd(const StepWorker *w) { return w->fds[0]; }

void step_worker_kick(StepWorker *w) {
    LLM_ASSERT(!w->in_flight);
    w->in_flight = 1;
    pthread_mutex_lock(&w->mu);
    w->kicked = 1;
    pthread_cond_signal(&w->kick);
    pthread_mutex_unlock(&w->mu);
}

int step_worker_collect(StepWorker *w, int *rc, LlmError *err) {
    char buf[16];
    while (read(w->fds[0], buf, sizeof buf) > 0) continue; /* to EAGAIN: the loop re-arms */
    pthread_mutex_lock(&w->mu);
    int ended = w->ended;
    if (ended) {
        *rc = w->rc;
        if (w->rc != LLM_OK) *err = w->err;
        w->ended = 0;
        w->in_flight = 0;
    }
    pthread_mutex_unlock(&w->mu);
    return ended;
}
