/* frontend.h - turning a model description into an IR graph.
 *
 * Each architecture is one file (llama.c, qwen2.c) holding a FrontendDesc:
 * its name and the options of the shared decoder-block builder
 * (decoder.c). Adding an architecture means adding a file and a line in
 * the table of frontend.c; the runtime never changes.
 */
#ifndef LLMCC_FRONTEND_FRONTEND_H
#define LLMCC_FRONTEND_FRONTEND_H

#include "base/error.h"
#include "ir/ir.h"
#include "load/model_desc.h"

typedef enum FrontendBias {
    FRONTEND_BIAS_NONE, /* no projection has a bias (Llama) */
    FRONTEND_BIAS_QKV,  /* q, k and v projections have a bias (Qwen2) */
} FrontendBias;

typedef struct FrontendDesc {
    const char *arch;  /* ModelDesc.arch value it handles */
    FrontendBias bias; /* which projections carry a bias */
} FrontendDesc;

extern const FrontendDesc frontend_llama;
extern const FrontendDesc frontend_qwen2;

/* Builds the graph of one forward step; max_tokens bounds T. Errors name
 * the architecture when no frontend handles it. */
int frontend_build(const ModelDesc *desc, int max_tokens, int block_size, IrGraph *g,
                   LlmError *err);

/* The shared pre-norm decoder builder (decoder.c). */
int decoder_build(const FrontendDesc *fd, IrGraph *g, LlmError *err);

/* Fills g->rope from the description: float32 inverse frequencies with the
 * model's scaling rule applied, as the Hugging Face implementation computes
 * them. */
void rope_compute_inv_freq(const ModelDesc *desc, IrRope *rope);

#endif
