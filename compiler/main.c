/* main.c - the llmcc command line (placeholder until the pipeline lands). */
#include <stdio.h>

int main(void) {
    fprintf(stderr, "llmcc: not built yet\n");
    return 1;
}
