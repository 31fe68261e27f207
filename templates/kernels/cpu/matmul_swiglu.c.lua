% -- kernels/cpu/matmul_swiglu.c.lua: y[R,N] = silu(x Wg^T) * (x Wu^T),
% -- W = [Wg; Wu] of shape [2N, K]. Fused form of matmul, matmul, swiglu.
% local n = args
% local K, N = n.w[1].cols, n.w[1].rows // 2
% local wtype = ({f32 = "float", bf16 = "uint16_t", f16 = "uint16_t"})[n.w[1].dtype]
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
$(include("kernels/cpu/dot.c.lua", {fn = n.kernel .. "_dot", dtype = n.w[1].dtype, k = K}))
/* $(n.kernel): matmul + SwiGLU epilogue, K=$(K) N=$(N), weights $(n.w[1].dtype).
 * Parallel over output columns; gate row c and up row N+c are read once per
 * step. Matches: silu(x @ Wg.T) * (x @ Wu.T) in float32. */
typedef struct $(n.kernel)_Args {
    const float *x;    /* [rows][$(n.ins[1].stride)] */
    float *y;          /* [rows][$(n.out_stride)] */
    const $(wtype) *w; /* [2*$(N)][$(K)] */
    int rows;
} $(n.kernel)_Args;

static void $(n.kernel)_range(void *p, int n0, int n1) {
    const $(n.kernel)_Args *a = p;
    for (int c = n0; c < n1; c++) {
        const $(wtype) *wg = a->w + (size_t)c * $(K);
        const $(wtype) *wu = a->w + (size_t)(c + $(N)) * $(K);
        for (int r = 0; r < a->rows; r++) {
            const float *xr = a->x + (size_t)r * $(n.ins[1].stride);
            float g = $(n.kernel)_dot(xr, wg), u = $(n.kernel)_dot(xr, wu);
            a->y[(size_t)r * $(n.out_stride) + (size_t)c] = llm_silu(g) * u;
        }
    }
}

static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)layer; (void)x1; (void)x2; (void)w1;
    $(n.kernel)_Args a = {x0, y, (const $(wtype) *)w0, $(rows)};
    llm_parallel_for(ctx->pool, $(N), $(n.kernel)_range, &a);
}
