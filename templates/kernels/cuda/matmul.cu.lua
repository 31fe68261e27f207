% -- kernels/cuda/matmul.cu.lua: y[R,N] = x[R,K] W[N,K]^T (+ b[N]), GEMV style.
% local n = args
% local K, N = n.w[1].cols, n.w[1].rows
% local dt = n.w[1].dtype
% local WK = ({f32 = "LLM_W_F32", bf16 = "LLM_W_BF16", f16 = "LLM_W_F16"})[dt]
% local epv = dt == "f32" and 4 or 8
% local XS, YS = n.ins[1].stride, n.out_stride
% local vec_ok = (K % epv == 0) and (XS % 4 == 0)
% local rows = n.rows == "T" and "T" or "L"
% local R, WARPS = 2, 4
$(include("kernels/cuda/gemv.cu.lua"))
/* $(n.kernel): matmul, K=$(K) N=$(N), weights $(dt)$(n.w[2] and ", bias f32" or ""); matches
 * templates/kernels/cpu/matmul.c.lua (y = x @ W.T (+ b), float32 accumulation).
 * Grid: ceil(N / $(R * WARPS)) blocks of $(32 * WARPS) threads; warp w owns weight rows
 * $(R)w .. $(R)w+$(R - 1) and streams them once per token tile; lane partial sums are
 * reduced with shuffles and lanes write distinct outputs. No shared memory:
 * x ([rows][$(XS)] float32) is read through L1, where every warp of the SM
 * finds it. __launch_bounds__(128, 4) matters: without the minimum-blocks
 * hint ptxas interleaves each load with its use (2-3 loads in flight); with
 * it the 8 weight loads of an unrolled step are issued together (~90 regs).
 * Token tiles: TT = 1 (decode) or 8 (prefill; for rows > 8 the
 * weight rows are re-read per tile, mostly from L2).
 * Vector path $(vec_ok and "available (K % " .. epv .. " == 0, x stride % 4 == 0); used when x and W are 16-byte aligned" or "not available for this shape: scalar path"). */
template <int TT, bool VEC>
__global__ void __launch_bounds__($(32 * WARPS), 4) $(n.kernel)_k(const float *__restrict__ x, float *__restrict__ y,
                                                   const void *__restrict__ w, const float *__restrict__ bias, int rows) {
    LLM_PDL_ENTER();
    const int lane = threadIdx.x & 31;
    const int row0 = (int)(blockIdx.x * $(WARPS) + (threadIdx.x >> 5)) * $(R);
    if (row0 >= $(N)) return;
    const void *wr[$(R)];
#pragma unroll
    for (int r = 0; r < $(R); r++)
        wr[r] = (const void *)((const char *)w + (size_t)min(row0 + r, $(N - 1)) * $(K) * sizeof($(dt == "f32" and "float" or "uint16_t")));
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
        for (int r = 0; r < $(R); r++)
#pragma unroll
            for (int t = 0; t < TT; t++)
                if (lane == r * TT + t && t < tn && row0 + r < $(N))
                    y[(size_t)(t0 + t) * $(YS) + row0 + r] = acc[r][t]$(n.w[2] and " + bias[row0 + r]" or "");
    }
    (void)bias;
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1) {
    (void)T; (void)L; (void)layer; (void)x1; (void)x2;
    const int rows = $(rows);
    if (rows <= 0) return;
    cudaStream_t s = (cudaStream_t)c->stream;
    const unsigned grid = llm_cdiv($(N), $(R * WARPS));
    const float *bias = (const float *)w1;
% if vec_ok then
    if (llm_aligned16(x0, w0)) {
        if (rows == 1) llm_launch($(n.kernel)_k<1, true>, grid, $(32 * WARPS), 0, s, x0, y, w0, bias, rows);
        else llm_launch($(n.kernel)_k<8, true>, grid, $(32 * WARPS), 0, s, x0, y, w0, bias, rows);
        return;
    }
% end
    if (rows == 1) llm_launch($(n.kernel)_k<1, false>, grid, $(32 * WARPS), 0, s, x0, y, w0, bias, rows);
    else llm_launch($(n.kernel)_k<8, false>, grid, $(32 * WARPS), 0, s, x0, y, w0, bias, rows);
}
