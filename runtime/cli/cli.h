/* cli.h - the entry point a compiled model's main() calls.
 *
 * Exit codes: 0 success, 1 runtime error (bad payload, I/O, model limits),
 * 2 usage (--help, unknown command or option, bad option value). Messages go
 * to stderr; generated text goes to stdout.
 */
#ifndef LLMCC_CLI_CLI_H
#define LLMCC_CLI_CLI_H

#include <stdio.h>

#include "base/program.h"

/* Runs argv against prog with the payload of /proc/self/exe. */
int llm_cli_main(int argc, char **argv, const LlmProgram *prog);

/* The same with the payload file and the output streams given (tests);
 * chat reads stdin. */
int llm_cli_run(int argc, char **argv, const LlmProgram *prog, const char *payload_path,
                FILE *out, FILE *log);
/* The same with chat's input stream given too. */
int llm_cli_run_io(int argc, char **argv, const LlmProgram *prog, const char *payload_path,
                   FILE *in, FILE *out, FILE *log);

#endif
