/* main.c - the llmcc command line: parses arguments, calls the pipeline,
 * prints errors and picks the exit code (0 ok, 1 failed, 2 usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/compile.h"
#include "passes/pass.h"
#include "tokenize_cmd.h"

static void usage(FILE *f) {
    fputs("usage: llmcc compile PATH -o OUT [options]   compile a model into one executable\n"
          "       llmcc passes                          list the passes\n"
          "       llmcc tokenize PATH [--no-bos] [--lines | --split LINE] [--bench]\n"
          "       llmcc tokenize PATH --decode [--lines | --split LINE]\n"
          "                                             text on stdin -> token ids, or back\n"
          "\n"
          "PATH is a Hugging Face folder (config.json, *.safetensors, tokenizer.json)\n"
          "or a .gguf file.\n"
          "\n"
          "options:\n"
          "  -o, --output OUT       executable to write (required)\n"
          "  --target cpu|cuda      code generator target (default cpu)\n"
          "  --arch sm_XY           GPU architecture for --target cuda: sm_80, sm_86, sm_89,\n"
          "                         sm_90 (default), sm_100, sm_120\n"
          "  --pdl off|wait|early   programmatic dependent launch between kernels (sm_90+;\n"
          "                         default early)\n"
          "  --dtype f32|f16|bf16   storage of matrix weights (default f32)\n"
          "  --kv-dtype f32|bf16    storage of the KV cache (default f32; bf16 halves its\n"
          "                         memory and the bytes attention reads)\n"
          "  --gemm-input split|single  cuda, steps of more than 8 tokens: float32\n"
          "                         activations enter the tensor-core product as two\n"
          "                         16-bit halves (split, default, ~16 bits kept) or one\n"
          "                         (single: half the tensor work, bf16 precision)\n"
          "  --no-fuse              switch every fusion pass off\n"
          "  --disable-pass NAME    switch one pass off (repeatable)\n"
          "  --emit-only            write generated/<name>/ (model.c, ir.txt, manifest.json,\n"
          "                         weights.bin, tokenizer.json) and stop before cc\n"
          "  --gen-dir DIR          where generated files go (default generated/<name>)\n"
          "  --max-tokens N         tokens per forward step, the prefill chunk (default 64 for cpu,\n"
          "                         1024 for cuda)\n"
          "  --block-size N         KV cache tokens per block (default 16)\n"
          "  --max-context N        cap the context below the model's maximum\n"
          "  --cpu-arch ARCH        -march for the cpu target (default x86-64-v3 if the\n"
          "                         host has AVX2 and FMA, else x86-64)\n"
          "  -v, --verbose          print the IR and the C compiler command\n"
          "\n"
          "tokenize: PATH is a model folder, a .gguf file (vocab-only is fine) or a\n"
          "tokenizer JSON (tokenizer.json or the description --emit-only writes).\n"
          "One line of space-separated ids per text on stdout. The whole input is\n"
          "one text, unless --lines (each line without its newline is a text) or\n"
          "--split LINE (texts end at a line equal to LINE, as in llama.cpp .inp files).\n"
          "  --no-bos               never add BOS (default: as the model says)\n"
          "  --decode               read one line of ids per text, write the texts\n"
          "  --bench                time the encoder only, print MB/s to stderr\n",
          f);
}

static int parse_int(const char *flag, const char *v, int *out) {
    char *end = NULL;
    long x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < 1 || x > 1 << 24) {
        fprintf(stderr, "llmcc: %s %s: expected a positive integer\n", flag, v);
        return -1;
    }
    *out = (int)x;
    return 0;
}

/* Returns 0 ok, 2 usage error. */
static int parse_compile(int argc, char **argv, CompileOptions *o) {
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        const char *v = has ? argv[i + 1] : NULL;
        int needs = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--target") == 0 ||
                    strcmp(a, "--dtype") == 0 || strcmp(a, "--disable-pass") == 0 ||
                    strcmp(a, "--gen-dir") == 0 || strcmp(a, "--max-tokens") == 0 ||
                    strcmp(a, "--block-size") == 0 || strcmp(a, "--max-context") == 0 ||
                    strcmp(a, "--cpu-arch") == 0 || strcmp(a, "--arch") == 0 || strcmp(a, "--pdl") == 0 ||
                    strcmp(a, "--kv-dtype") == 0 || strcmp(a, "--gemm-input") == 0;
        if (needs && !has) {
            fprintf(stderr, "llmcc: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) o->output = v;
        else if (strcmp(a, "--target") == 0) o->target = v;
        else if (strcmp(a, "--dtype") == 0) {
            int t = dtype_parse(v);
            if (t != DTYPE_F32 && t != DTYPE_F16 && t != DTYPE_BF16) {
                fprintf(stderr, "llmcc: --dtype %s: expected f32, f16 or bf16\n", v);
                return 2;
            }
            o->dtype = (DType)t;
        } else if (strcmp(a, "--disable-pass") == 0) {
            if (o->n_disabled == COMPILE_MAX_DISABLED) return 2;
            o->disabled[o->n_disabled++] = v;
        } else if (strcmp(a, "--gen-dir") == 0) o->gen_dir = v;
        else if (strcmp(a, "--cpu-arch") == 0) o->cpu_arch = v;
        else if (strcmp(a, "--arch") == 0) o->cuda_arch = v;
        else if (strcmp(a, "--kv-dtype") == 0) o->kv_dtype = v;
        else if (strcmp(a, "--gemm-input") == 0) o->gemm_input = v;
        else if (strcmp(a, "--pdl") == 0) {
            o->cuda_pdl = strcmp(v, "off") == 0 ? 0 : strcmp(v, "wait") == 0 ? 1 : strcmp(v, "early") == 0 ? 2 : -1;
            if (o->cuda_pdl < 0) {
                fprintf(stderr, "llmcc: --pdl %s: expected off, wait or early\n", v);
                return 2;
            }
        }
        else if (strcmp(a, "--max-tokens") == 0) {
            if (parse_int(a, v, &o->max_tokens)) return 2;
            if (o->max_tokens < 1) {
                fprintf(stderr, "llmcc: --max-tokens %s: must be at least 1\n", v);
                return 2;
            }
        }
        else if (strcmp(a, "--block-size") == 0) { if (parse_int(a, v, &o->block_size)) return 2; }
        else if (strcmp(a, "--max-context") == 0) { if (parse_int(a, v, &o->max_context)) return 2; }
        else if (strcmp(a, "--emit-only") == 0) o->emit_only = 1;
        else if (strcmp(a, "--no-fuse") == 0) o->no_fuse = 1;
        else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) o->verbose = 1;
        else if (a[0] == '-') {
            fprintf(stderr, "llmcc: unknown option %s (see llmcc --help)\n", a);
            return 2;
        } else if (o->input == NULL) o->input = a;
        else {
            fprintf(stderr, "llmcc: unexpected argument %s (one model path only)\n", a);
            return 2;
        }
        if (needs) i++;
    }
    if (o->input == NULL || (o->output == NULL && !o->emit_only)) {
        fprintf(stderr, "llmcc: compile needs a model PATH and -o OUT\n");
        return 2;
    }
    if (o->output == NULL) o->output = "model";
    return 0;
}

