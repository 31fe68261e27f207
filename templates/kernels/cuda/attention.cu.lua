% -- kernels/cuda/attention.cu.lua: paged causal attention with GQA.
% local n = args
% local P = spec.program
% local hd, nh, nkv = n.head_dim, n.heads, n.kv_heads
% local kvdim = nkv * hd
% local G = nh // nkv
% local NW = 4
% local NSPLIT = 16
% local MAXT = P.max_tokens
% local PART = hd + 2
% local DPL = (hd + 31) // 32
% local vec4 = hd % 4 == 0
$(include("kernels/cuda/common.cu.lua"))
/* $(n.kernel): attention, $(nh) query heads, $(nkv) KV heads (group $(G)), head_dim $(hd),
 * KV blocks of $(P.block_size) tokens, $(P.max_blocks_per_seq) blocks per sequence; matches
 * templates/kernels/cpu/attention.c.lua (float32 KV pool, layout
 * [layer][block][slot][kv_head][dim], scale 1/sqrtf($(hd))).
 * Step 1, $(n.kernel)_kv: grid T blocks of 128 threads; copies K and V of each
 * token of the step into its slot (block_tables[seq][pos / $(P.block_size)], pos % $(P.block_size)).
 * Step 2, $(n.kernel)_k (split-KV, "flash decoding"): grid (heads $(nh), T, $(NSPLIT) splits)
 * of $(32 * NW) threads. Split s of token t takes positions [s*len, (s+1)*len) of
 * 0..positions[t] (len = ceil((pos+1)/$(NSPLIT)) rounded up to 32; empty splits exit
 * after writing an empty partial). Warp w of the block takes chunks of 32
 * positions: lane l scores one position (q from shared memory, its K row read
 * $(vec4 and "as float4" or "as floats")), the warp keeps an online softmax (running max m, sum l,
 * $(DPL) output dims per lane) and accumulates p_j v_j from coalesced V rows;
 * the block merges its warps and writes (m, l, o[$(hd)]) to $(n.kernel)_part.
 * Step 3, $(n.kernel)_comb: grid (heads, T) of 128 threads merges the $(NSPLIT) partials
 * (float32, max-rescaled) and writes y.
 * No per-position storage: any context length; causal by position (each
 * token attends 0..positions[t] of its own sequence), so T > 1 prefill works.
 * Precondition: T <= $(MAXT) (spec.program.max_tokens): the partials live in a
 * static __device__ array of $(MAXT) x $(nh) x $(NSPLIT) x $(PART) floats ($(MAXT * nh * NSPLIT * PART * 4) bytes).
 * Shared memory (step 2): q [$(hd)] + per-warp (m, l, o[$(hd)]) = $((hd + NW * (hd + 2)) * 4) bytes. */
__device__ float $(n.kernel)_part[$(MAXT * nh * NSPLIT * PART)];

__global__ void __launch_bounds__(128) $(n.kernel)_kv(const float *__restrict__ kin, const float *__restrict__ vin,
                                                      float *__restrict__ K, float *__restrict__ V,
                                                      const int32_t *__restrict__ positions,
                                                      const int32_t *__restrict__ seq_index,
                                                      const int32_t *__restrict__ block_tables, size_t layer_off) {
    LLM_PDL_ENTER();
    const int t = blockIdx.x, pos = positions[t];
    const int32_t blk = block_tables[(size_t)seq_index[t] * $(P.max_blocks_per_seq) + pos / $(P.block_size)];
    const size_t at = layer_off + ((size_t)blk * $(P.block_size) + (size_t)(pos % $(P.block_size))) * $(kvdim);
    for (int i = threadIdx.x; i < $(kvdim); i += blockDim.x) {
        K[at + i] = kin[(size_t)t * $(n.ins[2].stride) + i];
        V[at + i] = vin[(size_t)t * $(n.ins[3].stride) + i];
    }
}

