% -- kernels/cpu/add.c.lua: y = a + b, elementwise.
% local n = args
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
/* $(n.kernel): residual add over $(n.cols) columns. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x2; (void)w0; (void)w1;
    for (int r = 0; r < $(rows); r++)
        for (int c = 0; c < $(n.cols); c++)
            y[(size_t)r * $(n.out_stride) + c] = x0[(size_t)r * $(n.ins[1].stride) + c] + x1[(size_t)r * $(n.ins[2].stride) + c];
}