/* Returns 0 ok, 2 usage error. */
static int parse_tokenize(int argc, char **argv, TokenizeOptions *o) {
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--no-bos") == 0) o->bos = TOKENIZE_BOS_NEVER;
        else if (strcmp(a, "--decode") == 0) o->mode = TOKENIZE_MODE_DECODE;
        else if (strcmp(a, "--bench") == 0) o->mode = TOKENIZE_MODE_BENCH;
        else if (strcmp(a, "--lines") == 0) o->split = TOKENIZE_SPLIT_LINES;
        else if (strcmp(a, "--split") == 0) {
            if (i + 1 >= argc || argv[i + 1][0] == 0 || strchr(argv[i + 1], '\n')) {
                fprintf(stderr, "llmcc: --split needs a non-empty LINE\n");
                return 2;
            }
            o->split = TOKENIZE_SPLIT_MARK;
            o->mark = argv[++i];
        } else if (a[0] == '-') {
            fprintf(stderr, "llmcc: tokenize: unknown option %s (see llmcc --help)\n", a);
            return 2;
        } else if (o->path == NULL) o->path = a;
        else {
            fprintf(stderr, "llmcc: tokenize: unexpected argument %s (one PATH only)\n", a);
            return 2;
        }
    }
    if (o->path == NULL) {
        fprintf(stderr, "llmcc: tokenize needs a PATH (model folder, .gguf or tokenizer JSON)\n");
        return 2;
    }
    return 0;
}

static int cmd_tokenize(int argc, char **argv) {
    TokenizeOptions o;
    int rc = parse_tokenize(argc, argv, &o);
    if (rc != 0) return rc;
    LlmError err = {{0}};
    if (tokenize_run(&o, stdin, stdout, &err) != LLM_OK) {
        fflush(stdout);
        fprintf(stderr, "llmcc: error: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static int cmd_passes(void) {
    int n = 0;
    const Pass *p = pass_pipeline(&n);
    for (int i = 0; i < n; i++)
        printf("%-16s %-9s %s\n", p[i].name,
               p[i].kind == PASS_KIND_FUSION ? "fusion" : p[i].kind == PASS_KIND_REQUIRED ? "required" : "lowering",
               p[i].summary);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "passes") == 0) return cmd_passes();
    if (strcmp(argv[1], "tokenize") == 0) return cmd_tokenize(argc, argv);
    if (strcmp(argv[1], "compile") != 0) {
        fprintf(stderr, "llmcc: unknown command %s (commands: compile, passes, tokenize)\n",
                argv[1]);
        return 2;
    }
    CompileOptions o;
    compile_options_default(&o);
    int rc = parse_compile(argc, argv, &o);
    if (rc != 0) return rc;
    LlmError err = {{0}};
    if (compile_run(&o, &err) != LLM_OK) {
        fprintf(stderr, "llmcc: error: %s\n", err.msg);
        return 1;
    }
    return 0;
}
