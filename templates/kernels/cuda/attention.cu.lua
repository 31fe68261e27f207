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
% local kvbf = P.kv_dtype == "bf16"
% local KT = kvbf and "uint16_t" or "float"
$(include("kernels/cuda/common.cu.lua"))
% local MINLEN = 32 * NW
% local GROUP_MIN_T = 8 -- from this many tokens per step the grouped blocks win (lab, H100)
% -- The staged grouped kernel (_kg, batches of GROUP_MIN_T tokens or more): each
% -- warp copies its chunk's 32 K and V rows into shared memory with cp.async
% -- (16-byte units, every load of the chunk in flight at once), then scores and
% -- accumulates from shared memory. Needs rows of whole 16-byte units.
% local ESZ = kvbf and 2 or 4
% local ROWB = hd * ESZ
% local STAGED = kvbf and hd % 8 == 0 and G <= 8 -- float32 rows need twice the shared memory: one
% -- warp per block, which lost to _k<G> in the lab (104 vs 52 us, 64 tokens)
% local UPR = ROWB // 16                  -- 16-byte units per cache row
% local RSTR = (ROWB + 16) // 4           -- staged row stride in 32-bit words: one 16-byte pad keeps
% --                                         the lanes' 16-byte reads of 32 different rows conflict-free
% local NGRP = hd // 4                    -- 4-dimension groups of a row (P.V: lane owns groups lane + 32 i)
% local GPL = (NGRP + 31) // 32
% local TILED = STAGED and hd % 16 == 0 and hd <= 128 -- tensor cores (_kg's products, _kt); see below
% -- per warp: staged K and V rows, their pointers, (m, l, o) for the merge; the scalar
% -- products also keep the probabilities of a chunk, and the block q, in shared memory
% local PERWARP = 2 * 32 * RSTR * 4 + 2 * 32 * 8 + G * hd * 4 + 8 * G + (TILED and 0 or 32 * G * 4)
% local NWG = math.max(1, math.min(4, (47 * 1024 - (TILED and 0 or G * hd * 4) - 64) // PERWARP))
% local NSPLIT_G = 4                      -- splits of a token's positions (at most)
% local MINLEN_G = 256                    -- positions per split (at least)
% local VECIN = n.ins[2].stride % 4 == 0 and n.ins[3].stride % 4 == 0 -- own rows by float4 loads
% -- Query tiles (_kt) and _kg's products on the tensor cores (TILED, above): needs the
% -- staged kernel's layout, head dims in whole k-steps of 16, and at most 128 (registers).
% local TQ = math.max(1, 64 // G)         -- tokens per tile: at most 64 query rows
% local NWT = (TQ * G + 15) // 16         -- warps of 16 query rows
% local NK = 64                           -- positions per staged chunk
% -- staged rows as the staged kernel's (RSTR words: the 16-byte pad also keeps fragment
% -- loads and ldmatrix rows conflict-free)
% local KK = hd // 16                     -- k-steps of Q K^T
% local ONT = hd // 8                     -- n-tiles of P V
/* $(n.kernel): attention, $(nh) query heads, $(nkv) KV heads (group $(G)), head_dim $(hd),
 * KV blocks of $(P.block_size) tokens, $(P.max_blocks_per_seq) blocks per sequence; matches
 * templates/kernels/cpu/attention.c.lua (KV pool layout
 * [layer][block][slot][kv_head][dim], $(kvbf and "bf16 (--kv-dtype bf16; rounded to nearest even when written, and the step's own K/V read from the inputs are rounded the same way)" or "float32"), scale 1/sqrtf($(hd))).
 * One launch, grid (KV heads $(nkv), T, $(NSPLIT) splits) of $(32 * NW) threads ("flash
 * decoding" with the split merge done in the same kernel); a block serves the
 * $(G) query heads of its KV head when the step has $(GROUP_MIN_T) or more tokens, so each K
 * and V row is read once per group (fewer tokens: one block per query head,
 * GG = 1, which keeps more blocks in flight for a single sequence):
 *  - K/V of the step's own tokens: block (kvh, t, 0) copies K and V of token t,
 *    KV head kvh, into the cache slot (block_tables[seq][pos / $(P.block_size)],
 *    pos % $(P.block_size)). No block of this launch reads those slots: a position
 *    that belongs to the step (row r = t - (pos_t - j) of the same sequence at
 *    position j) is read from the k and v inputs instead, so the copy and the
 *    reads need no ordering.$(TILED and " (In _kg a decode token's row is stored instead by the warp that stages\n *    position pos_t, from shared memory after its conversion; prompt-chunk tokens by block (kvh, t, 0).)" or "")
 *  - Split s of token t takes positions [s*len, (s+1)*len) of 0..positions[t],
 *    len = max($(MINLEN), ceil((pos+1)/$(NSPLIT)) rounded up to 32); splits past the end exit
 *    at once. Warp w of the block takes chunks of 32 positions: lane l scores
 *    one position against the $(G) query vectors (shared memory; its K row read
 *    $(vec4 and "4 elements at a time" or "element by element")), the warp keeps an online softmax per query head
 *    (running max, sum, $(DPL) output dims per lane and head) and accumulates
 *    p_j v_j from coalesced V rows, each V element loaded once for the $(G)
 *    heads; the block merges its warps.
 *  - One split (positions <= $(MINLEN)): the block writes y. Several: each
 *    writes (m, l, o[$(hd)]) per query head to $(n.kernel)_part, then counts
 *    itself in $(n.kernel)_done[t][kvh] (atomicAdd after a fence); the last to
 *    arrive merges the partials (float32, max-rescaled, read past L1), writes
 *    y and resets the counter to 0 for the next launch.
 * No per-position storage: any context length; causal by position (each
 * token attends 0..positions[t] of its own sequence), so T > 1 prefill works.
 * Precondition: T <= $(MAXT) (spec.program.max_tokens), and the tokens of one
 * sequence in a step have consecutive positions in order (how every batch is
 * built); partials live in a static __device__ array of $(MAXT) x $(nh) x $(NSPLIT) x $(PART)
 * floats ($(MAXT * nh * NSPLIT * PART * 4) bytes).
 * Shared memory: q [$(G)][$(hd)] + per-warp (m, l, o)[$(G)] = $((G * hd + NW * G * (hd + 2)) * 4) bytes.
% if STAGED then
 * Batches of $(GROUP_MIN_T) or more tokens run $(n.kernel)_kg instead: grid ($(nkv), T, $(NSPLIT_G)) blocks
 * of $(NWG) warps, one per KV head and its $(G) query heads, at most $(NSPLIT_G) splits of at least
 * $(MINLEN_G) positions (fewer, longer blocks: a decode batch of short contexts is one block per
 * token and KV head). A warp takes 32 positions at a time: it copies their K and V
 * rows ($(ROWB) bytes each) into shared memory with cp.async, all $(2 * UPR) x 32 16-byte
 * units in flight at once (rows of the step's own tokens come from the k and v inputs,
 * converted as the cache would hold them, after the copies are issued), then
% if TILED then
 * computes S = Q K^T and P V for the chunk on the tensor cores (mma.sync m16n8k16,
 * float32 accumulators): the $(G) query heads are A rows 0..$(G - 1) as bf16 (hi) and rows
 * 8..$(8 + G - 1) as the remainder bf16(q - hi) (lo), so one product per fragment covers both
 * halves (rows r and r + 8 are held by the same thread and summed there); P enters P V
 * the same way. Precision as _kt's hi + lo pairs (below), at the cost of a plain bf16 product.
% else
 * lane l scores position l against the
 * $(G) query vectors from shared memory, and the P.V products read each staged V row
 * once, lane l owning dimensions 4l .. 4l+3$(GPL > 1 and " (and every 128th after)" or "").
% end
 * Shared memory $(NWG * PERWARP + (TILED and 0 or G * hd * 4)) bytes.
% end
% if TILED then
 * Tokens of prompt chunks ("run" tokens: the token before or after belongs to the same
 * sequence) are $(n.kernel)_kt's, launched after $(n.kernel)_kg, whose blocks for them only
 * store K/V: grid ($(nkv), ceil(T / $(TQ))) blocks of $(NWT) warps, one per KV head and
 * $(TQ) consecutive tokens ($(TQ * G) query rows, on the tensor cores: mma.sync
 * m16n8k16, bf16 inputs, float32 accumulators). The tile's run tokens of one sequence
 * share each staged chunk of $(NK) K and V rows (the staged kernel stages them once per
 * token). Precision: q and the probabilities P enter the products as a hi + lo pair
 * of bf16 (16 mantissa bits), K and V are the cache's bf16, sums are float32, so
 * the result stays within float32 dot-product error of the other kernels.
% end
 */
__device__ float $(n.kernel)_part[$(MAXT * nh * NSPLIT * PART)];
__device__ unsigned int $(n.kernel)_done[$(MAXT * nh)];

/* Element offset of the cache row of position j, KV head kvh, in block blk (its block-table entry). */
__device__ __forceinline__ size_t $(n.kernel)_slot(int32_t blk, int j, int kvh, size_t layer_off) {
    return layer_off + ((size_t)blk * $(P.block_size) + (size_t)(j % $(P.block_size))) * $(kvdim) + (size_t)kvh * $(hd);
}

/* The tagged pointers to K/V of KV head kvh in input row r of the step. */
__device__ __forceinline__ void $(n.kernel)_own(int r, int kvh, const float *kin, const float *vin,
                                               unsigned long long *kp, unsigned long long *vp) {
    *kp = (unsigned long long)(kin + (size_t)r * $(n.ins[2].stride) + (size_t)kvh * $(hd)) | 1ull;
    *vp = (unsigned long long)(vin + (size_t)r * $(n.ins[3].stride) + (size_t)kvh * $(hd)) | 1ull;
}

/* Where K/V of position j of token t's sequence is: an input row of this
 * step (float32 pointers into kin and vin, tagged with bit 0) or the cache
 * ($(KT) rows). */
__device__ __forceinline__ void $(n.kernel)_row(int t, int pos_t, int seq_t, int j, int kvh,
                                               const float *kin, const float *vin,
                                               const $(KT) *__restrict__ K, const $(KT) *__restrict__ V,
                                               const int32_t *__restrict__ positions,
                                               const int32_t *__restrict__ seq_index,
                                               const int32_t *__restrict__ bt, size_t layer_off,
                                               unsigned long long *kp, unsigned long long *vp) {
    const int r = t - (pos_t - j);
    if (r >= 0 && positions[r] == j && seq_index[r] == seq_t) {
        $(n.kernel)_own(r, kvh, kin, vin, kp, vp);
        return;
    }
    const size_t off = $(n.kernel)_slot(bt[j / $(P.block_size)], j, kvh, layer_off);
    *kp = (unsigned long long)(K + off);
    *vp = (unsigned long long)(V + off);
}

/* Element c of a tagged row: a step input (float32$(kvbf and ", rounded to bf16 as the cache would hold it" or "")) or
 * a cache row ($(KT)). */
__device__ __forceinline__ float $(n.kernel)_kv(unsigned long long p, int c) {
% if kvbf then
    if (p & 1ull) return __bfloat162float(__float2bfloat16_rn(((const float *)(p & ~1ull))[c]));
    return llm_bf16_to_f32(((const uint16_t *)p)[c]);
% else
    return ((const float *)(p & ~1ull))[c];
% end
}

/* The step's own K and V of token t (cache position pos_t), KV head kvh, into
 * the cache, by the threads of one block. */
__device__ __forceinline__ void $(n.kernel)_store(int t, int pos_t, int kvh, const int32_t *__restrict__ bt,
                                                 const float *kin, const float *vin, $(KT) *__restrict__ K,
                                                 $(KT) *__restrict__ V, size_t layer_off) {
    const size_t at = $(n.kernel)_slot(bt[pos_t / $(P.block_size)], pos_t, kvh, layer_off);
    for (int i = threadIdx.x; i < $(hd); i += blockDim.x) {
% if kvbf then
        K[at + i] = __bfloat16_as_ushort(__float2bfloat16_rn(kin[(size_t)t * $(n.ins[2].stride) + (size_t)kvh * $(hd) + i]));
        V[at + i] = __bfloat16_as_ushort(__float2bfloat16_rn(vin[(size_t)t * $(n.ins[3].stride) + (size_t)kvh * $(hd) + i]));
% else
        K[at + i] = kin[(size_t)t * $(n.ins[2].stride) + (size_t)kvh * $(hd) + i];
        V[at + i] = vin[(size_t)t * $(n.ins[3].stride) + (size_t)kvh * $(hd) + i];
% end
    }
}

/* The end of a block: merges its NWX warps' (m, l, o) for query heads
 * h0 .. h0+GG-1 of token t; one split writes y, several write partials and
 * the last to arrive merges them (see the header). */
template <int GG, int NWX>
__device__ __forceinline__ void $(n.kernel)_finish(const float (*wm)[GG], const float (*wl)[GG],
                                                  const float (*wo)[GG][$(hd)], int t, int h0, int sp,
                                                  int nsplit, float *__restrict__ y, bool *last_s) {
    float *part = $(n.kernel)_part + (size_t)(t * $(nh) + h0) * $(NSPLIT) * $(PART);
    for (int gd = threadIdx.x; gd < GG * $(hd); gd += blockDim.x) {
        const int g = gd / $(hd), d = gd % $(hd);
        float M = -INFINITY;
        for (int w = 0; w < NWX; w++) M = fmaxf(M, wm[w][g]); /* finite: warp 0 has positions */
        float Ls = 0.0f, acc = 0.0f;
        for (int w = 0; w < NWX; w++) {
            if (wm[w][g] == -INFINITY) continue;
            const float f = expf(wm[w][g] - M);
            Ls += wl[w][g] * f;
            acc += wo[w][g][d] * f;
        }
        if (nsplit == 1) {
            y[(size_t)t * $(n.out_stride) + (size_t)(h0 + g) * $(hd) + d] = acc / Ls;
        } else {
            float *pp = part + (size_t)g * $(NSPLIT * PART) + (size_t)sp * $(PART);
            pp[2 + d] = acc;
            if (d == 0) {
                pp[0] = M;
                pp[1] = Ls;
            }
        }
    }
    if (nsplit == 1) return;
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        unsigned int *done = &$(n.kernel)_done[t * $(nh) + h0];
        *last_s = atomicAdd(done, 1u) == (unsigned)(nsplit - 1);
        if (*last_s) *done = 0u; /* every split has counted: reset for the next launch */
    }
    __syncthreads();
    if (!*last_s) return;
    __threadfence();
    for (int gd = threadIdx.x; gd < GG * $(hd); gd += blockDim.x) {
        const int g = gd / $(hd), d = gd % $(hd);
        const float *pg = part + (size_t)g * $(NSPLIT * PART);
        float MM = -INFINITY;
        for (int s2 = 0; s2 < nsplit; s2++) MM = fmaxf(MM, __ldcg(pg + s2 * $(PART)));
        float LL = 0.0f, acc = 0.0f;
        for (int s2 = 0; s2 < nsplit; s2++) {
            const float f = expf(__ldcg(pg + s2 * $(PART)) - MM);
            LL += __ldcg(pg + s2 * $(PART) + 1) * f;
            acc += __ldcg(pg + s2 * $(PART) + 2 + d) * f;
        }
        y[(size_t)t * $(n.out_stride) + (size_t)(h0 + g) * $(hd) + d] = acc / LL;
    }
}

% if STAGED then
__device__ __forceinline__ void $(n.kernel)_cp16(void *dst, const void *src) {
    const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(d), "l"(src) : "memory");
}

/* 8 floats of a step's own K or V row into one staged 16-byte unit, rounded to bf16 as
 * the cache holds them ($(VECIN and "two 16-byte loads: the k and v strides are multiples of 4 floats" or "element loads: a k or v stride is not a multiple of 4 floats")). */
__device__ __forceinline__ void $(n.kernel)_cvt8(uint32_t *dst, const float *src) {
% if VECIN then
    const float4 a = *(const float4 *)src, b = *(const float4 *)(src + 4);
    const float f[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
% else
    float f[8];
#pragma unroll
    for (int e = 0; e < 8; e++) f[e] = src[e];
% end
    *(uint4 *)dst = make_uint4(llm_bf16x2(f[0], f[1]), llm_bf16x2(f[2], f[3]), llm_bf16x2(f[4], f[5]), llm_bf16x2(f[6], f[7]));
}

/* Stages this warp's rows row0 .. row0 + NR - 1 of a chunk (NR = 32 or 16); lane r < NR holds
 * the tagged pointers kt, vt of row row0 + r (see $(n.kernel)_row). Cache rows: every 16-byte unit
 * by cp.async, consecutive lanes on consecutive units of a row (pointers by shuffle), K rows
 * one commit group and V rows a second (the scores start when K has landed: wait_group 1).
 * Rows from nj on get V zeros (P is 0 there, and 0 x NaN would not be; their K is never
 * used). Rows of the step's own tokens (tag bit 0) are the chunk's last ones (a sequence's
 * step tokens are its last positions): the warp converts its share of them, 16-byte unit by
 * unit, from input row t_last - (p_last - j) for position j = c0 + row (recomputed rather than
 * shuffled from the tagged pointers: two shuffles a unit made a 1,024-token prompt 190.7 ->
 * 256 us, lab H100). Those and the zeros are plain stores: the caller syncs its stagers
 * after its waits. */
template <int NR>
__device__ __forceinline__ void $(n.kernel)_stage_chunk(uint32_t (*sk)[$(RSTR)], uint32_t (*sv)[$(RSTR)], int row0,
                                                       unsigned long long kt, unsigned long long vt, int nj, int c0,
                                                       int t_last, int p_last, int kvh, const float *kin,
                                                       const float *vin, int lane) {
    static_assert(NR == 16 || NR == 32, "a warp stages 16 or 32 rows");
    if (lane < NR && row0 + lane >= nj) {
#pragma unroll
        for (int u = 0; u < $(UPR); u++) *(uint4 *)(sv[row0 + lane] + 4 * u) = make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int kv = 0; kv < 2; kv++) {
#pragma unroll
        for (int i = 0; i < (NR * $(UPR) + 31) / 32; i++) {
            const int k = lane + 32 * i, r = min(k / $(UPR), NR - 1), u = k % $(UPR);
            const unsigned long long p = __shfl_sync(0xffffffffu, kv ? vt : kt, r);
            if (k < NR * $(UPR) && row0 + r < nj && !(p & 1ull))
                $(n.kernel)_cp16((kv ? sv : sk)[row0 + r] + 4 * u, (const char *)p + (size_t)u * 16);
        }
        asm volatile("cp.async.commit_group;\n" ::: "memory");
    }
    const unsigned own = __ballot_sync(0xffffffffu, lane < NR && row0 + lane < nj && (kt & 1ull));
    if (own == 0u) return;
    const int lo = row0 + __ffs(own) - 1, n_own = __popc(own); /* rows lo .. lo + n_own - 1 */
    for (int idx = lane; idx < n_own * $(2 * UPR); idx += 32) {
        const int rr = lo + idx / $(2 * UPR), kv = (idx / $(UPR)) & 1, u = idx % $(UPR);
        const int r = t_last - (p_last - (c0 + rr));
        const float *src = kv ? vin + (size_t)r * $(n.ins[3].stride) : kin + (size_t)r * $(n.ins[2].stride);
        $(n.kernel)_cvt8((kv ? sv[rr] : sk[rr]) + 4 * u, src + (size_t)kvh * $(hd) + u * 8);
    }
}
% if TILED then

/* Token t of a T-token step belongs to a prompt chunk ("run"): the token before or
 * after it is of the same sequence. Run tokens are $(n.kernel)_kt's, the others _kg's. */
__device__ __forceinline__ bool $(n.kernel)_is_run(const int32_t *__restrict__ seq_index, int t, int T) {
    const int s = seq_index[t];
    return (t > 0 && seq_index[t - 1] == s) || (t + 1 < T && seq_index[t + 1] == s);
}

/* Tensor-core helpers of $(n.kernel)_kt and _kg: a float pair split into hi = bf16(x), lo = bf16(x - hi),
 * so hi + lo carries 16 of float32's 24 mantissa bits into the bf16 products. */
__device__ __forceinline__ void $(n.kernel)_split(float a, float b, uint32_t *hi, uint32_t *lo) {
    const float ah = __bfloat162float(__float2bfloat16_rn(a)), bh = __bfloat162float(__float2bfloat16_rn(b));
    *hi = llm_bf16x2(ah, bh); /* exact: already bf16 values */
    *lo = llm_bf16x2(a - ah, b - bh);
}
/* c += A(16x16, bf16, row) B(16x8, bf16, col), float32 accumulators. */
__device__ __forceinline__ void $(n.kernel)_mma(float *c, const uint32_t *a, uint32_t b0, uint32_t b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* s[nt] += A K^T for NT n-tiles of 8 staged K rows (rows 8 nt .. 8 nt + 7 of sk) over every
 * k-step of the head dims (A: a[kk]); with LO a second A (alo, the lo halves of hi + lo
 * pairs) right after the first, for each accumulator. */
template <int NT, bool LO>
__device__ __forceinline__ void $(n.kernel)_qk(float (*s)[4], const uint32_t (*a)[4], const uint32_t (*alo)[4],
                                              const uint32_t (*sk)[$(RSTR)], int qr, int qc) {
#pragma unroll
    for (int kk = 0; kk < $(KK); kk++) /* NT independent accumulators per k-step */
#pragma unroll
        for (int nt = 0; nt < NT; nt++) {
            const uint32_t b0 = sk[nt * 8 + qr][kk * 8 + qc], b1 = sk[nt * 8 + qr][kk * 8 + 4 + qc];
            $(n.kernel)_mma(s[nt], a[kk], b0, b1);
            if (LO) $(n.kernel)_mma(s[nt], alo[kk], b0, b1);
        }
}

/* o[nt] += A V for k-step k2 (staged V rows 16 k2 .. 16 k2 + 15, B fragments by
 * ldmatrix.trans) over every n-tile of the head dims; with LO a second A (alo) right after
 * the first, for each accumulator. */
template <bool LO>
__device__ __forceinline__ void $(n.kernel)_pv(float (*o)[4], const uint32_t *a, const uint32_t *alo,
                                              const uint32_t (*sv)[$(RSTR)], int k2, int lane) {
    const uint32_t *vrow = &sv[k2 * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)][(lane >> 4) * 4];
#pragma unroll
    for (int np = 0; np < $(ONT // 2); np++) {
        uint32_t b[4];
        const unsigned addr = (unsigned)__cvta_generic_to_shared(vrow + np * 8);
        asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                     : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3]) : "r"(addr));
        $(n.kernel)_mma(o[2 * np], a, b[0], b[1]);
        if (LO) $(n.kernel)_mma(o[2 * np], alo, b[0], b[1]);
        $(n.kernel)_mma(o[2 * np + 1], a, b[2], b[3]);
        if (LO) $(n.kernel)_mma(o[2 * np + 1], alo, b[2], b[3]);
    }
}
% end

