% -- kernels/cuda/select_rows.cu.lua: y[L,C] = x[logit_rows[l], :].
% local n = args
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): gathers the $(n.cols)-wide rows whose logits are wanted; matches
 * templates/kernels/cpu/select_rows.c.lua (exact copy).
 * Grid: L blocks (one per selected row) of 256 threads over the columns.
 * c->logit_rows (device, [L]) holds token indices < T. No shared memory. */
__global__ void __launch_bounds__(256) $(n.kernel)_k(const int32_t *__restrict__ sel, const float *x,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int l = blockIdx.x;
    const float *xr = x + (size_t)sel[l] * $(n.ins[1].stride);
    for (int c = threadIdx.x; c < $(n.cols); c += blockDim.x) y[(size_t)l * $(n.out_stride) + c] = xr[c];
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)T; (void)layer; (void)x1; (void)x2; (void)w0; (void)w1;
    if (L <= 0) return;
    llm_launch($(n.kernel)_k, L, 256, 0, (cudaStream_t)c->stream, c->logit_rows, x0, y);
}
