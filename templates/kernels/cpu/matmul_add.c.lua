% -- kernels/cpu/matmul_add.c.lua: y = r + (x W^T (+ b)): a projection and the
% -- residual add after it. Runs the unfused matmul template into y, then
% -- adds r in place: the same float additions as matmul followed by add.
% local n = args
% local mm = {}
% for k, v in pairs(n) do mm[k] = v end
% mm.kernel = n.kernel .. "_mm"
% mm.op = "matmul"
% mm.ins = {n.ins[1]}
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
$(include("kernels/cpu/matmul.c.lua", mm))
/* $(n.kernel): $(mm.kernel), then y += r (r stride $(n.ins[2].stride)). */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)x2; (void)w2;
    $(mm.kernel)(ctx, b, layer, x0, NULL, NULL, y, w0, w1, NULL, scratch);
    for (int r = 0; r < $(rows); r++) {
        const float *rr = x1 + (size_t)r * $(n.ins[2].stride);
        float *yr = y + (size_t)r * $(n.out_stride);
        for (int c = 0; c < $(n.cols); c++) yr[c] = rr[c] + yr[c];
    }
}
