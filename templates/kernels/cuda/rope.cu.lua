% -- kernels/cuda/rope.cu.lua: rotate-half rotary embedding at batch positions.
% local n = args
% local half = n.head_dim // 2
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): RoPE, $(n.heads) heads x $(n.head_dim); matches templates/kernels/cpu/rope.c.lua:
 * for pair i of a head, angle = (float)pos * rope_inv_freq[i] (one float32
 * multiply, as the reference), y[i] = x[i] cos - x[i+$(half)] sin,
 * y[i+$(half)] = x[i+$(half)] cos + x[i] sin. rope_inv_freq is the program's
 * __constant__ float[$(half)]. Grid: (T, head groups) blocks of $(half) threads, thread i
 * pair i of the heads h = blockIdx.y, + gridDim.y, ... (positions from c->positions):
 * one head per block for fewer than 64 tokens, so that many SMs share the angle's
 * sinf/cosf (slow path for large angles); with more tokens a block computes each
 * angle once for several heads (thousands of one-head blocks cost more than the
 * sines: 51 us at 1024 tokens for the 8B shape, ncu).
 * No shared memory. */
__global__ void __launch_bounds__($(half)) $(n.kernel)_k(const int32_t *__restrict__ positions, const float *x,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int t = blockIdx.x, i = threadIdx.x;
    const float p = (float)positions[t];
    const float *xr = x + (size_t)t * $(n.ins[1].stride);
    float *yr = y + (size_t)t * $(n.out_stride);
    const float angle = __fmul_rn(p, rope_inv_freq[i]);
    const float cs = cosf(angle), sn = sinf(angle);
    for (int h = blockIdx.y; h < $(n.heads); h += gridDim.y) {
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
    /* blocks (token, head group): every head its own block while that makes
     * few blocks; with many tokens a block takes several heads of its token
     * and computes each angle's cos and sin once for them */
    const int hb = T >= 512 ? 4 : T >= 64 ? 16 : $(n.heads);
    llm_launch($(n.kernel)_k, dim3((unsigned)T, (unsigned)(hb < $(n.heads) ? hb : $(n.heads))), $(half), 0,
               (cudaStream_t)c->stream, c->positions, x0, y);
}
