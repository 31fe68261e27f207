/* compile.c - the build driver. Order: check the output is writable, load,
 * frontend, passes (verified after each), pack weights, render templates,
 * write generated/<stem>/, run cc, append the payload, rename into place.
 * Nothing is left behind on failure but the generated sources. */
#include "codegen/compile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/payload.h"
#include "codegen/lua_host.h"
#include "codegen/manifest.h"
#include "codegen/pack.h"
#include "codegen/progress.h"
#include "codegen/spec.h"
#include "frontend/frontend.h"
#include "load/model_load.h"
#include "passes/pass.h"

#ifndef LLMCC_RT_LIB
#define LLMCC_RT_LIB LLMCC_BINARY_DIR "/libllmcc_rt.a"
#endif
#ifndef LLMCC_RT_LINK
#define LLMCC_RT_LINK ""
#endif

int compile_default_max_tokens(const char *target) {
    /* cpu: a prefill chunk that keeps the arena small; cuda: a step that can
     * carry 256 decoding sequences plus prompt chunks (serving throughput on
     * the 8B shape: 10.8k output tokens/s at 1024 vs 8.4k at 256 per step,
     * docs/performance.md) */
    return strcmp(target, "cuda") == 0 ? 1024 : 64;
}

void compile_options_default(CompileOptions *o) {
    memset(o, 0, sizeof *o);
    o->target = "cpu";
    o->dtype = DTYPE_F32;
    o->max_tokens = 0; /* per target: compile_default_max_tokens */
    o->cuda_arch = "sm_90";
    o->cuda_pdl = 2; /* "early": measured best on H100, docs/performance.md */
    o->kv_dtype = "f32";
    o->gemm_input = "split";
    o->block_size = 16;
}

/* Everything one compile owns, released by compile_state_free. */
typedef struct CompileState {
    LoadedModel model;   /* inputs, mapped */
    int model_loaded;    /* 1 when model must be freed */
    IrGraph graph;       /* built by the frontend */
    int graph_built;
    PassRecord records[16]; /* per pipeline pass */
    int n_records;
    uint8_t *blob;       /* packed weights */
    int64_t blob_size;
    char *manifest;      /* JSON */
    char *tokenizer;     /* JSON */
    char *source;        /* rendered model.c */
    char gen_dir[4096];  /* generated/<stem> */
    char tmp_out[4096];  /* output path + ".tmp" */
} CompileState;

static void compile_state_free(CompileState *s) {
    if (s->graph_built) ir_graph_free(&s->graph);
    if (s->model_loaded) loaded_model_free(&s->model);
    free(s->blob);
    free(s->manifest);
    free(s->tokenizer);
    free(s->source);
    if (s->tmp_out[0]) unlink(s->tmp_out);
}

static int mkdir_p(const char *path, LlmError *err) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return llm_errorf(err, "%s: cannot create folder: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return llm_errorf(err, "%s: cannot create folder: %s", buf, strerror(errno));
    return LLM_OK;
}

static int write_file(const char *dir, const char *name, const void *data, size_t n, LlmError *err) {
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return llm_errorf(err, "%s: cannot write: %s", path, strerror(errno));
    size_t w = n ? fwrite(data, 1, n, f) : 0;
    int bad = fclose(f) != 0 || w != n;
    return bad ? llm_errorf(err, "%s: write failed", path) : LLM_OK;
}

/* Opens output.tmp now so an unwritable output path fails before any work. */
static int check_output(const CompileOptions *o, CompileState *s, LlmError *err) {
    snprintf(s->tmp_out, sizeof s->tmp_out, "%s.tmp", o->output);
    int fd = open(s->tmp_out, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0) {
        int e = errno;
        s->tmp_out[0] = '\0';
        return llm_errorf(err, "output path %s: cannot write: %s", o->output, strerror(e));
    }
    close(fd);
    return LLM_OK;
}

