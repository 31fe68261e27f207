/* tensor.c - dtype tables, the tensor table, and conversion to float32.
 *
 * tensor_read_f32() is the single decoder of stored weights. Quantized GGUF
 * blocks are dequantized with exactly the float32 operations, in exactly the
 * order, of gguf-py's numpy dequantize (gguf/quants.py), which is what
 * Hugging Face transformers uses to load GGUF: each product and sum is one
 * rounded float32 operation, never a fused multiply-add, and f16 -> f32 is
 * exact. The result is therefore bit-identical to the Python reference.
 * It does not quantize, and it never allocates more than the caller's dst.
 */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "load/tensor.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parallel to DType; checked against DTYPE_COUNT below. */
static const struct {
    const char *name;   /* message / manifest name */
    int block_elems;    /* elements per block */
    size_t block_bytes; /* bytes per block */
} DTYPE_TABLE[] = {
    [DTYPE_F32] = {"F32", 1, 4},      [DTYPE_F16] = {"F16", 1, 2},
    [DTYPE_BF16] = {"BF16", 1, 2},    [DTYPE_Q8_0] = {"Q8_0", 32, 34},
    [DTYPE_Q4_0] = {"Q4_0", 32, 18},  [DTYPE_Q4_1] = {"Q4_1", 32, 20},
    [DTYPE_Q4_K] = {"Q4_K", 256, 144}, [DTYPE_Q6_K] = {"Q6_K", 256, 210},
};
_Static_assert(sizeof DTYPE_TABLE / sizeof DTYPE_TABLE[0] == DTYPE_COUNT,
               "DTYPE_TABLE out of step with DType");

const char *dtype_name(DType t) {
    if ((unsigned)t >= DTYPE_COUNT) return "?";
    return DTYPE_TABLE[t].name;
}

int dtype_parse(const char *s) {
    for (int i = 0; i < DTYPE_COUNT; i++)
        if (strcasecmp(s, DTYPE_TABLE[i].name) == 0) return i;
    return -1;
}

int dtype_block_elems(DType t) {
    LLM_ASSERT((unsigned)t < DTYPE_COUNT);
    return DTYPE_TABLE[t].block_elems;
}

size_t dtype_block_bytes(DType t) {
    LLM_ASSERT((unsigned)t < DTYPE_COUNT);
    return DTYPE_TABLE[t].block_bytes;
}

int64_t tensor_numel(const TensorInfo *t) {
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= t->shape[i];
    return n;
}

size_t tensor_storage_bytes(DType t, const int64_t *shape, int n_dims) {
    int64_t be = dtype_block_elems(t);
    if (n_dims < 1 || shape[n_dims - 1] % be != 0) return 0;
    uint64_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (shape[i] < 0) return 0;
        if (shape[i] != 0 && n > UINT64_MAX / (uint64_t)shape[i]) return 0;
        n *= (uint64_t)shape[i];
    }
    uint64_t blocks = n / (uint64_t)be;
    if (blocks > SIZE_MAX / dtype_block_bytes(t)) return 0;
    return (size_t)blocks * dtype_block_bytes(t);
}

/* ---- tensor table --------------------------------------------------------- */

static int tensor_cmp(const void *a, const void *b) {
    return strcmp(((const TensorInfo *)a)->name, ((const TensorInfo *)b)->name);
}

void tensor_table_sort(TensorTable *tt) {
    if (tt->count > 1) qsort(tt->items, (size_t)tt->count, sizeof *tt->items, tensor_cmp);
}

const TensorInfo *tensor_table_find(const TensorTable *tt, const char *name) {
    int lo = 0, hi = tt->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(tt->items[mid].name, name);
        if (c == 0) return &tt->items[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

TensorInfo *tensor_table_add(TensorTable *tt, const char *name) {
    int n = tt->count;
    /* capacity is implicit: grow whenever count reaches a power of two */
    if (n == 0 || (n & (n - 1)) == 0)
        tt->items = llm_xrealloc(tt->items, sizeof *tt->items * (size_t)(n == 0 ? 1 : 2 * n));
    TensorInfo *t = &tt->items[n];
    memset(t, 0, sizeof *t);
    t->name = llm_xstrdup(name);
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t->shape[i] = 1;
    tt->count = n + 1;
    return t;
}

void tensor_table_free(TensorTable *tt) {
    for (int i = 0; i < tt->count; i++) free(tt->items[i].name);
    free(tt->items);
    tt->items = NULL;
    tt->count = 0;
}

/* ---- scalar conversions --------------------------------------------------- */

static float bits_to_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

float tensor_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (man << 13));
    if (exp != 0) return bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
    if (man == 0) return bits_to_f32(sign);
    /* subnormal half: normalise into a float32 normal */
    uint32_t e = 113;
    while ((man & 0x400u) == 0) {
        man <<= 1;
        e--;
    }
    return bits_to_f32(sign | (e << 23) | ((man & 0x3ffu) << 13));
}

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

static float rd_f16(const uint8_t *p) { return tensor_f16_to_f32(rd16(p)); }

/* ---- block decoders (one block each; y receives block_elems floats) -------- */

static void dequant_q8_0(const uint8_t *b, float *y) {
    float d = rd_f16(b);
    for (int i = 0; i < 32; i++) y[i] = (float)(int8_t)b[2 + i] * d;
}

static void dequant_q4_0(const uint8_t *b, float *y) {
    float d = rd_f16(b);
    const uint8_t *qs = b + 2;
    for (int i = 0; i < 16; i++) {
        y[i] = d * (float)((qs[i] & 0x0f) - 8);
        y[i + 16] = d * (float)((qs[i] >> 4) - 8);
    }
}

