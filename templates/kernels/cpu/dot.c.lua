% -- kernels/cpu/dot.c.lua: dot product of a float32 row with a weight row
% -- of args.dtype, length args.k; renders one static inline function named
% -- args.fn. 16 independent accumulators so the compiler vectorizes it.
% local load = ({f32 = "w[k + j]", bf16 = "llm_bf16_to_f32(w[k + j])", f16 = "llm_f16_to_f32(w[k + j])"})[args.dtype]
% local wtype = ({f32 = "float", bf16 = "uint16_t", f16 = "uint16_t"})[args.dtype]
% local k16 = args.k - args.k % 16
static inline float $(args.fn)(const float *restrict x, const $(wtype) *restrict w) {
    float acc[16] = {0};
    for (int k = 0; k < $(k16); k += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[k + j] * $(load);
% if k16 < args.k then
    for (int k = $(k16), j = 0; k + j < $(args.k); j++) acc[j] += x[k + j] * $(load);
% end
    return llm_sum16(acc);
}