static int enabled_passes(const CompileOptions *o, int *enabled, LlmError *err) {
    int n = 0;
    const Pass *pl = pass_pipeline(&n);
    for (int i = 0; i < n; i++) enabled[i] = !(o->no_fuse && pl[i].kind == PASS_KIND_FUSION);
    for (int i = 0; i < o->n_disabled; i++) {
        int k = pass_find(o->disabled[i]);
        if (k < 0) {
            char names[512] = "";
            for (int j = 0; j < n; j++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", j ? ", " : "", pl[j].name);
            return llm_errorf(err, "--disable-pass %s: no such pass (passes: %s)", o->disabled[i], names);
        }
        enabled[k] = 0;
    }
    return LLM_OK;
}

static int build_graph(CompileOptions *o, CompileState *s, Progress *pr, LlmError *err) {
    ModelDesc d = s->model.desc;
    int ctx = o->max_context > 0 && o->max_context < d.max_context ? o->max_context : d.max_context;
    int max_tokens = o->max_tokens < ctx ? o->max_tokens : ctx;
    o->max_context = ctx; /* the resolved context: codegen and manifest use it */
    if (frontend_build(&d, max_tokens, o->block_size, &s->graph, err) != LLM_OK) return LLM_ERR;
    s->graph_built = 1;
    int enabled[16];
    if (enabled_passes(o, enabled, err) != LLM_OK) return LLM_ERR;
    PassOptions po = {.weight_dtype = o->dtype};
    char detail[256];
    snprintf(detail, sizeof detail, "%d nodes, %d weights from the %s frontend", s->graph.n_nodes,
             s->graph.n_weights, d.arch);
    progress_stage(pr, "frontend", detail);
    if (passes_run(&s->graph, &po, enabled, s->records, err) != LLM_OK) return LLM_ERR;
    s->n_records = 0;
    pass_pipeline(&s->n_records);
    for (int i = 0; i < s->n_records; i++) {
        snprintf(detail, sizeof detail, "%-16s %s (%d nodes)", s->records[i].pass->name,
                 s->records[i].enabled ? "on " : "off", s->records[i].nodes_after);
        progress_stage(pr, "pass", detail);
    }
    return LLM_OK;
}

static int pack_all(CompileState *s, Progress *pr, LlmError *err) {
    s->blob_size = pack_assign_offsets(&s->graph);
    char detail[128];
    snprintf(detail, sizeof detail, "%d weights, %.1f MiB", s->graph.n_weights,
             (double)s->blob_size / 1048576.0);
    progress_stage(pr, "pack", detail);
    s->blob = llm_xmalloc((size_t)s->blob_size + 1);
    return pack_weights(&s->graph, &s->model.tensors, s->blob, s->blob_size, progress_bar, pr, err);
}

static const char *source_ext(const CompileOptions *o) {
    return strcmp(o->target, "cuda") == 0 ? "cu" : "c";
}

/* The llmcc source tree (templates/, runtime/ headers): LLMCC_HOME when
 * set (a relocated install, the GPU host), else where it was built from. */
static const char *llmcc_home(void) {
    const char *env = getenv("LLMCC_HOME");
    return env && *env ? env : LLMCC_SOURCE_DIR;
}

static const char *template_root(void) {
    static char path[4200];
    const char *env = getenv("LLMCC_TEMPLATES");
    if (env && *env) return env;
    snprintf(path, sizeof path, "%s/templates", llmcc_home());
    return path;
}

static const char *default_march(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? "x86-64-v3" : "x86-64";
}

/* 80 for "sm_80" etc.; -1 for an arch the cuda templates were not written for.
 * PDL (griddepcontrol) needs 90 or later. */
static int cuda_arch_number(const char *arch) {
    static const char *const known[] = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_100", "sm_120"};
    static const int number[] = {80, 86, 89, 90, 100, 120};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(arch, known[i]) == 0) return number[i];
    return -1;
}

static int render(const CompileOptions *o, CompileState *s, const char *stem, LlmError *err) {
    s->manifest = manifest_build(&s->model, &s->graph, o, s->records, s->n_records, s->blob_size);
    s->tokenizer = json_dumps(s->model.tokenizer, JSON_COMPACT);
    if (s->tokenizer == NULL) return llm_errorf(err, "%s: tokenizer cannot be serialized", o->input);
    SpecProgram sp = {.target = o->target, .name = stem, .manifest_json = s->manifest,
                      .weight_bytes = s->blob_size,
                      .weight_hash = payload_weight_hash(s->blob, (size_t)s->blob_size),
                      .max_context = o->max_context,
                      .pdl = cuda_arch_number(o->cuda_arch) >= 90 ? o->cuda_pdl : 0,
                      .kv_dtype = o->kv_dtype,
                      .gemm_input = o->gemm_input,
                      .arch = strcmp(o->target, "cuda") == 0 ? o->cuda_arch
                              : o->cpu_arch ? o->cpu_arch : default_march()};
    LuaHost *h = lua_host_new(template_root());
    spec_push(lua_host_state(h), &s->graph, &sp);
    char rel[128];
    snprintf(rel, sizeof rel, "program/%s/model.%s.lua", o->target, source_ext(o));
    int rc = lua_host_render(h, rel, &s->source, NULL, err);
    lua_host_free(h);
    return rc;
}

