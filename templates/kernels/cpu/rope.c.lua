% -- kernels/cpu/rope.c.lua: rotate-half rotary embedding at batch positions.
% local n = args
% local half = n.head_dim // 2
/* $(n.kernel): RoPE, $(n.heads) heads x $(n.head_dim). For pair i of a head:
 *   y[i]      = x[i] * cos(p f_i) - x[i + $(half)] * sin(p f_i)
 *   y[i+$(half)] = x[i + $(half)] * cos(p f_i) + x[i] * sin(p f_i)
 * with f = rope_inv_freq (float32, the model's scaling applied at compile
 * time) and the angle p * f_i rounded to float32 as the reference does. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x1; (void)x2; (void)w0; (void)w1;
    for (int t = 0; t < b->n_tokens; t++) {
        float cs[$(half)], sn[$(half)];
        for (int i = 0; i < $(half); i++) {
            float angle = (float)b->positions[t] * rope_inv_freq[i];
            cs[i] = cosf(angle);
            sn[i] = sinf(angle);
        }
        const float *xr = x0 + (size_t)t * $(n.ins[1].stride);
        float *yr = y + (size_t)t * $(n.out_stride);
        for (int h = 0; h < $(n.heads); h++) {
            const float *xh = xr + h * $(n.head_dim);
            float *yh = yr + h * $(n.head_dim);
            for (int i = 0; i < $(half); i++) {
                float a = xh[i], c = xh[i + $(half)];
                yh[i] = a * cs[i] - c * sn[i];
                yh[i + $(half)] = c * cs[i] + a * sn[i];
            }
        }
    }
}