__global__ void __launch_bounds__($(32 * NW)) $(n.kernel)_k(const float *__restrict__ q,
                                                      const float *__restrict__ K, const float *__restrict__ V,
                                                      const int32_t *__restrict__ positions,
                                                      const int32_t *__restrict__ seq_index,
                                                      const int32_t *__restrict__ block_tables, size_t layer_off) {
    LLM_PDL_ENTER();
    __shared__ __align__(16) float qs[$(hd)];
    __shared__ float wm[$(NW)], wl[$(NW)], wo[$(NW)][$(hd)];
    const int h = blockIdx.x, t = blockIdx.y, sp = blockIdx.z, kvh = h / $(G);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int npos = positions[t] + 1;
    const int len = ((npos + $(NSPLIT - 1)) / $(NSPLIT) + 31) & ~31;
    const int j0 = sp * len, j1 = min(npos, j0 + len);
    float *pp = $(n.kernel)_part + ((size_t)(t * $(nh) + h) * $(NSPLIT) + sp) * $(PART);
    if (j0 >= j1) { /* empty split */
        for (int i = threadIdx.x; i < $(PART); i += blockDim.x) pp[i] = i == 0 ? -INFINITY : 0.0f;
        return;
    }
    const int32_t *bt = block_tables + (size_t)seq_index[t] * $(P.max_blocks_per_seq);
    for (int i = threadIdx.x; i < $(hd); i += blockDim.x) qs[i] = q[(size_t)t * $(n.ins[1].stride) + (size_t)h * $(hd) + i];
    __syncthreads();
    const float scale = 1.0f / sqrtf((float)$(hd));
    float m = -INFINITY, l = 0.0f, o[$(DPL)];
#pragma unroll
    for (int i = 0; i < $(DPL); i++) o[i] = 0.0f;
    for (int base = j0 + warp * 32; base < j1; base += $(32 * NW)) {
        const int j = base + lane;
        float s = -INFINITY;
        size_t off = 0;
        if (j < j1) {
            off = layer_off + ((size_t)bt[j / $(P.block_size)] * $(P.block_size) + (size_t)(j % $(P.block_size))) * $(kvdim) + (size_t)kvh * $(hd);
            const float *kr = K + off;
            float d = 0.0f;
% if vec4 then
#pragma unroll 8
            for (int c = 0; c < $(hd); c += 4) {
                const float4 kk = *(const float4 *)(kr + c), qq = *(const float4 *)(qs + c);
                d = fmaf(qq.x, kk.x, d);
                d = fmaf(qq.y, kk.y, d);
                d = fmaf(qq.z, kk.z, d);
                d = fmaf(qq.w, kk.w, d);
            }
% else
            for (int c = 0; c < $(hd); c++) d = fmaf(qs[c], kr[c], d);
% end
            s = d * scale;
        }
        const float m_new = fmaxf(m, llm_warp_max(s)); /* finite: lane 0 of the chunk is valid */
        const float p = j < j1 ? expf(s - m_new) : 0.0f;
        const float corr = expf(m - m_new); /* 0 on the first chunk (m = -inf) */
        l = l * corr + llm_warp_sum(p);
#pragma unroll
        for (int i = 0; i < $(DPL); i++) o[i] *= corr;
        const int nj = min(32, j1 - base);
#pragma unroll 4
        for (int jj = 0; jj < nj; jj++) {
            const float pj = __shfl_sync(0xffffffffu, p, jj);
            const size_t oj = __shfl_sync(0xffffffffu, off, jj);
#pragma unroll
            for (int i = 0; i < $(DPL); i++) {
                const int d = lane + 32 * i;
                if ($(hd % 32 == 0 and "true" or "d < " .. hd)) o[i] = fmaf(pj, V[oj + d], o[i]);
            }
        }
        m = m_new;
    }
    if (lane == 0) {
        wm[warp] = m;
        wl[warp] = l;
    }
#pragma unroll
    for (int i = 0; i < $(DPL); i++) {
        const int d = lane + 32 * i;
        if (d < $(hd)) wo[warp][d] = o[i];
    }
    __syncthreads();
    float M = -INFINITY;
    for (int w = 0; w < $(NW); w++) M = fmaxf(M, wm[w]); /* finite: warp 0 has positions */
    float Ls = 0.0f;
    for (int w = 0; w < $(NW); w++) Ls += wm[w] == -INFINITY ? 0.0f : wl[w] * expf(wm[w] - M);
    for (int d = threadIdx.x; d < $(hd); d += blockDim.x) {
        float acc = 0.0f;
        for (int w = 0; w < $(NW); w++) acc += wm[w] == -INFINITY ? 0.0f : wo[w][d] * expf(wm[w] - M);
        pp[2 + d] = acc;
    }
    if (threadIdx.x == 0) {
        pp[0] = M;
        pp[1] = Ls;
    }
}

__global__ void __launch_bounds__(128) $(n.kernel)_comb(float *__restrict__ y) {
    LLM_PDL_ENTER();
    const int h = blockIdx.x, t = blockIdx.y;
    const float *pp = $(n.kernel)_part + (size_t)(t * $(nh) + h) * $(NSPLIT) * $(PART);
    float M = -INFINITY;
    for (int s = 0; s < $(NSPLIT); s++) M = fmaxf(M, pp[s * $(PART)]);
    float Ls = 0.0f;
    for (int s = 0; s < $(NSPLIT); s++) {
        const float m = pp[s * $(PART)];
        Ls += m == -INFINITY ? 0.0f : pp[s * $(PART) + 1] * expf(m - M);
    }
    for (int d = threadIdx.x; d < $(hd); d += blockDim.x) {
        float acc = 0.0f;
        for (int s = 0; s < $(NSPLIT); s++) {
            const float m = pp[s * $(PART)];
            acc += m == -INFINITY ? 0.0f : pp[s * $(PART) + 2 + d] * expf(m - M);
        }
        y[(size_t)t * $(n.out_stride) + (size_t)h * $(hd) + d] = acc / Ls;
    }
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1) {
    (void)L; (void)w0; (void)w1;
    if (T <= 0) return;
    cudaStream_t s = (cudaStream_t)c->stream;
    const size_t layer_off = (size_t)layer * (size_t)c->n_blocks * $(P.block_size) * $(kvdim);
    float *K = (float *)c->k, *V = (float *)c->v;
    llm_launch($(n.kernel)_kv, T, 128, 0, s, x1, x2, K, V, c->positions, c->seq_index, c->block_tables, layer_off);
    llm_launch($(n.kernel)_k, dim3($(nh), (unsigned)T, $(NSPLIT)), $(32 * NW), 0, s, x0, K, V, c->positions, c->seq_index,
                                                                     c->block_tables, layer_off);
    llm_launch($(n.kernel)_comb, dim3($(nh), (unsigned)T), 128, 0, s, y);
}
