/* pass.h - the pass pipeline: Graph -> Graph rewrites, each with a name
 * and a switch, the verifier run after every one.
 *
 * The order is fixed by the table in pass.c. A pass marked required
 * (plan_memory) cannot be switched off; asking to is an error naming it.
 */
#ifndef LLMCC_PASSES_PASS_H
#define LLMCC_PASSES_PASS_H

#include "base/error.h"
#include "ir/ir.h"
#include "load/tensor.h"

typedef struct PassOptions {
    DType weight_dtype; /* dtype of matrix weights in the blob (F32/F16/BF16) */
} PassOptions;

typedef enum PassKind {
    PASS_KIND_FUSION,   /* switched off together by --no-fuse */
    PASS_KIND_LOWERING, /* dtype and layout decisions */
    PASS_KIND_REQUIRED, /* codegen cannot work without it */
} PassKind;

typedef struct Pass {
    const char *name;    /* stable, used by --disable-pass and in manifests */
    const char *summary; /* one line for `llmcc passes` and `info` */
    PassKind kind;
    int (*run)(IrGraph *g, const PassOptions *opt, LlmError *err);
} Pass;

/* The pipeline in order; *n receives its length. */
const Pass *pass_pipeline(int *n);
/* Index of a pass by name; -1 if none. */
int pass_find(const char *name);

/* What happened to each pass of the pipeline in one compile. */
typedef struct PassRecord {
    const Pass *pass;
    int enabled;   /* 1 ran, 0 switched off */
    int nodes_after; /* live nodes after it (or before, when off) */
} PassRecord;

/* Runs the pipeline; enabled[i] says whether pipeline pass i runs.
 * records (optional) receives one entry per pipeline pass. */
int passes_run(IrGraph *g, const PassOptions *opt, const int *enabled, PassRecord *records,
               LlmError *err);

int pass_fuse_qkv(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_fuse_gate_up(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_fuse_matmul_add(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_fuse_add_rmsnorm(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_fuse_norm_matmul(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_fuse_rope_qk(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_convert_weights(IrGraph *g, const PassOptions *opt, LlmError *err);
int pass_plan_memory(IrGraph *g, const PassOptions *opt, LlmError *err);

#endif
