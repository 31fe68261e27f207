/* convert_weights.c - the storage dtype of matrix weights.
 *
 * Matrices (embedding, projections, LM head) take the --dtype of the build;
 * vectors (norm gains, biases) stay float32, as every engine keeps them.
 * Conversion from the stored dtype happens when the blob is packed
 * (round-to-nearest-even for f16/bf16). */
#include "passes/pass.h"

int pass_convert_weights(IrGraph *g, const PassOptions *opt, LlmError *err) {
    DType t = opt->weight_dtype;
    if (t != DTYPE_F32 && t != DTYPE_F16 && t != DTYPE_BF16)
        return llm_errorf(err, "--dtype %s: the cpu target stores weights as f32, f16 or bf16",
                          dtype_name(t));
    for (int i = 0; i < g->n_weights; i++)
        g->weights[i].dtype = g->weights[i].is_vector ? DTYPE_F32 : t;
    return LLM_OK;
}
