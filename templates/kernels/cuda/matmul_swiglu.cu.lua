% -- kernels/cuda/matmul_swiglu.cu.lua: y[R,N] = silu(x Wg^T) * (x Wu^T), W = [Wg; Wu] [2N, K].
% local n = args
% local K, N = n.w[1].cols, n.w[1].rows // 2
% local dt = n.w[1].dtype
% local WK = ({f32 = "LLM_W_F32", bf16 = "LLM_W_BF16", f16 = "LLM_W_F16"})[dt]
% local epv = dt == "f32" and 4 or 8
% local XS, YS = n.ins[1].stride, n.out_stride
% local vec_ok = (K % epv == 0) and (XS % 4 == 0)
% local rows = n.rows == "T" and "T" or "L"
% local R, WARPS = 2, 4 -- R: weight rows per warp (gate, up)
$(include("kernels/cuda/gemv.cu.lua"))
/* $(n.kernel): matmul + SwiGLU epilogue, K=$(K) N=$(N), weights $(dt); matches
 * templates/kernels/cpu/matmul_swiglu.c.lua (silu(x @ Wg.T) * (x @ Wu.T), float32),
 * i.e. the chain matmul -> matmul -> swiglu.
 * Grid: ceil(N / $(WARPS)) blocks of $(32 * WARPS) threads; warp w owns output column w and
 * streams its gate row w and up row $(N)+w together (2 rows, 4 x 16-byte loads
 * each in flight per lane); lane partial sums are reduced with shuffles.
 * No shared memory: x ([rows][$(XS)] float32) is read through L1.
 * __launch_bounds__(128, 4): without the minimum-blocks hint ptxas
 * interleaves each load with its use; with it the loads of an unrolled
 * step are issued together. Token tiles:
 * TT = 1 (decode) or 8 (prefill; rows > 8 re-read weights per tile, from L2).
 * Vector path $(vec_ok and "available (K % " .. epv .. " == 0, x stride % 4 == 0); used when x and W are 16-byte aligned" or "not available for this shape: scalar path"). */
template <int TT, bool VEC>
__global__ void __launch_bounds__($(32 * WARPS), 4) $(n.kernel)_k(const float *__restrict__ x, float *__restrict__ y,
                                                   const void *__restrict__ w, int rows) {
    LLM_PDL_ENTER();
    const int lane = threadIdx.x & 31;
    const int col = (int)(blockIdx.x * $(WARPS) + (threadIdx.x >> 5));
    if (col >= $(N)) return;
    const void *wr[2] = {(const void *)((const char *)w + (size_t)col * $(K) * sizeof($(dt == "f32" and "float" or "uint16_t"))),
                         (const void *)((const char *)w + (size_t)(col + $(N)) * $(K) * sizeof($(dt == "f32" and "float" or "uint16_t")))};
    for (int t0 = 0; t0 < rows; t0 += TT) {
        float acc[$(R)][TT];
#pragma unroll
        for (int r = 0; r < $(R); r++)
#pragma unroll
            for (int t = 0; t < TT; t++) acc[r][t] = 0.0f;
        const int tn = min(TT, rows - t0);
        const float *xt = x + (size_t)t0 * $(XS);
        if (VEC) llm_gemv_vec<$(WK), $(K), $(XS), $(R), TT, 4>(wr, xt, tn, acc, lane);
        else llm_gemv_scalar<$(WK), $(K), $(XS), $(R), TT>(wr, xt, tn, acc, lane);
        llm_gemv_reduce<$(R), TT>(acc);
#pragma unroll
        for (int t = 0; t < TT; t++)
            if (lane == t && t < tn) y[(size_t)(t0 + t) * $(YS) + col] = llm_silu_dev(acc[0][t]) * acc[1][t];
    }
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1) {
    (void)T; (void)L; (void)layer; (void)x1; (void)x2; (void)w1;
    const int rows = $(rows);
    if (rows <= 0) return;
    cudaStream_t s = (cudaStream_t)c->stream;
    const unsigned grid = llm_cdiv($(N), $(WARPS));
% if vec_ok then
    if (llm_aligned16(x0, w0)) {
        if (rows == 1) llm_launch($(n.kernel)_k<1, true>, grid, $(32 * WARPS), 0, s, x0, y, w0, rows);
        else llm_launch($(n.kernel)_k<8, true>, grid, $(32 * WARPS), 0, s, x0, y, w0, rows);
        return;
    }
% end
    if (rows == 1) llm_launch($(n.kernel)_k<1, false>, grid, $(32 * WARPS), 0, s, x0, y, w0, rows);
    else llm_launch($(n.kernel)_k<8, false>, grid, $(32 * WARPS), 0, s, x0, y, w0, rows);
}
