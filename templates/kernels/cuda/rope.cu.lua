% -- kernels/cuda/rope.cu.lua: rotate-half rotary embedding at batch positions.
% local n = args
% local half = n.head_dim // 2
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): RoPE, $(n.heads) heads x $(n.head_dim); matches templates/kernels/cpu/rope.c.lua:
 * for pair i of a head, angle = (float)pos * rope_inv_freq[i] (one float32
 * multiply, as the reference), y[i] = x[i] cos - x[i+$(half)] sin,
 * y[i+$(half)] = x[i+$(half)] cos + x[i] sin. rope_inv_freq is the program's
 * __constant__ float[$(half)]. Grid: (T, $(n.heads) heads) blocks of $(half) threads, one
 * pair each (positions from c->positions); the angle's sinf/cosf (slow path
 * for large angles) is recomputed per head so that many SMs share it.
 * No shared memory. */
__global__ void __launch_bounds__($(half)) $(n.kernel)_k(const int32_t *__restrict__ positions, const float *x,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int t = blockIdx.x, h = blockIdx.y, i = threadIdx.x;
    const float p = (float)positions[t];
    const float *xr = x + (size_t)t * $(n.ins[1].stride);
    float *yr = y + (size_t)t * $(n.out_stride);
    {
        const float angle = __fmul_rn(p, rope_inv_freq[i]);
        const float cs = cosf(angle), sn = sinf(angle);
        const float a = xr[h * $(n.head_dim) + i], b = xr[h * $(n.head_dim) + i + $(half)];
        yr[h * $(n.head_dim) + i] = a * cs - b * sn;
        yr[h * $(n.head_dim) + i + $(half)] = b * cs + a * sn;
    }
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)L; (void)layer; (void)x1; (void)x2; (void)w0; (void)w1;
    if (T <= 0) return;
    llm_launch($(n.kernel)_k, dim3((unsigned)T, $(n.heads)), $(half), 0, (cudaStream_t)c->stream, c->positions, x0, y);
}