static int write_generated(const CompileOptions *o, CompileState *s, LlmError *err) {
    if (mkdir_p(s->gen_dir, err) != LLM_OK) return LLM_ERR;
    char *ir = ir_print(&s->graph);
    char name[16];
    snprintf(name, sizeof name, "model.%s", source_ext(o));
    int rc = write_file(s->gen_dir, name, s->source, strlen(s->source), err);
    if (rc == LLM_OK) rc = write_file(s->gen_dir, "ir.txt", ir, strlen(ir), err);
    if (rc == LLM_OK) rc = write_file(s->gen_dir, "manifest.json", s->manifest, strlen(s->manifest), err);
    free(ir);
    if (rc == LLM_OK && o->emit_only) {
        rc = write_file(s->gen_dir, "weights.bin", s->blob, (size_t)s->blob_size, err);
        if (rc == LLM_OK) rc = write_file(s->gen_dir, "tokenizer.json", s->tokenizer, strlen(s->tokenizer), err);
    }
    return rc;
}


/* Runs argv with stdout+stderr to log; returns the exit status or -1. */
static int run_logged(char *const argv[], const char *log) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Appends the space-separated flags of list to argv (n updated, max 60). */
static void add_flags(char **argv, int *n, char *list, int nvcc) {
    static char split[8][64]; /* -fsanitize=a,b -> -Xcompiler=-fsanitize=a ... (nvcc splits on ',') */
    int n_split = 0;
    for (char *tok = strtok(list, " "); tok && *n < 60; tok = strtok(NULL, " ")) {
        if (!nvcc || strncmp(tok, "-fsanitize=", 11) != 0) {
            argv[(*n)++] = tok;
            continue;
        }
        for (char *san = tok + 11, *end; *san && n_split < 8 && *n < 60; san = *end ? end + 1 : end) {
            end = strchr(san, ',');
            if (end == NULL) end = san + strlen(san);
            snprintf(split[n_split], sizeof split[n_split], "-Xcompiler=-fsanitize=%.*s", (int)(end - san), san);
            argv[(*n)++] = split[n_split++];
        }
    }
}

static int run_build(const CompileOptions *o, char **argv, int n, const char *src, const char *log,
                     LlmError *err) {
    argv[n] = NULL;
    if (o->verbose) {
        fprintf(stderr, "llmcc: build:");
        for (int i = 0; i < n; i++) fprintf(stderr, " %s", argv[i]);
        fputc('\n', stderr);
    }
    int st = run_logged(argv, log);
    if (st != 0) return llm_errorf(err, "%s: %s failed (status %d); see %s", src, argv[0], st, log);
    return LLM_OK;
}

static int cc_build(const CompileOptions *o, CompileState *s, LlmError *err) {
    const char *cc = env_or("CC", LLMCC_C_COMPILER);
    const char *rt = env_or("LLMCC_RUNTIME_LIB", LLMCC_RT_LIB);
    char src[4200], log[4200], march[128], inc[4200], link[2048];
    snprintf(src, sizeof src, "%s/model.c", s->gen_dir);
    snprintf(log, sizeof log, "%s/build.log", s->gen_dir);
    snprintf(march, sizeof march, "-march=%s", o->cpu_arch ? o->cpu_arch : default_march());
    snprintf(inc, sizeof inc, "-I%s/runtime", llmcc_home());
    snprintf(link, sizeof link, "%s", env_or("LLMCC_LINK", LLMCC_RT_LINK));
    char *argv[64];
    int n = 0;
    char *fixed[] = {(char *)cc, "-std=c11", "-O3", "-ffp-contract=fast", march, "-Wall", "-Wextra",
                     inc, "-o", s->tmp_out, src, (char *)rt};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) argv[n++] = fixed[i];
    add_flags(argv, &n, link, 0);
    return run_build(o, argv, n, src, log, err);
}

#ifdef LLMCC_HAVE_CUDA
static int nvcc_build(const CompileOptions *o, CompileState *s, LlmError *err) {
    const char *nvcc = env_or("NVCC", LLMCC_NVCC);
    char src[4200], log[4200], gencode[128], inc[4200], link[2048];
    snprintf(src, sizeof src, "%s/model.cu", s->gen_dir);
    snprintf(log, sizeof log, "%s/build.log", s->gen_dir);
    const char *sm = o->cuda_arch + 3; /* "90" */
    snprintf(gencode, sizeof gencode, "arch=compute_%s,code=[sm_%s,compute_%s]", sm, sm, sm);
    snprintf(inc, sizeof inc, "-I%s/runtime", llmcc_home());
    snprintf(link, sizeof link, "%s", env_or("LLMCC_LINK", LLMCC_RT_LINK));
    char *argv[64];
    int n = 0;
    char *fixed[] = {(char *)nvcc, "-std=c++20", "-O3", "-gencode", gencode, "-lineinfo",
                     "-Xcompiler", "-fno-strict-aliasing", inc, "-o", s->tmp_out, src,
                     (char *)env_or("LLMCC_GPU_LIB", LLMCC_GPU_LIB),
                     (char *)env_or("LLMCC_RUNTIME_LIB", LLMCC_RT_LIB)};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) argv[n++] = fixed[i];
    add_flags(argv, &n, link, 1);
    argv[n++] = "-lcublas"; /* prefill matrix products (runtime/gpu/gemm.h) */
    argv[n++] = "-lcublasLt"; /* residual products (runtime/gpu/gemm.h) */
    return run_build(o, argv, n, src, log, err);
}
#else
static int nvcc_build(const CompileOptions *o, CompileState *s, LlmError *err) {
    (void)o;
    (void)s;
    return llm_errorf(err, "--target cuda: this llmcc was built without nvcc (install the CUDA "
                      "toolkit and rebuild)");
}
#endif

