% -- kernels/cpu/norm_matmul.c.lua: y = (rmsnorm(x) * g) W^T (+ b), and with
% -- args.op == "norm_matmul_swiglu" the SwiGLU form. The rows are normalised
% -- into the node's scratch exactly as kernels/cpu/rmsnorm.c.lua does, then
% -- the unfused projection template runs on them: bit-identical to the pair.
% local n = args
% local swiglu = n.op == "norm_matmul_swiglu"
% local K = n.ins[1].cols
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
% local mm = {}
% for k, v in pairs(n) do mm[k] = v end
% mm.kernel = n.kernel .. "_mm"
% mm.op = swiglu and "matmul_swiglu" or "matmul"
% mm.ins = {{cols = K, stride = K}}
% mm.w = {n.w[2], n.w[3]}
$(include("kernels/cpu/" .. mm.op .. ".c.lua", mm))
/* $(n.kernel): RMSNorm (eps $(n.eps)) over $(K) columns into scratch [rows][$(K)],
 * then $(mm.kernel) on it. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)x1; (void)x2;
    const float *g = (const float *)w0;
    float *xn = (float *)scratch;
    for (int r = 0; r < $(rows); r++) {
        const float *xr = x0 + (size_t)r * $(n.ins[1].stride);
        float *yr = xn + (size_t)r * $(K);
        double ss = 0.0;
        for (int c = 0; c < $(K); c++) ss += (double)xr[c] * (double)xr[c];
        float var = (float)(ss / $(K));
        float inv = 1.0f / sqrtf(var + $(n.eps));
        for (int c = 0; c < $(K); c++) yr[c] = g[c] * (xr[c] * inv);
    }
    $(mm.kernel)(ctx, b, layer, xn, NULL, NULL, y, w1, w2, NULL, NULL);
}
