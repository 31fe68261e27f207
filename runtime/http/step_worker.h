/* step_worker.h - one persistent thread that runs the engine call of the
 * scheduler's steps (sched_step_run), so that the server's thread can do
 * its host work (SSE rendering, socket reads and writes) while the engine
 * computes.
 *
 * Protocol: the owner (the server's thread) plans a step with
 * sched_step_begin, then step_worker_kick; the worker runs
 * sched_step_run, stores its result and writes one byte to a pipe. The
 * owner watches the pipe's read end (step_worker_fd) in its event loop;
 * when it is readable, step_worker_collect drains it and hands the result
 * over, and only then may the owner call the scheduler again
 * (sched_step_end, or cancel after a failure). One step at a time. The
 * handover goes through the worker's mutex, so the owner sees everything
 * the step wrote; the pipe only wakes the loop (no libevent locking).
 *
 * The worker blocks every signal: SIGINT/SIGTERM reach the owner's loop.
 */
#ifndef LLMCC_HTTP_STEP_WORKER_H
#define LLMCC_HTTP_STEP_WORKER_H

#include "base/error.h"
#include "sched/sched.h"

typedef struct StepWorker StepWorker; /* opaque */

/* Creates the pipe and starts the thread over s. Errors: no pipe or no
 * thread (resources). */
int step_worker_start(Sched *s, StepWorker **out, LlmError *err);
/* Stops and joins the thread, closes the pipe. No step may be in flight
 * (one kicked and not collected). NULL is a no-op. */
void step_worker_stop(StepWorker *w);

/* The pipe's read end (non-blocking): readable once a kicked step ended. */
int step_worker_fd(const StepWorker *w);
/* Runs sched_step_run on the worker. The owner called sched_step_begin
 * (it returned 1) and nothing is in flight. */
void step_worker_kick(StepWorker *w);
/* After step_worker_fd became readable: drains it; when the step has
 * ended, its status (LLM_OK, or LLM_ERR with *err set by the engine) goes
 * to *rc and the result is 1; 0 while it still runs. */
int step_worker_collect(StepWorker *w, int *rc, LlmError *err);

#endif