__global__ void __launch_bounds__($(32 * NWG)) $(n.kernel)_kg(const float *q, const float *kin,
                                                      const float *vin, float *__restrict__ y,
                                                      $(KT) *__restrict__ K, $(KT) *__restrict__ V,
                                                      const int32_t *__restrict__ positions,
                                                      const int32_t *__restrict__ seq_index,
                                                      const int32_t *__restrict__ block_tables, size_t layer_off) {
% if not TILED then
    __shared__ __align__(16) float qs[$(G)][$(hd)];
    __shared__ float spr[$(NWG)][32][$(G)];
% end
    __shared__ __align__(16) uint32_t sk[$(NWG)][32][$(RSTR)];
    __shared__ __align__(16) uint32_t sv[$(NWG)][32][$(RSTR)];
    __shared__ float wm[$(NWG)][$(G)], wl[$(NWG)][$(G)];
    __shared__ __align__(16) float wo[$(NWG)][$(G)][$(hd)];
    __shared__ bool last_s;
    const int kvh = blockIdx.x, h0 = kvh * $(G), t = blockIdx.y, sp = blockIdx.z;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    LLM_PDL_ENTER();
    const int pos_t = positions[t], seq_t = seq_index[t], npos = pos_t + 1;
    const int len = max($(MINLEN_G), ((npos + $(NSPLIT_G - 1)) / $(NSPLIT_G) + 31) & ~31);
    const int nsplit = (npos + len - 1) / len;
    if (sp >= nsplit) return;
    LLM_PDL_TRIGGER();
    const int32_t *bt = block_tables + (size_t)seq_t * $(P.max_blocks_per_seq);
% if TILED then
    if ($(n.kernel)_is_run(seq_index, t, (int)gridDim.y)) { /* a token of a prompt chunk: _kt's */
        if (sp == 0) $(n.kernel)_store(t, pos_t, kvh, bt, kin, vin, K, V, layer_off); /* its K/V into the cache */
        return;
    }
    /* a decode token: the warp that stages its own row (position pos_t, the last) stores it */
    const size_t own_off = $(n.kernel)_slot(bt[pos_t / $(P.block_size)], pos_t, kvh, layer_off);
% else
    if (sp == 0) { /* this token's K/V of this KV head into the cache */
        $(n.kernel)_store(t, pos_t, kvh, bt, kin, vin, K, V, layer_off);
    }
% end
    const int j0 = sp * len, j1 = min(npos, j0 + len);
% if TILED then
    /* On the tensor cores (mma.sync m16n8k16): the $(G) query heads are rows 0..$(G - 1) of the
     * A operand as bf16 (hi) and rows 8..$(8 + G - 1) as the remainder bf16(q - hi) (lo), so
     * one product gives both halves (the sum of fragment rows r and r + 8, both held by
     * the same thread); P enters P V the same way. Rows past the group are zero. */
    const int qr = lane >> 2, qc = lane & 3;
    uint32_t qa[$(KK)][4];
#pragma unroll
    for (int kk = 0; kk < $(KK); kk++)
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float2 v = make_float2(0.0f, 0.0f);
            if (qr < $(G))
                v = *(const float2 *)(q + (size_t)t * $(n.ins[1].stride) + (size_t)(h0 + qr) * $(hd) + kk * 16 + hh * 8 + 2 * qc);
            $(n.kernel)_split(v.x, v.y, &qa[kk][2 * hh], &qa[kk][2 * hh + 1]);
        }
    const float scale = 1.0f / sqrtf((float)$(hd));
    float m = -INFINITY, l = 0.0f, o[$(ONT)][4];
