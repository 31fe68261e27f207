/* cli.c - llm_cli_main: parse, open the session, run a command, pick the
 * exit code. The only place in the runtime that decides how the process
 * ends. */
#include "cli/cli.h"

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/session.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_RUNTIME = 1, CLI_EXIT_USAGE = 2 };

/* Sequence slots and KV budget: one sequence for the single-prompt
 * commands; for the scheduler's (generate --input, the serving bench, serve)
 * --max-seqs slots (default: bench --concurrency, else the step's token
 * budget, at most CLI_DEFAULT_MAX_SEQS) and, without --kv-memory, 90% of
 * the free memory, which kv_budget_blocks caps at what those sequences can
 * use at full context. */
enum { CLI_DEFAULT_MAX_SEQS = 64 };

static void session_sizes(const CliArgs *a, const LlmProgram *prog, SessionOptions *opt) {
    int batch = (a->command == CLI_CMD_GENERATE && a->input != NULL) ||
                (a->command == CLI_CMD_BENCH && cli_bench_serving(a)) || a->command == CLI_CMD_SERVE;
    opt->max_seqs = 1;
    if (!batch) return;
    int budget = a->max_batch_tokens > 0 && a->max_batch_tokens < prog->max_tokens
                     ? a->max_batch_tokens : prog->max_tokens;
    int seqs = a->command == CLI_CMD_BENCH ? a->concurrency : CLI_DEFAULT_MAX_SEQS;
    if (seqs > budget) seqs = budget;
    opt->max_seqs = a->max_seqs > 0 ? a->max_seqs : seqs;
    if (opt->kv_memory.kind == KV_BUDGET_DEFAULT)
        opt->kv_memory = (KvBudget){.kind = KV_BUDGET_FRACTION, .fraction = 0.9};
}

static int run_command(const CliArgs *a, const LlmProgram *prog, const char *payload_path,
                       FILE *in, FILE *out, FILE *log, LlmError *err) {
    SessionOptions opt = {.payload_path = payload_path, .n_threads = a->n_threads,
                          .kv_memory = a->kv_memory, .max_seqs = 1};
    session_sizes(a, prog, &opt);
    if (cli_bench_http(a)) opt.parts = SESSION_PARTS_TOKENIZER;
    CliSession s;
    if (session_open(&s, prog, &opt, err) != LLM_OK) return LLM_ERR;
    int rc = a->command == CLI_CMD_GENERATE ? cmd_generate(&s, a, out, log, err)
             : a->command == CLI_CMD_CHAT   ? cmd_chat(&s, a, in, out, log, err)
             : a->command == CLI_CMD_BENCH  ? cmd_bench(&s, a, out, err)
             : a->command == CLI_CMD_SERVE  ? cmd_serve(&s, a, log, err)
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
    if (argc < 2) { /* no command: the usage, as an error */
        cli_print_usage(log, name);
        return CLI_EXIT_USAGE;
    }
    if (a.command == CLI_CMD_HELP) { /* asked for: the usage on stdout, success */
        cli_print_usage(out, name);
        return CLI_EXIT_OK;
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
