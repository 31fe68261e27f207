% -- kernels/cpu/matmul.c.lua: y[R,N] = x[R,K] W[N,K]^T (+ b[N]).
% local n = args
% local K, N = n.w[1].cols, n.w[1].rows
% local wtype = ({f32 = "float", bf16 = "uint16_t", f16 = "uint16_t"})[n.w[1].dtype]
% local rows = n.rows == "T" and "b->n_tokens" or "b->n_logits"
$(include("kernels/cpu/dot.c.lua", {fn = n.kernel .. "_dot", dtype = n.w[1].dtype, k = K}))
/* $(n.kernel): matmul, K=$(K) N=$(N), weights $(n.w[1].dtype)$(n.w[2] and ", bias" or "").
 * Parallel over output columns; each weight row is read once per step and
 * dotted with every input row. Matches: y = x @ W.T (+ b) in float32. */
typedef struct $(n.kernel)_Args {
    const float *x;   /* [rows][$(n.ins[1].stride)] */
    float *y;         /* [rows][$(n.out_stride)] */
    const $(wtype) *w; /* [$(N)][$(K)] */
    const float *bias; /* [$(N)] or NULL */
    int rows;
} $(n.kernel)_Args;

static void $(n.kernel)_range(void *p, int n0, int n1) {
    const $(n.kernel)_Args *a = p;
    for (int c = n0; c < n1; c++) {
        const $(wtype) *wr = a->w + (size_t)c * $(K);
        float bc = a->bias ? a->bias[c] : 0.0f;
        for (int r = 0; r < a->rows; r++)
            a->y[(size_t)r * $(n.out_stride) + (size_t)c] = $(n.kernel)_dot(a->x + (size_t)r * $(n.ins[1].stride), wr) + bc;
    }
}

static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)layer; (void)x1; (void)x2;
    $(n.kernel)_Args a = {x0, y, (const $(wtype) *)w0, (const float *)w1, $(rows)};
    llm_parallel_for(ctx->pool, $(N), $(n.kernel)_range, &a);
}
