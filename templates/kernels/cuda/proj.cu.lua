% -- kernels/cuda/proj.cu.lua: every projection kernel (matmul, matmul_swiglu,
% -- norm_matmul, norm_matmul_swiglu, matmul_add): a GEMV-style kernel with an
% -- optional RMSNorm prologue, SwiGLU epilogue, bias and residual add.
% -- args: the node (op decides the variant).
% local n = args
% local norm = n.op == "norm_matmul" or n.op == "norm_matmul_swiglu"
% local swiglu = n.op == "matmul_swiglu" or n.op == "norm_matmul_swiglu"
% local residual = n.op == "matmul_add"
% local W = norm and n.w[2] or n.w[1]
% local B = norm and n.w[3] or (not norm and n.w[2]) or nil
% local K = W.cols
% local N = swiglu and W.rows // 2 or W.rows
% local dt = W.dtype
% local WK = ({f32 = "LLM_W_F32", bf16 = "LLM_W_BF16", f16 = "LLM_W_F16"})[dt]
% local esz = dt == "f32" and "float" or "uint16_t"
% local epv = dt == "f32" and 4 or 8
% local XS, YS = n.ins[1].stride, n.out_stride
% local RS = residual and n.ins[2].stride or 0
% local vec_ok = (K % epv == 0) and (XS % 4 == 0)
% local rows = n.rows == "T" and "T" or "L"
% local R, WARPS = 2, 4
% local per_block = swiglu and WARPS or R * WARPS
% local wslot = norm and "w1" or "w0"
% local GEMV_MAX = 8 -- rows up to this: one pass of the GEMV (one token tile)
% local bslot = norm and "w2" or "w1"
$(include("kernels/cuda/gemv.cu.lua"))
/* $(n.kernel): $(n.op), K=$(K) N=$(N), weights $(dt)$(B and ", bias f32" or "")$(norm and (", RMSNorm gain f32, eps " .. n.eps) or "")$(residual and ", plus residual" or "").
 * Matches templates/kernels/cpu/$(n.op).c.lua:
% if norm then
 *   y = $(swiglu and "silu(xn Wg^T) * (xn Wu^T)" or "xn W^T" .. (B and " + b" or "")) with xn = g * (x * inv),
 *   inv = 1 / sqrtf((float)(sum x^2 / K) + eps) (sum in double). Here each
 *   warp accumulates sum x^2 while it streams x for its dot products and
 *   computes inv * dot(W, g * x): float32 rounding differs from the cpu
 *   order only.
% elseif residual then
 *   y = r + (x W^T$(B and " + b" or "")), r the residual input (stride $(RS)).
% elseif swiglu then
 *   y = silu(x Wg^T) * (x Wu^T), W = [Wg; Wu].
% else
 *   y = x W^T$(B and " + b" or "").
% end
 * Grid: ceil(N / $(per_block)) blocks of $(32 * WARPS) threads; warp w owns $(swiglu and ("output column w: gate row w and up row " .. N .. "+w") or ("weight rows " .. R .. "w.." .. R .. "w+" .. (R - 1))),
 * streamed once per token tile (4 x 16-byte loads per row in flight per
 * lane); lane partial sums are reduced with shuffles and lanes write
 * distinct outputs. No shared memory: x ([rows][$(XS)] float32) is read
 * through L1, where every warp of the SM finds it. __launch_bounds__(128, 4)
 * matters: without the minimum-blocks hint ptxas interleaves each load with
 * its use (2-3 loads in flight); with it the 8 loads of a step are issued
 * together. Token tiles: TT = 1 (decode) or 8 (prefill; rows > 8 re-read
 * the weights per tile, mostly from L2).
 * PDL: the first weight loads are issued before the wait; dependents are
 * signalled after the last tile's loads.
 * Vector path $(vec_ok and "available (K % " .. epv .. " == 0, x stride % 4 == 0); used when x and W are 16-byte aligned" or "not available for this shape: scalar path"). */