#pragma unroll
    for (int nt = 0; nt < $(ONT); nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
    /* Row pointers without a wait: t is the only token of its sequence in the step (run
     * tokens are _kt's), so its own K/V is position pos_t alone, and each lane reads the
     * block-table entry of its row one chunk ahead (the load overlaps the chunk before). */
    int bnext = j0 + warp * 32 + lane < j1 ? bt[(j0 + warp * 32 + lane) / $(P.block_size)] : 0;
    for (int base = j0 + warp * 32; base < j1; base += $(32 * NWG)) {
        const int nj = min(32, j1 - base), j = base + lane;
        unsigned long long kt = 0, vt = 0;
        if (lane < nj) {
            if (j == pos_t) {
                $(n.kernel)_own(t, kvh, kin, vin, &kt, &vt);
            } else {
                const size_t off = $(n.kernel)_slot(bnext, j, kvh, layer_off);
                kt = (unsigned long long)(K + off);
                vt = (unsigned long long)(V + off);
            }
        }
        const int jn = j + $(32 * NWG);
        bnext = jn < j1 ? bt[jn / $(P.block_size)] : 0;
        /* all 32 rows: the products take whole fragments */
        $(n.kernel)_stage_chunk<32>(sk[warp], sv[warp], 0, kt, vt, nj, base, t, pos_t, kvh, kin, vin, lane);
        asm volatile("cp.async.wait_group 1;\n" ::: "memory"); /* the K rows */
        __syncwarp();
        float sc[4][4];
#pragma unroll
        for (int nt = 0; nt < 4; nt++) sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
        $(n.kernel)_qk<4, false>(sc, qa, qa, sk[warp], qr, qc);
        float mx = -INFINITY;
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const float v = nt * 8 + 2 * qc + e < nj ? (sc[nt][e] + sc[nt][2 + e]) * scale : -INFINITY;
                sc[nt][e] = v;
                mx = fmaxf(mx, v);
            }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m, mx); /* finite: the chunk's first position is valid */
        const float corr = expf(m - m_new); /* 0 on the first chunk (m = -inf) */
        float ls = 0.0f;
