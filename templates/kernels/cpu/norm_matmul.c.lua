% -- kernels/cpu/norm_matmul.c.lua: y = (rmsnorm(x) * g) W^T (+ b), and with
% -- args.op == "norm_matmul_swiglu" the SwiGLU form. The unfused rmsnorm
% -- template normalises the rows into the node's scratch, then the unfused
% -- projection template runs on them: bit-identical to the pair.
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
% local nm = {}
% for k, v in pairs(n) do nm[k] = v end
% nm.kernel = n.kernel .. "_norm"
% nm.op = "rmsnorm"
% nm.cols = K
% nm.out_stride = K
% nm.ins = {n.ins[1]}
% nm.w = {n.w[1]}
$(include("kernels/cpu/rmsnorm.c.lua", nm))
$(include("kernels/cpu/" .. mm.op .. ".c.lua", mm))
/* $(n.kernel): $(nm.kernel) (RMSNorm, eps $(n.eps)) into scratch [rows][$(K)], then
 * $(mm.kernel) on it. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)x1; (void)x2;
    float *xn = (float *)scratch;
    $(nm.kernel)(ctx, b, layer, x0, NULL, NULL, xn, w0, NULL, NULL, NULL);
    $(mm.kernel)(ctx, b, layer, xn, NULL, NULL, y, w1, w2, NULL, NULL);
}