template <int TT, bool VEC>
__global__ void __launch_bounds__($(32 * WARPS), 4) $(n.kernel)_k(const float *x, float *__restrict__ y,
                                                   const void *__restrict__ w, const float *__restrict__ bias,
                                                   const float *__restrict__ g, const float *res,
                                                   int rows) {
    const int lane = threadIdx.x & 31;
% if swiglu then
    const int col = (int)(blockIdx.x * $(WARPS) + (threadIdx.x >> 5));
    if (col >= $(N)) {
        LLM_PDL_ENTER();
        return;
    }
    const void *wr[2] = {(const void *)((const $(esz) *)w + (size_t)col * $(K)),
                         (const void *)((const $(esz) *)w + (size_t)(col + $(N)) * $(K))};
% else
    const int row0 = (int)(blockIdx.x * $(WARPS) + (threadIdx.x >> 5)) * $(R);
    if (row0 >= $(N)) {
        LLM_PDL_ENTER();
        return;
    }
    const void *wr[$(R)];
#pragma unroll
    for (int r = 0; r < $(R); r++) wr[r] = (const void *)((const $(esz) *)w + (size_t)min(row0 + r, $(N - 1)) * $(K));
% end
    if (!VEC) LLM_PDL_ENTER();
    for (int t0 = 0; t0 < rows; t0 += TT) {
        float acc[$(R)][TT];
        double ss[TT];
#pragma unroll
        for (int t = 0; t < TT; t++) {
            ss[t] = 0.0;
#pragma unroll
            for (int r = 0; r < $(R); r++) acc[r][t] = 0.0f;
        }
        const int tn = min(TT, rows - t0);
        const float *xt = x + (size_t)t0 * $(XS);
        if (VEC) llm_gemv_vec<$(WK), $(K), $(XS), $(R), TT, 4, $(norm and "true" or "false")>(wr, xt, g, tn, acc, ss, lane, t0 == 0);
        else llm_gemv_scalar<$(WK), $(K), $(XS), $(R), TT, $(norm and "true" or "false")>(wr, xt, g, tn, acc, ss, lane);
        if (t0 + TT >= rows) LLM_PDL_TRIGGER();
        llm_gemv_reduce<$(R), TT, $(norm and "true" or "false")>(acc, ss);
#pragma unroll
        for (int t = 0; t < TT; t++) {
            if (TT > 1 && t >= tn) break;
% if norm then
            const float inv = 1.0f / sqrtf((float)(ss[t] / $(K)) + $(n.eps));
% end
% if swiglu then
            if (lane == t) {
%   if norm then
                const float gv = acc[0][t] * inv, uv = acc[1][t] * inv;
%   else
                const float gv = acc[0][t], uv = acc[1][t];
%   end
                y[(size_t)(t0 + t) * $(YS) + col] = llm_silu_dev(gv) * uv;
            }
% else
#pragma unroll
            for (int r = 0; r < $(R); r++) {
                if (lane == r * TT + t && row0 + r < $(N)) {
                    float v = acc[r][t]$(norm and " * inv" or "");
%   if B then
                    v += bias[row0 + r];
%   end
%   if residual then
                    v = res[(size_t)(t0 + t) * $(RS) + row0 + r] + v;
%   end
                    y[(size_t)(t0 + t) * $(YS) + row0 + r] = v;
                }
            }
% end
        }
    }
    (void)bias; (void)g; (void)res;
}