#pragma unroll
        for (int nt = 0; nt < 4; nt++)
#pragma unroll
            for (int e = 0; e < 2; e++) {
                const float pj = expf(sc[nt][e] - m_new);
                sc[nt][e] = pj;
                ls += pj;
            }
        l = l * corr + ls; /* this thread's columns; the quad sums at the end */
#pragma unroll
        for (int nt = 0; nt < $(ONT); nt++) {
            o[nt][0] *= corr;
            o[nt][1] *= corr;
            o[nt][2] *= corr;
            o[nt][3] *= corr;
        }
        m = m_new;
        asm volatile("cp.async.wait_group 0;\n" ::: "memory"); /* the V rows */
        __syncwarp();
        if (base + nj - 1 == pos_t && lane < $(2 * UPR)) { /* the own row, as staged, into the cache */
            const int u = lane % $(UPR);
            $(KT) *dst = (lane < $(UPR) ? K : V) + own_off + u * 8;
            *(uint4 *)dst = *(const uint4 *)((lane < $(UPR) ? sk[warp] : sv[warp])[nj - 1] + 4 * u);
        }
#pragma unroll
        for (int k2 = 0; k2 < 2; k2++) {
            uint32_t pa[4];
            $(n.kernel)_split(sc[2 * k2][0], sc[2 * k2][1], &pa[0], &pa[1]);
            $(n.kernel)_split(sc[2 * k2 + 1][0], sc[2 * k2 + 1][1], &pa[2], &pa[3]);
            $(n.kernel)_pv<false>(o, pa, pa, sv[warp], k2, lane);
        }
        __syncwarp(); /* the next chunk overwrites sk and sv */
    }
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    if (qr < $(G)) {
        if (qc == 0) {
            wm[warp][qr] = m;
            wl[warp][qr] = l;
        }
#pragma unroll
        for (int nt = 0; nt < $(ONT); nt++) /* hi rows + lo rows */
            *(float2 *)(&wo[warp][qr][nt * 8 + 2 * qc]) = make_float2(o[nt][0] + o[nt][2], o[nt][1] + o[nt][3]);
    }
    __syncthreads();
    $(n.kernel)_finish<$(G), $(NWG)>(wm, wl, wo, t, h0, sp, nsplit, y, &last_s);
}
% else
    for (int i = threadIdx.x; i < $(G * hd); i += blockDim.x)
        qs[i / $(hd)][i % $(hd)] = q[(size_t)t * $(n.ins[1].stride) + (size_t)h0 * $(hd) + i];
    __syncthreads();
    const float scale = 1.0f / sqrtf((float)$(hd));
    float m[$(G)], l[$(G)], o[$(G)][$(GPL)][4];
