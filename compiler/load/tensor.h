/* tensor.h - the tensor table every loader produces.
 *
 * A TensorInfo describes one stored weight: its canonical (Hugging Face)
 * name, storage dtype, shape (outermost dimension first, as in PyTorch and
 * safetensors; GGUF's reversed ne[] order is converted by its loader) and
 * where its bytes live inside a mapped file. Nothing is copied: data points
 * into the mapping. tensor_read_f32() is the single way to get values out,
 * whatever the storage dtype (quantized GGUF blocks are dequantized there,
 * with the exact float32 arithmetic of the reference implementation, and a
 * row permutation recorded by the loader is undone there).
 */
#ifndef LLMCC_LOAD_TENSOR_H
#define LLMCC_LOAD_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef enum DType {
    DTYPE_F32,
    DTYPE_F16,
    DTYPE_BF16,
    DTYPE_Q8_0, /* ggml block of 32: f16 d, int8 q[32] */
    DTYPE_Q4_0, /* ggml block of 32: f16 d, 16 bytes of nibbles */
    DTYPE_Q4_1, /* ggml block of 32: f16 d, f16 m, 16 bytes of nibbles */
    DTYPE_Q4_K, /* ggml super-block of 256 */
    DTYPE_Q6_K, /* ggml super-block of 256 */
    DTYPE_COUNT
} DType;

/* Name as it appears in messages and manifests ("F32", "Q4_K", ...). */
const char *dtype_name(DType t);
/* Parses "f32"/"F32", "f16", "bf16" (case-insensitive); -1 if unknown. */
int dtype_parse(const char *s);
/* Elements per block (1 for plain floats) and bytes per block. */
int dtype_block_elems(DType t);
size_t dtype_block_bytes(DType t);

typedef enum TensorXform {
    TENSOR_XFORM_NONE,
    /* GGUF stores Llama q/k projections with rows permuted for interleaved
     * rotary pairs; reading undoes that so values are in the Hugging Face
     * rotate-half layout. xform_heads holds the head count. */
    TENSOR_XFORM_UNPERMUTE_ROPE,
} TensorXform;

#define TENSOR_MAX_DIMS 4

typedef struct TensorInfo {
    char *name;                     /* canonical HF name, owned */
    DType dtype;                    /* storage dtype */
    int n_dims;                     /* 1..TENSOR_MAX_DIMS */
    int64_t shape[TENSOR_MAX_DIMS]; /* outermost first; unused dims are 1 */
    const uint8_t *data;            /* into a MappedFile, n_bytes long */
    size_t n_bytes;                 /* exact storage size */
    const char *file;               /* path of the file holding it (borrowed) */
    TensorXform xform;              /* transform applied by tensor_read_f32 */
    int xform_heads;                /* parameter of xform */
} TensorInfo;

typedef struct TensorTable {
    TensorInfo *items; /* [count], sorted by name after loading */
    int count;
} TensorTable;

int64_t tensor_numel(const TensorInfo *t);
/* Binary search by canonical name; NULL when absent. */
const TensorInfo *tensor_table_find(const TensorTable *tt, const char *name);
void tensor_table_sort(TensorTable *tt);
void tensor_table_free(TensorTable *tt);
/* Appends a zeroed entry named name (copied) and returns it. The pointer is
 * valid until the next append. */
TensorInfo *tensor_table_add(TensorTable *tt, const char *name);
/* Bytes that numel elements of t take in storage; 0 when numel is not a
 * whole number of blocks (quantized dtypes need ne[innermost] % block == 0). */
size_t tensor_storage_bytes(DType t, const int64_t *shape, int n_dims);
/* Exact IEEE half -> float conversion (subnormals, inf, NaN payload kept). */
float tensor_f16_to_f32(uint16_t h);

/* Converts the whole tensor to float32 into dst[numel], applying xform.
 * Fails (naming file and tensor) only for a dtype it cannot decode. */
int tensor_read_f32(const TensorInfo *t, float *dst, LlmError *err);

#endif