% local NW_ = swiglu and 2 * N or N
% local MAXT = spec.program.max_tokens
% local WKN = ({f32 = 0, bf16 = 1, f16 = 2})[dt]
% local split = dt ~= "f32" and spec.program.gemm_input ~= "single" -- hi + lo halves (--gemm-input)
% local xb = n.x_bf16 -- x arrives as bf16 rows (stride K) from the SwiGLU projection before (spec.c bf16_handoff)
% local yb = n.y_bf16 -- this SwiGLU projection writes bf16 rows (stride N) for the projection after it
% local direct = not split and not swiglu and not B and not residual -- the product is y itself
% local fold = not split and dt ~= "f32" and residual and not B -- y = r + X W^T in the product (cuBLASLt)
% local half = not split and dt == "bf16" and swiglu -- the product as bf16 rows: half the bytes for _pe
% local PXV = K % 4 == 0 and XS % 4 == 0 -- _px: float4 loads of x (and of g), 4-wide stores
% local PEV = half and N % 8 == 0 and (yb or YS % 4 == 0) -- _pe: 8 columns per thread, 16-byte loads
/* Many tokens (rows > $(GEMV_MAX)): the tensor-core path (runtime/gpu/gemm.h).
% if xb then
 * x arrives as bf16 rows (stride $(K)): the SwiGLU projection before this one
 * rounded its output to bf16 as _px would have (spec.c bf16_handoff), so no
 * _px runs here.
% else
 * $(n.kernel)_px, one block of 256 threads per row: $(norm and "RMSNorm as the cpu template computes it (double sum of squares, then g * (x * inv)), then " or "")$(dt == "f32" and "the float32 row into scratch" or split and ("the row split into two " .. dt .. " rows, hi = round(x) and lo = round(x - hi), rows r and rows + r of scratch, so the product keeps ~16 bits of each activation") or ("the row rounded to " .. dt .. " (--gemm-input single)"));
 * $(PXV and "16-byte loads where x (and g) are 16-byte aligned (VEC), else one element per thread" or "one element per thread (K or the x stride is not a multiple of 4)").
% end
 * cuBLAS C[$(split and "2 rows" or "rows")][$(NW_)] = X W^T (float32) into scratch after the
 * $(MAXT) x $(K) x 4 bytes of X; $(direct and "here (one half, no bias, residual or SwiGLU) cuBLAS writes y directly and no epilogue runs" or fold and "here (one half, a residual, no bias) cuBLASLt writes y = r + X W^T in the product and no epilogue runs" or half and (n.kernel .. "_pe applies SwiGLU to the product, which cuBLAS wrote as bf16 rows (rounded to nearest even; --gemm-input single already rounds X to bf16)" .. (PEV and ", 8 columns per thread (16-byte loads) where y is 16-byte aligned" or "")) or (n.kernel .. "_pe adds the halves and applies " .. (swiglu and "SwiGLU" or "") .. (B and " bias" or "") .. (residual and " residual" or "") .. ((not swiglu and not B and not residual) and "nothing else" or ""))).
% if yb then
 * y is written as bf16 rows of stride $(N) (round to nearest even): the next
 * projection's x, which it would round the same way (spec.c bf16_handoff).
% end
 * Scratch: ir_scratch_row_bytes = K x 4 + 2 x $(NW_) x 4 per row. */
% if not xb then
template <bool VEC>
__global__ void __launch_bounds__(256) $(n.kernel)_px(const float *x, const float *__restrict__ g, void *xs, int rows) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int r = blockIdx.x;
    const float *xr = x + (size_t)r * $(XS);
% if norm then
    __shared__ double part[8];
    __shared__ float inv_s;
    double ss = 0.0;
%   if PXV then
    if (VEC) {
        for (int c = threadIdx.x * 4; c < $(K); c += 1024) {
            const float4 v = *(const float4 *)(xr + c);
            ss += (double)v.x * (double)v.x + (double)v.y * (double)v.y + (double)v.z * (double)v.z +
                  (double)v.w * (double)v.w;
        }
    } else
%   end
        for (int c = threadIdx.x; c < $(K); c += 256) ss += (double)xr[c] * (double)xr[c];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        double tot = 0.0;
        for (int i = 0; i < 8; i++) tot += part[i];
        inv_s = 1.0f / sqrtf((float)(tot / $(K)) + $(n.eps));
    }
    __syncthreads();
    const float inv = inv_s;
% end
% if PXV then
    if (VEC) {
        for (int c = threadIdx.x * 4; c < $(K); c += 1024) {
            float4 v = *(const float4 *)(xr + c);
%   if norm then
            const float4 gg = *(const float4 *)(g + c);
            v.x = gg.x * (v.x * inv);
            v.y = gg.y * (v.y * inv);
            v.z = gg.z * (v.z * inv);
            v.w = gg.w * (v.w * inv);
%   end
%   if dt == "f32" then
            *(float4 *)((float *)xs + (size_t)r * $(K) + c) = v;
%   else
%     local CV = dt == "bf16" and "__float2bfloat16_rn" or "__float2half_rn"
%     local BK = dt == "bf16" and "__bfloat162float" or "__half2float"
%     local ET = dt == "bf16" and "__nv_bfloat16" or "__half"
%     local AS = dt == "bf16" and "__bfloat16_as_ushort" or "__half_as_ushort"
            const $(ET) h0 = $(CV)(v.x), h1 = $(CV)(v.y), h2 = $(CV)(v.z), h3 = $(CV)(v.w);
            uint2 hv;
            hv.x = (uint32_t)$(AS)(h0) | ((uint32_t)$(AS)(h1) << 16);
            hv.y = (uint32_t)$(AS)(h2) | ((uint32_t)$(AS)(h3) << 16);
            *(uint2 *)(($(ET) *)xs + (size_t)r * $(K) + c) = hv;
%     if split then
            uint2 lv;
            lv.x = (uint32_t)$(AS)($(CV)(v.x - $(BK)(h0))) | ((uint32_t)$(AS)($(CV)(v.y - $(BK)(h1))) << 16);
            lv.y = (uint32_t)$(AS)($(CV)(v.z - $(BK)(h2))) | ((uint32_t)$(AS)($(CV)(v.w - $(BK)(h3))) << 16);
            *(uint2 *)(($(ET) *)xs + (size_t)(rows + r) * $(K) + c) = lv;
%     end
%   end
        }
    } else
