% -- kernels/cpu/attention.c.lua: paged causal attention with GQA.
% local n = args
% local P = spec.program
% local hd, nh, nkv = n.head_dim, n.heads, n.kv_heads
% local kvdim = nkv * hd
% local kvbf = P.kv_dtype == "bf16"
% local KT = kvbf and "uint16_t" or "float"
% local KLOAD = kvbf and function(e) return "llm_bf16_to_f32(" .. e .. ")" end or function(e) return e end
/* $(n.kernel): attention, $(nh) query heads, $(nkv) KV heads, head_dim $(hd),
 * KV blocks of $(P.block_size) tokens, $(P.max_blocks_per_seq) blocks per sequence.
 * Step 1 writes K/V of every token of the batch into the paged cache of
 * `layer` (layout [layer][block][slot][kv_head][dim], $(kvbf and "bf16, rounded to nearest even" or "float32")). Step 2, in
 * parallel over (token, head): scores s_j = (q . k_j) * $(hd)^-0.5 for
 * positions j = 0..pos of the token's sequence, softmax in float32 with the
 * max subtracted, output sum_j p_j v_j. Matches eager LlamaAttention. */
typedef struct $(n.kernel)_Args {
    const LlmForwardCtx *ctx;
    const LlmBatch *b;
    const float *q; /* [T][$(n.ins[1].stride)] */
    float *y;       /* [T][$(n.out_stride)] */
    size_t layer_off; /* elements to this layer's first block */
} $(n.kernel)_Args;

static inline size_t $(n.kernel)_slot(const LlmBatch *b, int t, int pos, size_t layer_off) {
    int32_t blk = b->block_tables[(size_t)b->seq_index[t] * $(P.max_blocks_per_seq) + pos / $(P.block_size)];
    return layer_off + ((size_t)blk * $(P.block_size) + (size_t)(pos % $(P.block_size))) * $(kvdim);
}

static void $(n.kernel)_range(void *p, int i0, int i1) {
    const $(n.kernel)_Args *a = p;
    const $(KT) *K = a->ctx->kv.k, *V = a->ctx->kv.v;
    const float scale = 1.0f / sqrtf((float)$(hd));
    int cap = 0;
    float *s = NULL;
    for (int i = i0; i < i1; i++) {
        int t = i / $(nh), h = i % $(nh), kvh = h / $(nh // nkv), pos = a->b->positions[t];
        if (pos + 1 > cap) {
            cap = pos + 1;
            free(s);
            s = malloc((size_t)cap * sizeof *s);
            if (s == NULL) abort();
        }
        const float *q = a->q + (size_t)t * $(n.ins[1].stride) + (size_t)h * $(hd);
        float mx = -INFINITY;
        for (int j = 0; j <= pos; j++) {
            const $(KT) *k = K + $(n.kernel)_slot(a->b, t, j, a->layer_off) + (size_t)kvh * $(hd);
            float d = 0.0f;
            for (int c = 0; c < $(hd); c++) d += q[c] * $(KLOAD("k[c]"));
            s[j] = d * scale;
            if (s[j] > mx) mx = s[j];
        }
        float sum = 0.0f;
        for (int j = 0; j <= pos; j++) sum += (s[j] = expf(s[j] - mx));
        float *o = a->y + (size_t)t * $(n.out_stride) + (size_t)h * $(hd);
        for (int c = 0; c < $(hd); c++) o[c] = 0.0f;
        for (int j = 0; j <= pos; j++) {
            const $(KT) *v = V + $(n.kernel)_slot(a->b, t, j, a->layer_off) + (size_t)kvh * $(hd);
            float pj = s[j] / sum;
            for (int c = 0; c < $(hd); c++) o[c] += pj * $(KLOAD("v[c]"));
        }
    }
    free(s);
}

static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)w0; (void)w1;
    size_t layer_off = (size_t)layer * (size_t)ctx->kv.n_blocks * $(P.block_size) * $(kvdim);
    $(KT) *K = ctx->kv.k, *V = ctx->kv.v;
    for (int t = 0; t < b->n_tokens; t++) {
        size_t at = $(n.kernel)_slot(b, t, b->positions[t], layer_off);
% if kvbf then
        for (int c = 0; c < $(kvdim); c++) {
            K[at + c] = llm_f32_to_bf16(x1[(size_t)t * $(n.ins[2].stride) + c]);
            V[at + c] = llm_f32_to_bf16(x2[(size_t)t * $(n.ins[3].stride) + c]);
        }
% else
        memcpy(K + at, x1 + (size_t)t * $(n.ins[2].stride), $(kvdim) * sizeof(float));
        memcpy(V + at, x2 + (size_t)t * $(n.ins[3].stride), $(kvdim) * sizeof(float));
% end
    }
    $(n.kernel)_Args a = {ctx, b, x0, y, layer_off};
    llm_parallel_for(ctx->pool, b->n_tokens * $(nh), $(n.kernel)_range, &a);
}
