/* pack.h - the weight blob: every IrWeight at a 64-byte aligned offset, in
 * graph weight order, converted to its packed dtype (rows of concatenated
 * weights one after another). The generated code reads it in place. */
#ifndef LLMCC_CODEGEN_PACK_H
#define LLMCC_CODEGEN_PACK_H

#include <stdint.h>

#include "base/error.h"
#include "ir/ir.h"
#include "load/tensor.h"

#define PACK_ALIGN 64

/* Sets every weight's offset; returns the blob size in bytes. */
int64_t pack_assign_offsets(IrGraph *g);

typedef void (*PackProgressFn)(void *ctx, int done, int total);

/* Fills blob[size] (offsets assigned). Errors name the tensor and file. */
int pack_weights(const IrGraph *g, const TensorTable *tt, uint8_t *blob, int64_t size,
                 PackProgressFn progress, void *pctx, LlmError *err);

/* Weight bytes one decode step reads: every weight in full, except a
 * weight used only by the embedding lookup, of which one row is read. */
int64_t pack_decode_bytes(const IrGraph *g);

/* Round-to-nearest-even conversions used for packing (exposed for tests). */
uint16_t pack_f32_to_bf16(float f);
uint16_t pack_f32_to_f16(float f);

#endif