% end
    for (int c = threadIdx.x; c < $(K); c += 256) {
        const float v = $(norm and "g[c] * (xr[c] * inv)" or "xr[c]");
% if dt == "f32" then
        ((float *)xs)[(size_t)r * $(K) + c] = v;
% elseif dt == "bf16" then
        const __nv_bfloat16 hi = __float2bfloat16_rn(v);
        ((__nv_bfloat16 *)xs)[(size_t)r * $(K) + c] = hi;
%   if split then
        ((__nv_bfloat16 *)xs)[(size_t)(rows + r) * $(K) + c] = __float2bfloat16_rn(v - __bfloat162float(hi));
%   end
% else
        const __half hi = __float2half_rn(v);
        ((__half *)xs)[(size_t)r * $(K) + c] = hi;
%   if split then
        ((__half *)xs)[(size_t)(rows + r) * $(K) + c] = __float2half_rn(v - __half2float(hi));
%   end
% end
    }
    (void)g;
}
% end

% local CMT = half and "uint16_t" or "float"
% if PEV then
/* SwiGLU of 8 columns per thread: 16-byte loads of the gate and up halves. */
__global__ void __launch_bounds__(256) $(n.kernel)_pv(const uint16_t *__restrict__ cm, float *__restrict__ y) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int t = blockIdx.y, col = (blockIdx.x * 256 + threadIdx.x) * 8;
    if (col >= $(N)) return;
    const uint16_t *c0 = cm + (size_t)t * $(NW_);
    const uint4 gq = *(const uint4 *)(c0 + col), uq = *(const uint4 *)(c0 + $(N) + col);
    const uint32_t gw[4] = {gq.x, gq.y, gq.z, gq.w}, uw[4] = {uq.x, uq.y, uq.z, uq.w};
    float v[8];
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float2 gg = llm_w_pair<LLM_W_BF16>(gw[i]), uu = llm_w_pair<LLM_W_BF16>(uw[i]);
        v[2 * i] = llm_silu_dev(gg.x) * uu.x;
        v[2 * i + 1] = llm_silu_dev(gg.y) * uu.y;
    }
%   if yb then
    *(uint4 *)((uint16_t *)y + (size_t)t * $(N) + col) =
        make_uint4(llm_bf16x2(v[0], v[1]), llm_bf16x2(v[2], v[3]), llm_bf16x2(v[4], v[5]), llm_bf16x2(v[6], v[7]));
%   else
    float *yr = y + (size_t)t * $(YS) + col;
    *(float4 *)yr = make_float4(v[0], v[1], v[2], v[3]);
    *(float4 *)(yr + 4) = make_float4(v[4], v[5], v[6], v[7]);
%   end
}
% end

