% -- kernels/cuda/embed.cu.lua: y[T,H] = E[tokens[t], :] converted to float32.
% local n = args
% local H = n.w[1].cols
% local WK = ({f32 = "LLM_W_F32", bf16 = "LLM_W_BF16", f16 = "LLM_W_F16"})[n.w[1].dtype]
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): embedding lookup, H=$(H), table $(n.w[1].dtype) [$(n.w[1].rows)][$(H)]; matches
 * templates/kernels/cpu/embed.c.lua (exact: conversion only).
 * Grid: T blocks (one per token) of 256 threads striding over the columns.
 * Token ids (c->tokens, device) are checked by the runtime before the step.
 * No shared memory. */
__global__ void __launch_bounds__(256) $(n.kernel)_k(const int32_t *__restrict__ tokens, const void *__restrict__ e,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int t = blockIdx.x;
    const size_t base = (size_t)tokens[t] * $(H);
    for (int c = threadIdx.x; c < $(H); c += blockDim.x)
        y[(size_t)t * $(n.out_stride) + c] = llm_w_scalar<$(WK)>(e, base + c);
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)L; (void)layer; (void)x0; (void)x1; (void)x2; (void)w1;
    if (T <= 0) return;
    llm_launch($(n.kernel)_k, T, 256, 0, (cudaStream_t)c->stream, c->tokens, w0, y);
}
