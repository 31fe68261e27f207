% -- kernels/cpu/embed.c.lua: y[T,H] = E[tokens[t], :] converted to float32.
% local n = args
% local H = n.w[1].cols
% local conv = ({f32 = "e[c]", bf16 = "llm_bf16_to_f32(e[c])", f16 = "llm_f16_to_f32(e[c])"})[n.w[1].dtype]
% local wtype = ({f32 = "float", bf16 = "uint16_t", f16 = "uint16_t"})[n.w[1].dtype]
/* $(n.kernel): embedding lookup, H=$(H), table $(n.w[1].dtype) [$(n.w[1].rows)][$(H)].
 * Token ids are checked by the runtime before the step. */
static void $(n.kernel)(const LlmForwardCtx *ctx, const LlmBatch *b, int layer, const float *x0,
                        const float *x1, const float *x2, float *y, const void *w0, const void *w1,
                        const void *w2, void *scratch) {
    (void)w2; (void)scratch; (void)ctx; (void)layer; (void)x0; (void)x1; (void)x2; (void)w1;
    for (int t = 0; t < b->n_tokens; t++) {
        const $(wtype) *e = (const $(wtype) *)w0 + (size_t)b->tokens[t] * $(H);
        float *yr = y + (size_t)t * $(n.out_stride);
        for (int c = 0; c < $(H); c++) yr[c] = $(conv);
    }
}