#pragma unroll
    for (int g = 0; g < $(G); g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < $(GPL); i++) o[g][i][0] = o[g][i][1] = o[g][i][2] = o[g][i][3] = 0.0f;
    }
    for (int base = j0 + warp * 32; base < j1; base += $(32 * NWG)) {
        const int nj = min(32, j1 - base);
        unsigned long long kt = 0, vt = 0;
        if (lane < nj)
            $(n.kernel)_row(t, pos_t, seq_t, base + lane, kvh, kin, vin, K, V, positions, seq_index, bt, layer_off, &kt, &vt);
        $(n.kernel)_stage_chunk<32>(sk[warp], sv[warp], 0, kt, vt, nj, base, t, pos_t, kvh, kin, vin, lane);
        asm volatile("cp.async.wait_group 1;\n" ::: "memory"); /* the K rows */
        __syncwarp();
        float sc[$(G)];
#pragma unroll
        for (int g = 0; g < $(G); g++) sc[g] = 0.0f;
        if (lane < nj) {
            const uint32_t *kr = &sk[warp][lane][0];
#pragma unroll 4
            for (int c = 0; c < $(hd); c += 8) {
                const uint4 raw = *(const uint4 *)(kr + c / 2);
                const float k0 = __uint_as_float(raw.x << 16), k1 = __uint_as_float(raw.x & 0xffff0000u);
                const float k2 = __uint_as_float(raw.y << 16), k3 = __uint_as_float(raw.y & 0xffff0000u);
                const float k4 = __uint_as_float(raw.z << 16), k5 = __uint_as_float(raw.z & 0xffff0000u);
                const float k6 = __uint_as_float(raw.w << 16), k7 = __uint_as_float(raw.w & 0xffff0000u);
#pragma unroll
                for (int g = 0; g < $(G); g++) {
                    const float4 qa = *(const float4 *)(&qs[g][c]), qb = *(const float4 *)(&qs[g][c + 4]);
                    sc[g] = fmaf(qa.x, k0, sc[g]);
                    sc[g] = fmaf(qa.y, k1, sc[g]);
                    sc[g] = fmaf(qa.z, k2, sc[g]);
                    sc[g] = fmaf(qa.w, k3, sc[g]);
                    sc[g] = fmaf(qb.x, k4, sc[g]);
                    sc[g] = fmaf(qb.y, k5, sc[g]);
                    sc[g] = fmaf(qb.z, k6, sc[g]);
                    sc[g] = fmaf(qb.w, k7, sc[g]);
                }
            }
        }
#pragma unroll
        for (int g = 0; g < $(G); g++) {
            const float s = lane < nj ? sc[g] * scale : -INFINITY;
            const float m_new = fmaxf(m[g], llm_warp_max(s)); /* finite: lane 0 of the chunk is valid */
            const float pg = lane < nj ? expf(s - m_new) : 0.0f;
            const float corr = expf(m[g] - m_new); /* 0 on the first chunk (m = -inf) */
            l[g] = l[g] * corr + llm_warp_sum(pg);
#pragma unroll
            for (int i = 0; i < $(GPL); i++) {
                o[g][i][0] *= corr;
                o[g][i][1] *= corr;
                o[g][i][2] *= corr;
                o[g][i][3] *= corr;
            }
            m[g] = m_new;
            spr[warp][lane][g] = pg;
        }
        asm volatile("cp.async.wait_group 0;\n" ::: "memory"); /* the V rows */
        __syncwarp();
#pragma unroll 2
        for (int jj = 0; jj < nj; jj++) {
            float pj[$(G)];
#pragma unroll
            for (int g = 0; g < $(G); g++) pj[g] = spr[warp][jj][g];
            const uint32_t *vr = &sv[warp][jj][0];
#pragma unroll
            for (int i = 0; i < $(GPL); i++) {
                const int grp = lane + 32 * i;
                if ($(NGRP % 32 == 0 and "true" or "grp < " .. NGRP)) {
                    const uint2 raw = *(const uint2 *)(vr + grp * 2);
                    const float v0 = __uint_as_float(raw.x << 16), v1 = __uint_as_float(raw.x & 0xffff0000u);
                    const float v2 = __uint_as_float(raw.y << 16), v3 = __uint_as_float(raw.y & 0xffff0000u);
#pragma unroll
                    for (int g = 0; g < $(G); g++) {
                        o[g][i][0] = fmaf(pj[g], v0, o[g][i][0]);
                        o[g][i][1] = fmaf(pj[g], v1, o[g][i][1]);
                        o[g][i][2] = fmaf(pj[g], v2, o[g][i][2]);
                        o[g][i][3] = fmaf(pj[g], v3, o[g][i][3]);
                    }
                }
            }
        }
        __syncwarp(); /* the next chunk overwrites sk, sv and spr */
    }
    if (lane == 0) {
#pragma unroll
        for (int g = 0; g < $(G); g++) {
            wm[warp][g] = m[g];
            wl[warp][g] = l[g];
        }
    }
