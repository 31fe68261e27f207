% -- kernels/cpu/select_rows.c.lua: y[L,C] = x[logit_rows[l], :].
% local n = args
/* $(n.kernel): gathers the $(n.cols)-wide rows whose logits are wanted. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x1; (void)x2; (void)w0; (void)w1;
    for (int l = 0; l < b->n_logits; l++)
        memcpy(y + (size_t)l * $(n.out_stride), x0 + (size_t)b->logit_rows[l] * $(n.ins[1].stride), $(n.cols) * sizeof(float));
}
