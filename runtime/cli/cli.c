/* cli.c - llm_cli_main: parse, open the session, run a command, pick the
 * exit code. The only place in the runtime that decides how the process
 * ends. */
#include "cli/cli.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_RUNTIME = 1, CLI_EXIT_USAGE = 2 };

static int run_command(const CliArgs *a, const LlmProgram *prog, const char *payload_path,
                       FILE *in, FILE *out, FILE *log, LlmError *err) {
    SessionOptions opt = {.payload_path = payload_path, .n_threads = a->n_threads,
                          .kv_memory = a->kv_memory, .max_seqs = 1};
    CliSession s;
    if (session_open(&s, prog, &opt, err) != LLM_OK) return LLM_ERR;
    int rc = a->command == CLI_CMD_GENERATE ? cmd_generate(&s, a, out, log, err)
             : a->command == CLI_CMD_CHAT   ? cmd_chat(&s, a, in, out, log, err)
             : a->command == CLI_CMD_BENCH  ? cmd_bench(&s, a, out, err)
                                            : cmd_info(&s, a, out, err);
    session_close(&s);
    return rc;
}

int llm_cli_run_io(int argc, char **argv, const LlmProgram *prog, const char *payload_path,
                   FILE *in, FILE *out, FILE *log) {
    const char *name = argc > 0 ? argv[0] : "model";
    CliArgs a;
    LlmError err = {{0}};
    if (cli_args_parse(argc, argv, &a, &err) != LLM_OK) {
        fprintf(log, "%s: error: %s\n", name, err.msg);
        cli_print_usage(log, name);
        return CLI_EXIT_USAGE;
    }
    if (a.command == CLI_CMD_HELP) {
        cli_print_usage(log, name);
        return CLI_EXIT_USAGE;
    }
    if (run_command(&a, prog, payload_path, in, out, log, &err) != LLM_OK) {
        fflush(out);
        fprintf(log, "%s: error: %s\n", name, err.msg);
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

int llm_cli_run(int argc, char **argv, const LlmProgram *prog, const char *payload_path,
                FILE *out, FILE *log) {
    return llm_cli_run_io(argc, argv, prog, payload_path, stdin, out, log);
}

int llm_cli_main(int argc, char **argv, const LlmProgram *prog) {
    return llm_cli_run(argc, argv, prog, "/proc/self/exe", stdout, stderr);
}
