% -- kernels/cpu/add_rmsnorm.c.lua: s = a + b, then y = s * rsqrt(mean(s^2) + eps) * g.
% local n = args
% local C = n.ins[1].cols
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
/* $(n.kernel): residual add and RMSNorm over $(C) columns, eps $(n.eps).
 * Output row: columns 0..$(C - 1) the sum s = a + b (float32), columns
 * $(C)..$(2 * C - 1) g * (s * inv). Bit-identical to kernels/cpu/add.c.lua
 * followed by kernels/cpu/rmsnorm.c.lua: the norm reads the stored float
 * sums, sum of squares in double in the same order. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x2; (void)w1;
    const float *g = (const float *)w0;
    for (int r = 0; r < $(rows); r++) {
        const float *ar = x0 + (size_t)r * $(n.ins[1].stride);
        const float *br = x1 + (size_t)r * $(n.ins[2].stride);
        float *sr = y + (size_t)r * $(n.out_stride);
        float *yr = sr + $(C);
        for (int c = 0; c < $(C); c++) sr[c] = ar[c] + br[c];
        double ss = 0.0;
        for (int c = 0; c < $(C); c++) ss += (double)sr[c] * (double)sr[c];
        float var = (float)(ss / $(C));
        float inv = 1.0f / sqrtf(var + $(n.eps));
        for (int c = 0; c < $(C); c++) yr[c] = g[c] * (sr[c] * inv);
    }
}
