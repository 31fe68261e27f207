/* progress.h - what the compiler tells the user while it works: a stage
 * line per step, and on a terminal a redrawn bar for long steps. */
#ifndef LLMCC_CODEGEN_PROGRESS_H
#define LLMCC_CODEGEN_PROGRESS_H

typedef struct Progress {
    int tty;        /* 1: stderr is a terminal, draw bars */
    double t_start; /* seconds, monotonic clock, at compile start */
    double t_stage; /* seconds at the current stage's start */
    const char *stage; /* current stage name */
} Progress;

double progress_now(void);
void progress_init(Progress *p);
void progress_stage(Progress *p, const char *stage, const char *detail);
void progress_bar(void *p, int done, int total); /* PackProgressFn-compatible */
void progress_done(Progress *p, const char *result);

#endif
