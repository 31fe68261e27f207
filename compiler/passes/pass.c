/* pass.c - the pipeline table and the driver that verifies after each pass. */
#include <string.h>

#include "passes/pass.h"

static const Pass PIPELINE[] = {
    {"fuse_qkv", "merge the q, k and v projections of a layer into one matmul",
     PASS_KIND_FUSION, pass_fuse_qkv},
    {"fuse_gate_up", "merge gate and up projections into one matmul with a SwiGLU epilogue",
     PASS_KIND_FUSION, pass_fuse_gate_up},
    {"fuse_matmul_add", "add a projection's result to the residual stream in the projection's kernel",
     PASS_KIND_FUSION, pass_fuse_matmul_add},
    {"fuse_add_rmsnorm", "compute a residual add and the RMSNorm that reads it in one kernel",
     PASS_KIND_FUSION, pass_fuse_add_rmsnorm},
    {"fuse_norm_matmul", "apply an RMSNorm inside the projection that reads it",
     PASS_KIND_FUSION, pass_fuse_norm_matmul},
    {"fuse_rope_qk", "rotate q and k of a layer with one rope over their adjacent columns",
     PASS_KIND_FUSION, pass_fuse_rope_qk},
    {"convert_weights", "store matrix weights in the chosen dtype (--dtype)",
     PASS_KIND_LOWERING, pass_convert_weights},
    {"plan_memory", "give every activation a fixed offset in one arena",
     PASS_KIND_REQUIRED, pass_plan_memory},
};
#define N_PASSES ((int)(sizeof PIPELINE / sizeof PIPELINE[0]))

const Pass *pass_pipeline(int *n) {
    *n = N_PASSES;
    return PIPELINE;
}

int pass_find(const char *name) {
    for (int i = 0; i < N_PASSES; i++)
        if (strcmp(PIPELINE[i].name, name) == 0) return i;
    return -1;
}

int passes_run(IrGraph *g, const PassOptions *opt, const int *enabled, PassRecord *records,
               LlmError *err) {
    for (int i = 0; i < N_PASSES; i++) {
        const Pass *p = &PIPELINE[i];
        if (!enabled[i] && p->kind == PASS_KIND_REQUIRED)
            return llm_errorf(err, "pass %s is required and cannot be switched off", p->name);
        if (enabled[i]) {
            if (p->run(g, opt, err) != LLM_OK) return llm_error_prefix(err, "pass %s", p->name);
            if (ir_verify(g, err) != LLM_OK)
                return llm_error_prefix(err, "verifier after pass %s", p->name);
        }
        if (records) {
            records[i].pass = p;
            records[i].enabled = enabled[i];
            records[i].nodes_after = g->n_nodes;
        }
    }
    return LLM_OK;
}