__global__ void __launch_bounds__(256) $(n.kernel)_pe(const $(CMT) *__restrict__ cm, float *__restrict__ y,
                                                     const float *__restrict__ bias, const float *res, int rows) {
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int t = blockIdx.y, col = blockIdx.x * 256 + threadIdx.x;
    if (col >= $(N)) return;
    const $(CMT) *c0 = cm + (size_t)t * $(NW_);
% if half then
#define $(n.kernel)_C(j) (llm_bf16_to_f32(c0[j]))
% elseif not split then
#define $(n.kernel)_C(j) (c0[j])
% else
    const float *c1 = cm + (size_t)(rows + t) * $(NW_);
#define $(n.kernel)_C(j) (c0[j] + c1[j])
% end
% if swiglu and yb then
    ((__nv_bfloat16 *)y)[(size_t)t * $(N) + col] =
        __float2bfloat16_rn(llm_silu_dev($(n.kernel)_C(col)) * $(n.kernel)_C($(N) + col));
% elseif swiglu then
    y[(size_t)t * $(YS) + col] = llm_silu_dev($(n.kernel)_C(col)) * $(n.kernel)_C($(N) + col);
% else
    float v = $(n.kernel)_C(col);
%   if B then
    v += bias[col];
%   end
%   if residual then
    v = res[(size_t)t * $(RS) + col] + v;
%   end
    y[(size_t)t * $(YS) + col] = v;
% end
#undef $(n.kernel)_C
    (void)bias; (void)res; (void)rows;
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)T; (void)L; (void)layer; (void)x1; (void)x2; (void)w0; (void)w1; (void)w2; (void)scratch;
    const int rows = $(rows);
    if (rows <= 0) return;
    cudaStream_t s = (cudaStream_t)c->stream;
    const unsigned grid = llm_cdiv($(N), $(per_block));
    const void *w = $(wslot);
    const float *bias = $(B and ("(const float *)" .. bslot) or "NULL");
    const float *g = $(norm and "(const float *)w0" or "NULL");
    const float *res = $(residual and "x1" or "NULL");
    if (rows > $(GEMV_MAX)) {
% if xb then
        const void *xg = (const void *)x0; /* bf16 rows from the SwiGLU projection before */
%   if not direct and not fold then
        uint8_t *xs = (uint8_t *)scratch;
%   end
% else
        uint8_t *xs = (uint8_t *)scratch;
        const void *xg = (const void *)xs;
%   if PXV then
        if (llm_aligned16(x0, g) && llm_aligned16(xs, xs))
            llm_launch($(n.kernel)_px<true>, (unsigned)rows, 256, 0, s, x0, g, (void *)xs, rows);
        else
%   end
            llm_launch($(n.kernel)_px<false>, (unsigned)rows, 256, 0, s, x0, g, (void *)xs, rows);
% end
% if direct then
        (void)bias; (void)res; /* one half, nothing to add: the product is y */
        llm_gpu_gemm(c, $(WKN), w, $(NW_), $(K), xg, $(K), rows, y, $(n.out_stride));
% elseif fold then
        (void)bias; /* one half and a residual: y = r + X W^T in the product */
        llm_gpu_gemm_ex(c, $(WKN), w, $(NW_), $(K), xg, $(K), rows, y, $(n.out_stride), LLM_GEMM_OUT_F32, res, $(RS));
% else
        $(CMT) *cm = ($(CMT) *)(xs + (size_t)$(MAXT) * $(K) * 4);
        llm_gpu_gemm_ex(c, $(WKN), w, $(NW_), $(K), xg, $(K), $(split and "2 * rows" or "rows"), cm, $(NW_),
                        $(half and "LLM_GEMM_OUT_BF16" or "LLM_GEMM_OUT_F32"), NULL, 0);
%   if PEV then
        if (llm_aligned16(y, cm)) {
            (void)bias; (void)res;
            llm_launch($(n.kernel)_pv, dim3(llm_cdiv($(N // 8), 256), (unsigned)rows), 256, 0, s, (const uint16_t *)cm, y);
            return;
        }
%   end
        llm_launch($(n.kernel)_pe, dim3(llm_cdiv($(N), 256), (unsigned)rows), 256, 0, s, (const $(CMT) *)cm, y, bias,
                   res, rows);
% end
        return;
    }
% if vec_ok then
    if (llm_aligned16(x0, w)$(norm and " && llm_aligned16(g, g)" or "")) {
        if (rows == 1) llm_launch($(n.kernel)_k<1, true>, grid, $(32 * WARPS), 0, s, x0, y, w, bias, g, res, rows);
        else llm_launch($(n.kernel)_k<8, true>, grid, $(32 * WARPS), 0, s, x0, y, w, bias, g, res, rows);
        return;
    }
% end
    if (rows == 1) llm_launch($(n.kernel)_k<1, false>, grid, $(32 * WARPS), 0, s, x0, y, w, bias, g, res, rows);
    else llm_launch($(n.kernel)_k<8, false>, grid, $(32 * WARPS), 0, s, x0, y, w, bias, g, res, rows);
}