static int finish_executable(const CompileOptions *o, CompileState *s, LlmError *err) {
    if (payload_append(s->tmp_out, s->blob, (size_t)s->blob_size, s->tokenizer, strlen(s->tokenizer),
                       s->manifest, strlen(s->manifest), err) != LLM_OK)
        return LLM_ERR;
    if (chmod(s->tmp_out, 0755) != 0 || rename(s->tmp_out, o->output) != 0)
        return llm_errorf(err, "output path %s: cannot move into place: %s", o->output, strerror(errno));
    s->tmp_out[0] = '\0';
    return LLM_OK;
}

static void gen_dir_for(const CompileOptions *o, CompileState *s) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", o->output);
    if (o->gen_dir) snprintf(s->gen_dir, sizeof s->gen_dir, "%s", o->gen_dir);
    else snprintf(s->gen_dir, sizeof s->gen_dir, "generated/%s", basename(tmp));
}

static int compile_steps(CompileOptions *o, CompileState *s, Progress *pr, LlmError *err) {
    if (!o->emit_only && check_output(o, s, err) != LLM_OK) return LLM_ERR;
    progress_stage(pr, "load", o->input);
    if (model_load(o->input, &s->model, err) != LLM_OK) return LLM_ERR;
    s->model_loaded = 1;
    if (build_graph(o, s, pr, err) != LLM_OK || pack_all(s, pr, err) != LLM_OK) return LLM_ERR;
    char stem[4096];
    snprintf(stem, sizeof stem, "%s", o->output);
    progress_stage(pr, "codegen", s->gen_dir);
    if (render(o, s, basename(stem), err) != LLM_OK || write_generated(o, s, err) != LLM_OK) return LLM_ERR;
    if (o->verbose) {
        char *ir = ir_print(&s->graph);
        fputs(ir, stderr);
        free(ir);
    }
    if (o->emit_only) return LLM_OK;
    progress_stage(pr, "build", o->output);
    int built = strcmp(o->target, "cuda") == 0 ? nvcc_build(o, s, err) : cc_build(o, s, err);
    if (built != LLM_OK) return LLM_ERR;
    return finish_executable(o, s, err);
}

int compile_run(const CompileOptions *opts, LlmError *err) {
    CompileOptions o = *opts;
    if (strcmp(o.target, "cpu") != 0 && strcmp(o.target, "cuda") != 0)
        return llm_errorf(err, "--target %s: unknown target (targets: cpu, cuda)", o.target);
    if (strcmp(o.target, "cuda") == 0 && cuda_arch_number(o.cuda_arch) < 0)
        return llm_errorf(err, "--arch %s: supported: sm_80, sm_86, sm_89, sm_90, sm_100, sm_120", o.cuda_arch);
    if (strcmp(o.kv_dtype, "f32") != 0 && strcmp(o.kv_dtype, "bf16") != 0)
        return llm_errorf(err, "--kv-dtype %s: expected f32 or bf16", o.kv_dtype);
    if (strcmp(o.gemm_input, "split") != 0 && strcmp(o.gemm_input, "single") != 0)
        return llm_errorf(err, "--gemm-input %s: expected split or single", o.gemm_input);
    if (o.max_tokens == 0) o.max_tokens = compile_default_max_tokens(o.target);
    if (o.max_tokens < 1 || o.block_size < 1)
        return llm_errorf(err, "--max-tokens %d / --block-size %d: must be positive", o.max_tokens, o.block_size);
    CompileState s;
    memset(&s, 0, sizeof s);
    gen_dir_for(&o, &s);
    Progress pr;
    progress_init(&pr);
    int rc = compile_steps(&o, &s, &pr, err);
    if (rc == LLM_OK) {
        char result[4400];
        struct stat st;
        if (!o.emit_only && stat(o.output, &st) == 0)
            snprintf(result, sizeof result, "%s (%.1f MiB)", o.output, (double)st.st_size / 1048576.0);
        else snprintf(result, sizeof result, "%s", s.gen_dir);
        progress_done(&pr, result);
    }
    compile_state_free(&s);
    return rc;
}