#pragma unroll
    for (int g = 0; g < $(G); g++)
#pragma unroll
        for (int i = 0; i < $(GPL); i++) {
            const int grp = lane + 32 * i;
            if (grp < $(NGRP)) *(float4 *)(&wo[warp][g][grp * 4]) = make_float4(o[g][i][0], o[g][i][1], o[g][i][2], o[g][i][3]);
        }
    __syncthreads();
    $(n.kernel)_finish<$(G), $(NWG)>(wm, wl, wo, t, h0, sp, nsplit, y, &last_s);
}
% end
% end
% if TILED then
/* Query tiles of prompt chunks (see the header): block (kvh, tile) serves the run
 * tokens among tokens [tile * $(TQ), + $(TQ)) for the $(G) query heads of KV head kvh.
 * Row r of the tile's $(NWT * 16) query rows is token r / $(G), head r % $(G); warp w owns
 * rows 16w .. 16w+15. Each sub-run (consecutive run tokens of one sequence) sweeps
 * its positions 0 .. pos(last token) in chunks of $(NK): the block stages the chunk's
 * K and V rows in shared memory (cp.async, each warp 16 rows; the step's own rows from the k and v inputs,
 * converted as the cache holds them), each warp computes S = Q K^T for its rows with
 * mma.sync (q as a hi + lo bf16 pair), masks causally, updates its online softmax, and
 * adds P V (P as a hi + lo pair; V fragments by ldmatrix.trans). */
