% -- kernels/cuda/add_rmsnorm.cu.lua: s = a + b, then y = s * rsqrt(mean(s^2) + eps) * g.
% local n = args
% local C = n.ins[1].cols
% local rows = n.rows == "T" and "T" or "L"
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): residual add and RMSNorm over $(C) columns, eps $(n.eps); matches
 * templates/kernels/cpu/add_rmsnorm.c.lua (= add then rmsnorm): columns
 * 0..$(C - 1) of the output row get s = a + b (float32), columns $(C)..$(2 * C - 1)
 * get g * (s * inv) with the sum of squares of the float sums in double
 * (per-thread partials, then the fixed shuffle/shared tree of
 * kernels/cuda/rmsnorm.cu.lua, so it equals that kernel run on s),
 * var = (float)(ss / C), inv = 1 / sqrtf(var + eps); gain g float32 [$(C)].
 * Strides: a $(n.ins[1].stride), b $(n.ins[2].stride), y $(n.out_stride).
 * Grid: one block of 256 threads per row; each thread re-reads only the
 * sums it wrote itself. Shared memory 8 doubles + 1 float. */
__global__ void __launch_bounds__(256) $(n.kernel)_k(const float *a, const float *b,
                                                     const float *__restrict__ g, float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    __shared__ double part[8];
    __shared__ float inv_s;
    const float *ar = a + (size_t)blockIdx.x * $(n.ins[1].stride);
    const float *br = b + (size_t)blockIdx.x * $(n.ins[2].stride);
    float *sr = y + (size_t)blockIdx.x * $(n.out_stride);
    double ss = 0.0;
    for (int c = threadIdx.x; c < $(C); c += 256) {
        const float s = __fadd_rn(ar[c], br[c]);
        sr[c] = s;
        ss += (double)s * (double)s;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double tot = 0.0;
        for (int i = 0; i < 8; i++) tot += part[i];
        const float var = (float)(tot / $(C));
        inv_s = 1.0f / sqrtf(var + $(n.eps));
    }
    __syncthreads();
    const float inv = inv_s;
    for (int c = threadIdx.x; c < $(C); c += 256) sr[$(C) + c] = g[c] * (sr[c] * inv);
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)T; (void)L; (void)layer; (void)x2; (void)w1;
    const int rows = $(rows);
    if (rows <= 0) return;
    llm_launch($(n.kernel)_k, rows, 256, 0, (cudaStream_t)c->stream, x0, x1, (const float *)w0, y);
}
