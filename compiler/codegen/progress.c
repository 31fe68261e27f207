/* progress.c - stage lines with elapsed times, and a bar on a terminal. */
#include "codegen/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_init(Progress *p) {
    p->tty = isatty(2);
    p->t_start = p->t_stage = progress_now();
    p->stage = NULL;
}

void progress_stage(Progress *p, const char *stage, const char *detail) {
    p->stage = stage;
    p->t_stage = progress_now();
    fprintf(stderr, "llmcc: %-9s %s  [%.2f s]\n", stage, detail ? detail : "", p->t_stage - p->t_start);
}

void progress_bar(void *ctx, int done, int total) {
    Progress *p = ctx;
    if (!p->tty || total <= 0) return;
    int width = 40, filled = (int)((long)done * width / total);
    fprintf(stderr, "\r  [");
    for (int i = 0; i < width; i++) fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%% %d/%d", (int)((long)done * 100 / total), done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
}

void progress_done(Progress *p, const char *result) {
    fprintf(stderr, "llmcc: done      %s in %.2f s\n", result, progress_now() - p->t_start);
}
