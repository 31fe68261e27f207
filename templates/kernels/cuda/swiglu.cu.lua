% -- kernels/cuda/swiglu.cu.lua: y = silu(g) * u, elementwise (unfused form).
% local n = args
% local rows = n.rows == "T" and "T" or "L"
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): SwiGLU over $(n.cols) columns; matches templates/kernels/cpu/swiglu.c.lua
 * (x / (1 + expf(-x)) * u; device expf within 2 ulp of the host's).
 * Grid: (ceil($(n.cols) / 256), rows) blocks of 256 threads, one element each.
 * No shared memory. */
__global__ void __launch_bounds__(256) $(n.kernel)_k(const float *g, const float *u,
                                                     float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int c = (int)(blockIdx.x * blockDim.x + threadIdx.x), r = blockIdx.y;
    if (c >= $(n.cols)) return;
    y[(size_t)r * $(n.out_stride) + c] = llm_silu_dev(g[(size_t)r * $(n.ins[1].stride) + c]) * u[(size_t)r * $(n.ins[2].stride) + c];
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)T; (void)L; (void)layer; (void)x2; (void)w0; (void)w1;
    const int rows = $(rows);
    if (rows <= 0) return;
    llm_launch($(n.kernel)_k, dim3(llm_cdiv($(n.cols), 256), (unsigned)rows), 256, 0, (cudaStream_t)c->stream, x0, x1, y);
}