static void dequant_q4_1(const uint8_t *b, float *y) {
    float d = rd_f16(b), m = rd_f16(b + 2);
    const uint8_t *qs = b + 4;
    for (int i = 0; i < 16; i++) {
        float lo = d * (float)(qs[i] & 0x0f), hi = d * (float)(qs[i] >> 4);
        y[i] = lo + m;
        y[i + 16] = hi + m;
    }
}

/* Q4_K: 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes. */
static void q4_k_scale_min(const uint8_t *s, int j, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 0x3f;
        *mn = s[j + 4] & 0x3f;
    } else {
        *sc = (s[j + 4] & 0x0f) | ((s[j - 4] >> 2) & 0x30);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 2) & 0x30);
    }
}

static void dequant_q4_k(const uint8_t *b, float *y) {
    float d = rd_f16(b), dmin = rd_f16(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int j = 0; j < 8; j++) {
        int sc, mn;
        q4_k_scale_min(scales, j, &sc, &mn);
        float ds = d * (float)sc, dm = dmin * (float)mn;
        const uint8_t *q = qs + 32 * (j / 2);
        int shift = 4 * (j % 2);
        for (int l = 0; l < 32; l++) {
            float p = ds * (float)((q[l] >> shift) & 0x0f);
            y[32 * j + l] = p - dm;
        }
    }
}

static void dequant_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *scales = (const int8_t *)(b + 192);
    float d = rd_f16(b + 208);
    for (int g = 0; g < 8; g++) { /* 8 groups of 32 elements */
        const uint8_t *lo = ql + 64 * (g / 4) + 32 * (g % 2);
        int lshift = 4 * ((g / 2) % 2);
        const uint8_t *hi = qh + 32 * (g / 4);
        int hshift = 2 * (g % 4);
        for (int l = 0; l < 32; l++) {
            int e = 32 * g + l;
            int q = ((lo[l] >> lshift) & 0x0f) | (((hi[l] >> hshift) & 0x03) << 4);
            float ds = d * (float)scales[e / 16];
            y[e] = ds * (float)(q - 32);
        }
    }
}

typedef void (*BlockDecoder)(const uint8_t *block, float *y);

static void decode_plain(DType dt, const uint8_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = src + i * dtype_block_bytes(dt);
        if (dt == DTYPE_F32) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24;
            dst[i] = bits_to_f32(u);
        } else if (dt == DTYPE_F16) {
            dst[i] = rd_f16(p);
        } else {
            dst[i] = bits_to_f32((uint32_t)rd16(p) << 16);
        }
    }
}

static BlockDecoder block_decoder(DType dt) {
    switch (dt) {
    case DTYPE_Q8_0: return dequant_q8_0;
    case DTYPE_Q4_0: return dequant_q4_0;
    case DTYPE_Q4_1: return dequant_q4_1;
    case DTYPE_Q4_K: return dequant_q4_k;
    case DTYPE_Q6_K: return dequant_q6_k;
    default: return NULL;
    }
}

/* Undoes llama.cpp's q/k row permutation: GGUF row (h, i, j) with shape
 * (heads, dim, 2) holds HF row (h, j, i), dim = rows / heads / 2. Exactly
 * transformers' reverse permute: reshape(heads, dim, 2, rest).swapaxes(1, 2). */
static int unpermute_rope(const TensorInfo *t, float *buf, LlmError *err) {
    int64_t rows = t->shape[0], heads = t->xform_heads;
    if (heads <= 0 || rows % (2 * heads) != 0)
        return llm_errorf(err, "%s: tensor \"%s\": %lld rows cannot be split into %lld heads",
                          t->file ? t->file : "?", t->name, (long long)rows, (long long)heads);
    size_t cols = (size_t)(tensor_numel(t) / rows);
    int64_t dim = rows / heads / 2;
    float *tmp = llm_xmalloc(sizeof(float) * (size_t)tensor_numel(t));
    for (int64_t h = 0; h < heads; h++)
        for (int64_t i = 0; i < dim; i++)
            for (int64_t j = 0; j < 2; j++) {
                int64_t src = h * 2 * dim + i * 2 + j, dst = h * 2 * dim + j * dim + i;
                memcpy(tmp + (size_t)dst * cols, buf + (size_t)src * cols, cols * sizeof(float));
            }
    memcpy(buf, tmp, sizeof(float) * (size_t)tensor_numel(t));
    free(tmp);
    return LLM_OK;
}

int tensor_read_f32(const TensorInfo *t, float *dst, LlmError *err) {
    if ((unsigned)t->dtype >= DTYPE_COUNT)
        return llm_errorf(err, "%s: tensor \"%s\": cannot decode dtype %d",
                          t->file ? t->file : "?", t->name, (int)t->dtype);
    size_t need = tensor_storage_bytes(t->dtype, t->shape, t->n_dims);
    if (need == 0 && tensor_numel(t) != 0)
        return llm_errorf(err, "%s: tensor \"%s\": shape is not a whole number of %s blocks",
                          t->file ? t->file : "?", t->name, dtype_name(t->dtype));
    LLM_ASSERT(need <= t->n_bytes);
    size_t be = (size_t)dtype_block_elems(t->dtype), bb = dtype_block_bytes(t->dtype);
    size_t n_blocks = (size_t)tensor_numel(t) / be;
    BlockDecoder dec = block_decoder(t->dtype);
    if (dec == NULL) {
        decode_plain(t->dtype, t->data, dst, n_blocks);
    } else {
        for (size_t b = 0; b < n_blocks; b++) dec(t->data + b * bb, dst + b * be);
    }
    if (t->xform == TENSOR_XFORM_UNPERMUTE_ROPE) return unpermute_rope(t, dst, err);
    return LLM_OK;
}
