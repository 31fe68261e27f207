% -- kernels/cuda/rmsnorm.cu.lua: y = x * rsqrt(mean(x^2) + eps) * g.
% local n = args
% local C = n.cols
% local rows = n.rows == "T" and "T" or "L"
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): RMSNorm over $(C) columns, eps $(n.eps); matches
 * templates/kernels/cpu/rmsnorm.c.lua: sum of squares in double (per-thread
 * partials, then a fixed shuffle/shared tree), var = (float)(ss / C),
 * inv = 1 / sqrtf(var + eps), y = g * (x * inv); gain g float32 [$(C)].
 * Grid: one block of 256 threads per row; shared memory 8 doubles. */
__global__ void __launch_bounds__(256) $(n.kernel)_k(const float *x, const float *__restrict__ g,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    __shared__ double part[8];
    __shared__ float inv_s;
    const float *xr = x + (size_t)blockIdx.x * $(n.ins[1].stride);
    float *yr = y + (size_t)blockIdx.x * $(n.out_stride);
    double ss = 0.0;
    for (int c = threadIdx.x; c < $(C); c += 256) ss += (double)xr[c] * (double)xr[c];
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
    for (int c = threadIdx.x; c < $(C); c += 256) yr[c] = g[c] * (xr[c] * inv);
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)T; (void)L; (void)layer; (void)x1; (void)x2; (void)w1;
    const int rows = $(rows);
    if (rows <= 0) return;
    llm_launch($(n.kernel)_k, rows, 256, 0, (cudaStream_t)c->stream, x0, (const float *)w0, y);
}
