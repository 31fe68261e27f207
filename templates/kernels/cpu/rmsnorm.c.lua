% -- kernels/cpu/rmsnorm.c.lua: y = x * rsqrt(mean(x^2) + eps) * g.
% local n = args
% local C = n.cols
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
/* $(n.kernel): RMSNorm over $(C) columns, eps $(n.eps). Sum of squares in
 * double (closer to the exact mean than any float32 order). Matches
 * LlamaRMSNorm: weight * (x * rsqrt(mean(x^2) + eps)). */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x1; (void)x2; (void)w1;
    const float *g = (const float *)w0;
    for (int r = 0; r < $(rows); r++) {
        const float *xr = x0 + (size_t)r * $(n.ins[1].stride);
        float *yr = y + (size_t)r * $(n.out_stride);
        double ss = 0.0;
        for (int c = 0; c < $(C); c++) ss += (double)xr[c] * (double)xr[c];
        float var = (float)(ss / $(C));
        float inv = 1.0f / sqrtf(var + $(n.eps));
        for (int c = 0; c < $(C); c++) yr[c] = g[c] * (xr[c] * inv);
    }
}