__global__ void __launch_bounds__($(32 * NWT)) $(n.kernel)_kt(const float *q, const float *kin,
                                                      const float *vin, float *__restrict__ y,
                                                      const $(KT) *__restrict__ K, const $(KT) *__restrict__ V,
                                                      const int32_t *__restrict__ positions,
                                                      const int32_t *__restrict__ seq_index,
                                                      const int32_t *__restrict__ block_tables, size_t layer_off,
                                                      int T) {
    __shared__ __align__(16) uint32_t sk[$(NK)][$(RSTR)];
    __shared__ __align__(16) uint32_t sv[$(NK)][$(RSTR)];
    __shared__ int srun[$(TQ)];
    static_assert($(NWT * 16) >= $(NK), "each warp stages 16 rows of a chunk");
    const int kvh = blockIdx.x, h0 = kvh * $(G), t0 = blockIdx.y * $(TQ);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, qr = lane >> 2, qc = lane & 3;
    LLM_PDL_ENTER();
    LLM_PDL_TRIGGER();
    const int tn = min($(TQ), T - t0);
    for (int i = threadIdx.x; i < $(TQ); i += blockDim.x) {
        srun[i] = i < tn && $(n.kernel)_is_run(seq_index, t0 + i, T);
    }
    __syncthreads();
    /* this thread's two rows (fragment rows qr and qr + 8 of its warp) */
    int ti[2], hg[2];
#pragma unroll
    for (int k = 0; k < 2; k++) {
        const int r = warp * 16 + qr + 8 * k;
        ti[k] = r < $(TQ * G) && r / $(G) < tn ? r / $(G) : -1;
        hg[k] = r % $(G);
    }
    /* q fragments (A operand, rows x head dims), split hi + lo; absent rows are 0 */
    uint32_t qh[$(KK)][4], ql[$(KK)][4];
#pragma unroll
    for (int kk = 0; kk < $(KK); kk++)
#pragma unroll
        for (int p = 0; p < 4; p++) {
            const int k = p & 1, col = kk * 16 + (p >> 1) * 8 + 2 * qc;
            float2 v = make_float2(0.0f, 0.0f);
            if (ti[k] >= 0 && srun[ti[k]])
                v = *(const float2 *)(q + (size_t)(t0 + ti[k]) * $(n.ins[1].stride) + (size_t)(h0 + hg[k]) * $(hd) + col);
            $(n.kernel)_split(v.x, v.y, &qh[kk][p], &ql[kk][p]);
        }
    const float scale = 1.0f / sqrtf((float)$(hd));
    for (int i = 0; i < tn;) {
        if (!srun[i]) {
            i++;
            continue;
        }
        const int ta = t0 + i, sq = seq_index[ta];
        int ib = i;
        while (ib + 1 < tn && srun[ib + 1] && seq_index[t0 + ib + 1] == sq) ib++;
        const int tb = t0 + ib, pa = positions[ta], pb = positions[tb];
        const int32_t *bt = block_tables + (size_t)sq * $(P.max_blocks_per_seq);
        int rpos[2]; /* the row's position, -1 when its token is not in this sub-run */
#pragma unroll
        for (int k = 0; k < 2; k++) rpos[k] = ti[k] >= i && ti[k] <= ib ? pa + ti[k] - i : -1;
        float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}, o[$(ONT)][4];
#pragma unroll
        for (int nt = 0; nt < $(ONT); nt++) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
        /* warp w stages rows 16w .. 16w + 15 of each chunk; lane l < 16 holds row 16w + l's
         * pointers, the next chunk's read while this chunk's rows are in flight */
        const int row = lane < 16 && warp * 16 + lane < $(NK) ? warp * 16 + lane : -1;
        unsigned long long kt = 0, vt = 0;
        if (row >= 0 && row <= pb)
            $(n.kernel)_row(tb, pb, sq, row, kvh, kin, vin, K, V, positions, seq_index, bt, layer_off, &kt, &vt);
        for (int c0 = 0; c0 <= pb; c0 += $(NK)) {
            const int nj = min($(NK), pb + 1 - c0);
            __syncthreads(); /* every warp is done with the previous chunk's rows */
            if (warp * 16 < $(NK)) $(n.kernel)_stage_chunk<16>(sk, sv, warp * 16, kt, vt, nj, c0, tb, pb, kvh, kin, vin, lane);
            if (row >= 0 && c0 + $(NK) + row <= pb)
                $(n.kernel)_row(tb, pb, sq, c0 + $(NK) + row, kvh, kin, vin, K, V, positions, seq_index, bt, layer_off, &kt, &vt);
            const bool live = __any_sync(0xffffffffu, rpos[0] >= c0 || rpos[1] >= c0);
            asm volatile("cp.async.wait_group 1;\n" ::: "memory");
            __syncthreads(); /* K staged */
            float s[$(NK // 8)][4];
#pragma unroll
            for (int nt = 0; nt < $(NK // 8); nt++) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
            if (live) {
                $(n.kernel)_qk<$(NK // 8), true>(s, qh, ql, sk, qr, qc);
#pragma unroll
                for (int k = 0; k < 2; k++) {
                    float mx = -INFINITY;
#pragma unroll
                    for (int nt = 0; nt < $(NK // 8); nt++)
#pragma unroll
                        for (int e = 0; e < 2; e++) {
                            const int j = c0 + nt * 8 + 2 * qc + e;
                            const float v = j <= rpos[k] ? s[nt][2 * k + e] * scale : -INFINITY;
                            s[nt][2 * k + e] = v;
                            mx = fmaxf(mx, v);
                        }
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
                    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
                    const float m_new = fmaxf(m[k], mx);
                    const float mu = m_new == -INFINITY ? 0.0f : m_new; /* a row with nothing yet */
                    const float corr = expf(m[k] - mu);
                    float ls = 0.0f;
#pragma unroll
                    for (int nt = 0; nt < $(NK // 8); nt++)
#pragma unroll
                        for (int e = 0; e < 2; e++) {
                            const float pj = expf(s[nt][2 * k + e] - mu);
                            s[nt][2 * k + e] = pj;
                            ls += pj;
                        }
                    l[k] = l[k] * corr + ls; /* this thread's columns; the quad sums at the end */
#pragma unroll
                    for (int nt = 0; nt < $(ONT); nt++) {
                        o[nt][2 * k] *= corr;
                        o[nt][2 * k + 1] *= corr;
                    }
                    m[k] = m_new;
                }
            }
            asm volatile("cp.async.wait_group 0;\n" ::: "memory");
            __syncthreads(); /* V staged */
            if (live) {
#pragma unroll
                for (int k2 = 0; k2 < $(NK // 16); k2++) {
                    uint32_t ph[4], pl[4];
                    $(n.kernel)_split(s[2 * k2][0], s[2 * k2][1], &ph[0], &pl[0]);
                    $(n.kernel)_split(s[2 * k2][2], s[2 * k2][3], &ph[1], &pl[1]);
                    $(n.kernel)_split(s[2 * k2 + 1][0], s[2 * k2 + 1][1], &ph[2], &pl[2]);
                    $(n.kernel)_split(s[2 * k2 + 1][2], s[2 * k2 + 1][3], &ph[3], &pl[3]);
                    $(n.kernel)_pv<true>(o, ph, pl, sv, k2, lane);
                }
            }
        }
#pragma unroll
        for (int k = 0; k < 2; k++) {
            float L = l[k];
            L += __shfl_xor_sync(0xffffffffu, L, 1);
            L += __shfl_xor_sync(0xffffffffu, L, 2);
            if (rpos[k] < 0) continue;
            float *yr = y + (size_t)(t0 + ti[k]) * $(n.out_stride) + (size_t)(h0 + hg[k]) * $(hd) + 2 * qc;
#pragma unroll
            for (int nt = 0; nt < $(ONT); nt++)
                *(float2 *)(yr + nt * 8) = make_float2(o[nt][2 * k] / L, o[nt][2 * k + 1] / L);
        }
        i = ib + 1;
    }
}
% end

template <int GG>
__global__ void __launch_bounds__($(32 * NW)) $(n.kernel)_k(const float *q, const float *kin,
                                                      const float *vin, float *__restrict__ y,
                                                      $(KT) *__restrict__ K, $(KT) *__restrict__ V,
                                                      const int32_t *__restrict__ positions,
                                                      const int32_t *__restrict__ seq_index,
                                                      const int32_t *__restrict__ block_tables, size_t layer_off) {
    __shared__ __align__(16) float qs[GG][$(hd)];
    __shared__ float wm[$(NW)][GG], wl[$(NW)][GG], wo[$(NW)][GG][$(hd)];
    __shared__ bool last_s;
    const int h0 = blockIdx.x * GG, kvh = h0 / $(G), t = blockIdx.y, sp = blockIdx.z; /* query heads h0 .. h0+GG-1 */
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    LLM_PDL_ENTER();
    const int pos_t = positions[t], seq_t = seq_index[t], npos = pos_t + 1;
    const int len = max($(MINLEN), ((npos + $(NSPLIT - 1)) / $(NSPLIT) + 31) & ~31);
    const int nsplit = (npos + len - 1) / len;
    if (sp >= nsplit) return;
    LLM_PDL_TRIGGER();
    const int32_t *bt = block_tables + (size_t)seq_t * $(P.max_blocks_per_seq);
    if (sp == 0 && h0 % $(G) == 0) { /* this token's K/V of this KV head into the cache */
        $(n.kernel)_store(t, pos_t, kvh, bt, kin, vin, K, V, layer_off);
    }
    const int j0 = sp * len, j1 = min(npos, j0 + len);
    for (int i = threadIdx.x; i < GG * $(hd); i += blockDim.x)
        qs[i / $(hd)][i % $(hd)] = q[(size_t)t * $(n.ins[1].stride) + (size_t)h0 * $(hd) + i];
    __syncthreads();
    const float scale = 1.0f / sqrtf((float)$(hd));
    float m[GG], l[GG], o[GG][$(DPL)];
#pragma unroll
    for (int g = 0; g < GG; g++) {
        m[g] = -INFINITY;
        l[g] = 0.0f;
#pragma unroll
        for (int i = 0; i < $(DPL); i++) o[g][i] = 0.0f;
    }
    for (int base = j0 + warp * 32; base < j1; base += $(32 * NW)) {
        const int j = base + lane;
        float sc[GG];
#pragma unroll
        for (int g = 0; g < GG; g++) sc[g] = 0.0f;
        unsigned long long kt = 0, vt = 0;
        if (j < j1) {
            $(n.kernel)_row(t, pos_t, seq_t, j, kvh, kin, vin, K, V, positions, seq_index, bt, layer_off, &kt, &vt);
% if vec4 and not kvbf then
            const float *kr = (const float *)(kt & ~1ull);
#pragma unroll (GG == 1 ? 8 : 4)
            for (int c = 0; c < $(hd); c += 4) {
                const float4 kk = *(const float4 *)(kr + c);
#pragma unroll
                for (int g = 0; g < GG; g++) {
                    const float4 qq = *(const float4 *)(&qs[g][c]);
                    sc[g] = fmaf(qq.x, kk.x, sc[g]);
                    sc[g] = fmaf(qq.y, kk.y, sc[g]);
                    sc[g] = fmaf(qq.z, kk.z, sc[g]);
                    sc[g] = fmaf(qq.w, kk.w, sc[g]);
                }
            }
% elseif vec4 then
            if (kt & 1ull) {
                for (int c = 0; c < $(hd); c++) {
                    const float kk = $(n.kernel)_kv(kt, c);
#pragma unroll
                    for (int g = 0; g < GG; g++) sc[g] = fmaf(qs[g][c], kk, sc[g]);
                }
            } else {
                const uint16_t *kr = (const uint16_t *)kt;
#pragma unroll (GG == 1 ? 8 : 4)
                for (int c = 0; c < $(hd); c += 4) {
                    const uint2 raw = *(const uint2 *)(kr + c);
                    const float k0 = __uint_as_float(raw.x << 16), k1 = __uint_as_float(raw.x & 0xffff0000u);
                    const float k2 = __uint_as_float(raw.y << 16), k3 = __uint_as_float(raw.y & 0xffff0000u);
#pragma unroll
                    for (int g = 0; g < GG; g++) {
                        const float4 qq = *(const float4 *)(&qs[g][c]);
                        sc[g] = fmaf(qq.x, k0, sc[g]);
                        sc[g] = fmaf(qq.y, k1, sc[g]);
                        sc[g] = fmaf(qq.z, k2, sc[g]);
                        sc[g] = fmaf(qq.w, k3, sc[g]);
                    }
                }
            }
% else
            for (int c = 0; c < $(hd); c++) {
                const float kk = $(n.kernel)_kv(kt, c);
#pragma unroll
                for (int g = 0; g < GG; g++) sc[g] = fmaf(qs[g][c], kk, sc[g]);
            }
% end
        }
        float p[GG];
#pragma unroll
        for (int g = 0; g < GG; g++) {
            const float s = j < j1 ? sc[g] * scale : -INFINITY;
            const float m_new = fmaxf(m[g], llm_warp_max(s)); /* finite: lane 0 of the chunk is valid */
            p[g] = j < j1 ? expf(s - m_new) : 0.0f;
            const float corr = expf(m[g] - m_new); /* 0 on the first chunk (m = -inf) */
            l[g] = l[g] * corr + llm_warp_sum(p[g]);
#pragma unroll
            for (int i = 0; i < $(DPL); i++) o[g][i] *= corr;
            m[g] = m_new;
        }
        const int nj = min(32, j1 - base);
#pragma unroll (GG == 1 ? 4 : 2)
        for (int jj = 0; jj < nj; jj++) {
            const unsigned long long vj = __shfl_sync(0xffffffffu, vt, jj);
            float pj[GG];
#pragma unroll
            for (int g = 0; g < GG; g++) pj[g] = __shfl_sync(0xffffffffu, p[g], jj);
#pragma unroll
            for (int i = 0; i < $(DPL); i++) {
                const int d = lane + 32 * i;
                if ($(hd % 32 == 0 and "true" or "d < " .. hd)) {
                    const float vv = $(n.kernel)_kv(vj, d);
#pragma unroll
                    for (int g = 0; g < GG; g++) o[g][i] = fmaf(pj[g], vv, o[g][i]);
                }
            }
        }
    }
    if (lane == 0) {
#pragma unroll
        for (int g = 0; g < GG; g++) {
            wm[warp][g] = m[g];
            wl[warp][g] = l[g];
        }
    }
#pragma unroll
    for (int g = 0; g < GG; g++)
#pragma unroll
        for (int i = 0; i < $(DPL); i++) {
            const int d = lane + 32 * i;
            if (d < $(hd)) wo[warp][g][d] = o[g][i];
        }
    __syncthreads();
    $(n.kernel)_finish<GG, $(NW)>(wm, wl, wo, t, h0, sp, nsplit, y, &last_s);
}

static void $(n.kernel)(const LlmCudaCtx *c, int T, int L, int layer, const float *x0, const float *x1,
                        const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)L; (void)w0; (void)w1;
    if (T <= 0) return;
    cudaStream_t s = (cudaStream_t)c->stream;
    const size_t layer_off = (size_t)layer * (size_t)c->n_blocks * $(P.block_size) * $(kvdim);
    $(KT) *K = ($(KT) *)c->k, *V = ($(KT) *)c->v;
    /* few tokens: one block per query head (more blocks in flight); a batch:
     * one block per KV head for its $(G) query heads (each K/V row read once) */
    if (T < $(GROUP_MIN_T))
        llm_launch($(n.kernel)_k<1>, dim3($(nh), (unsigned)T, $(NSPLIT)), $(32 * NW), 0, s, x0, x1, x2, y, K, V,
                   c->positions, c->seq_index, c->block_tables, layer_off);
    else
% if STAGED then
    {
        llm_launch($(n.kernel)_kg, dim3($(nkv), (unsigned)T, $(NSPLIT_G)), $(32 * NWG), 0, s, x0, x1, x2, y, K, V,
                   c->positions, c->seq_index, c->block_tables, layer_off);
% if TILED then
        llm_launch($(n.kernel)_kt, dim3($(nkv), (unsigned)((T + $(TQ - 1)) / $(TQ))), $(32 * NWT), 0, s, x0, x1, x2, y,
                   (const $(KT) *)K, (const $(KT) *)V, c->positions, c->seq_index, c->block_tables, layer_off, T);
% end
    }
% else
        llm_launch($(n.kernel)_k<$(G)>, dim3($(nkv), (unsigned)T, $(NSPLIT)), $(32 * NW), 0, s, x0, x1, x2, y, K, V,
                   c->positions, c->seq_index, c->block_tables, layer_off);
% end
}
