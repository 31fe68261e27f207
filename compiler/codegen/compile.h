/* compile.h - the build driver: load -> frontend -> passes -> codegen ->
 * cc -> payload. Prints what it does (a progress bar on a terminal), the
 * compile time and the output size.
 */
#ifndef LLMCC_CODEGEN_COMPILE_H
#define LLMCC_CODEGEN_COMPILE_H

#include "base/error.h"
#include "load/tensor.h"

#define COMPILE_MAX_DISABLED 16

typedef struct CompileOptions {
    const char *input;      /* HF folder or .gguf file */
    const char *output;     /* executable path */
    const char *target;     /* "cpu" */
    DType dtype;            /* matrix weight dtype */
    int emit_only;          /* 1: write generated/ files, no executable */
    int verbose;            /* 1: print the IR and the cc command */
    int no_fuse;            /* 1: switch every fusion pass off */
    const char *disabled[COMPILE_MAX_DISABLED]; /* pass names switched off */
    int n_disabled;
    int max_tokens;         /* tokens per forward step (prefill chunk); 0 = the target's default */
    int block_size;         /* KV tokens per block */
    int max_context;        /* 0: the model's; else capped to it */
    const char *gen_dir;    /* folder for generated files; NULL: generated/<stem> */
    const char *cpu_arch;   /* -march value; NULL: x86-64-v3 when the host has AVX2+FMA */
    const char *cuda_arch;  /* --arch sm_90 (default) or sm_80, cuda target */
    int cuda_pdl;           /* --pdl off|wait|early: 0, 1, 2 (sm_90 only; forced 0 on sm_80) */
    const char *kv_dtype;   /* --kv-dtype f32 (default) or bf16: storage of the KV cache */
    const char *gemm_input; /* --gemm-input split (default) or single (cuda tensor-core products) */
} CompileOptions;

/* The default --max-tokens of a target: 64 for cpu, 1024 for cuda. */
int compile_default_max_tokens(const char *target);
void compile_options_default(CompileOptions *o);
int compile_run(const CompileOptions *o, LlmError *err);

#endif
