/* gguf.c - GGUF v2/v3 reader: header, metadata, tensor infos, data section.
 *
 * Layout (all little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv x (string key, u32 type, value), n_tensors x (string name, u32
 * n_dims, u64 ne[n_dims], u32 ggml type, u64 offset), padding to
 * general.alignment, tensor data. A string is u64 length + bytes. Every read
 * goes through GgufReader, which checks the remaining bytes first, so no
 * input can make the parser read outside the mapping. Big-endian files and
 * v1 (32-bit counts) are rejected with the version in the message.
 */
#include "load/gguf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/json_util.h"

enum {
    GGUF_TYPE_UINT8, GGUF_TYPE_INT8, GGUF_TYPE_UINT16, GGUF_TYPE_INT16, GGUF_TYPE_UINT32,
    GGUF_TYPE_INT32, GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL, GGUF_TYPE_STRING, GGUF_TYPE_ARRAY,
    GGUF_TYPE_UINT64, GGUF_TYPE_INT64, GGUF_TYPE_FLOAT64, GGUF_TYPE_COUNT
};
#define GGUF_MAX_ARRAY_DEPTH 8

/* Bytes of one scalar value per GGUF type (strings/arrays: their minimum). */
static const size_t GGUF_VALUE_SIZE[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};

/* Cursor over the mapping. */
typedef struct GgufReader {
    const char *path;    /* for messages */
    const uint8_t *data; /* whole file */
    size_t size;         /* file size */
    size_t pos;          /* next byte to read */
} GgufReader;

static int need(GgufReader *r, uint64_t n, const char *what, LlmError *err) {
    if (n > r->size - r->pos)
        return llm_errorf(err, "%s: truncated file: %s needs %llu bytes at offset %zu, only "
                          "%zu left", r->path, what, (unsigned long long)n, r->pos,
                          r->size - r->pos);
    return LLM_OK;
}

static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int rd_u32(GgufReader *r, uint32_t *v, const char *what, LlmError *err) {
    if (need(r, 4, what, err)) return LLM_ERR;
    *v = (uint32_t)le(r->data + r->pos, 4);
    r->pos += 4;
    return LLM_OK;
}

static int rd_u64(GgufReader *r, uint64_t *v, const char *what, LlmError *err) {
    if (need(r, 8, what, err)) return LLM_ERR;
    *v = le(r->data + r->pos, 8);
    r->pos += 8;
    return LLM_OK;
}

/* Reads a GGUF string; *s points into the mapping, not NUL-terminated. */
static int rd_str(GgufReader *r, const char **s, size_t *len, const char *what, LlmError *err) {
    uint64_t n;
    if (rd_u64(r, &n, what, err) || need(r, n, what, err)) return LLM_ERR;
    *s = (const char *)r->data + r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return LLM_OK;
}

/* ---- metadata values ------------------------------------------------------ */

static json_t *scalar_json(int type, const uint8_t *p) {
    uint64_t u = le(p, (int)GGUF_VALUE_SIZE[type]);
    switch (type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32:
        return json_integer((json_int_t)u);
    case GGUF_TYPE_INT8: return json_integer((int8_t)u);
    case GGUF_TYPE_INT16: return json_integer((int16_t)u);
    case GGUF_TYPE_INT32: return json_integer((int32_t)u);
    case GGUF_TYPE_INT64: return json_integer((json_int_t)(int64_t)u);
    case GGUF_TYPE_UINT64:
        return u <= INT64_MAX ? json_integer((json_int_t)u) : json_real((double)u);
    case GGUF_TYPE_BOOL: return json_boolean(u != 0);
    case GGUF_TYPE_FLOAT32: {
        float f;
        uint32_t b = (uint32_t)u;
        memcpy(&f, &b, 4);
        return isfinite(f) ? json_real((double)f) : json_null();
    }
    default: { /* GGUF_TYPE_FLOAT64 */
        double f;
        memcpy(&f, &u, 8);
        return isfinite(f) ? json_real(f) : json_null();
    }
    }
}

static int rd_value(GgufReader *r, const char *key, uint32_t type, int depth, json_t **out,
                    LlmError *err);

static int rd_string_value(GgufReader *r, const char *key, json_t **out, LlmError *err) {
    const char *s;
    size_t len;
    if (rd_str(r, &s, &len, key, err)) return LLM_ERR;
    *out = json_stringn(s, len);
    if (*out == NULL)
        return llm_errorf(err, "%s: metadata \"%s\": string is not valid UTF-8", r->path, key);
    return LLM_OK;
}

static int rd_array(GgufReader *r, const char *key, int depth, json_t **out, LlmError *err) {
    uint32_t et;
    uint64_t n;
    if (rd_u32(r, &et, key, err) || rd_u64(r, &n, key, err)) return LLM_ERR;
    if (et >= GGUF_TYPE_COUNT)
        return llm_errorf(err, "%s: metadata \"%s\": unknown array element type %u", r->path,
                          key, et);
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return llm_errorf(err, "%s: metadata \"%s\": arrays nested deeper than %d", r->path,
                          key, GGUF_MAX_ARRAY_DEPTH);
    if (n > (r->size - r->pos) / GGUF_VALUE_SIZE[et])
        return llm_errorf(err, "%s: metadata \"%s\": array of %llu elements does not fit in "
                          "the %zu bytes left", r->path, key, (unsigned long long)n,
                          r->size - r->pos);
    *out = json_array();
    for (uint64_t i = 0; i < n; i++) {
        json_t *v;
        if (rd_value(r, key, et, depth + 1, &v, err)) {
            json_decref(*out);
            *out = NULL;
            return LLM_ERR;
        }
        json_array_append_new(*out, v);
    }
    return LLM_OK;
}

static int rd_value(GgufReader *r, const char *key, uint32_t type, int depth, json_t **out,
                    LlmError *err) {
    *out = NULL;
    if (type >= GGUF_TYPE_COUNT)
        return llm_errorf(err, "%s: metadata \"%s\": unknown value type %u", r->path, key,
                          type);
    if (type == GGUF_TYPE_STRING) return rd_string_value(r, key, out, err);
    if (type == GGUF_TYPE_ARRAY) return rd_array(r, key, depth, out, err);
    if (need(r, GGUF_VALUE_SIZE[type], key, err)) return LLM_ERR;
    *out = scalar_json((int)type, r->data + r->pos);
    r->pos += GGUF_VALUE_SIZE[type];
    return LLM_OK;
}

static int rd_kv(GgufReader *r, json_t *meta, LlmError *err) {
    const char *k;
    size_t klen;
    uint32_t type;
    if (rd_str(r, &k, &klen, "metadata key", err)) return LLM_ERR;
    char *key = llm_xmalloc(klen + 1);
    memcpy(key, k, klen);
    key[klen] = '\0';
    json_t *v = NULL;
    int rc = LLM_OK;
    if (strlen(key) != klen || json_object_get(meta, key) != NULL)
        rc = llm_errorf(err, "%s: metadata key \"%s\": duplicate or contains NUL", r->path, key);
    if (rc == LLM_OK) rc = rd_u32(r, &type, key, err);
    if (rc == LLM_OK) rc = rd_value(r, key, type, 0, &v, err);
    if (rc == LLM_OK && json_object_set_new(meta, key, v) != 0)
        rc = llm_errorf(err, "%s: metadata key is not valid UTF-8: \"%s\"", r->path, key);
    free(key);
    return rc;
}

/* ---- tensor infos --------------------------------------------------------- */

static const char *const GGML_TYPE_NAMES[] = {
    "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
    "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
    "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
    "IQ1_M", "BF16", "Q4_0_4_4", "Q4_0_4_8", "Q4_0_8_8", "TQ1_0", "TQ2_0",
};

const char *gguf_type_name(uint32_t t) {
    if (t >= sizeof GGML_TYPE_NAMES / sizeof GGML_TYPE_NAMES[0]) return "?";
    return GGML_TYPE_NAMES[t];
}

static int ggml_to_dtype(uint32_t t) {
    switch (t) {
    case 0: return DTYPE_F32;
    case 1: return DTYPE_F16;
    case 2: return DTYPE_Q4_0;
    case 3: return DTYPE_Q4_1;
    case 8: return DTYPE_Q8_0;
    case 12: return DTYPE_Q4_K;
    case 14: return DTYPE_Q6_K;
    case 30: return DTYPE_BF16;
    default: return -1;
    }
}

/* Reads ne[] and the type of tensor t (already named), outermost first. */
static int rd_tensor_shape(GgufReader *r, TensorInfo *t, LlmError *err) {
    uint32_t n_dims, type;
    if (rd_u32(r, &n_dims, t->name, err)) return LLM_ERR;
    if (n_dims < 1 || n_dims > TENSOR_MAX_DIMS)
        return llm_errorf(err, "%s: tensor \"%s\": %u dimensions (supported: 1..%d)", r->path,
                          t->name, n_dims, TENSOR_MAX_DIMS);
    t->n_dims = (int)n_dims;
    for (uint32_t i = 0; i < n_dims; i++) {
        uint64_t ne;
        if (rd_u64(r, &ne, t->name, err)) return LLM_ERR;
        if (ne == 0 || ne > ((uint64_t)1 << 40))
            return llm_errorf(err, "%s: tensor \"%s\": dimension %u has size %llu", r->path,
                              t->name, i, (unsigned long long)ne);
        t->shape[n_dims - 1 - i] = (int64_t)ne;
    }
    if (rd_u32(r, &type, t->name, err)) return LLM_ERR;
    int dt = ggml_to_dtype(type);
    if (dt < 0)
        return llm_errorf(err, "%s: tensor \"%s\": unsupported tensor type %u (%s); supported: "
                          "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K", r->path, t->name,
                          type, gguf_type_name(type));
    t->dtype = (DType)dt;
    t->n_bytes = tensor_storage_bytes(t->dtype, t->shape, t->n_dims);
    if (t->n_bytes == 0)
        return llm_errorf(err, "%s: tensor \"%s\": innermost size %lld is not a multiple of "
                          "the %s block (%d)", r->path, t->name,
                          (long long)t->shape[t->n_dims - 1], dtype_name(t->dtype),
                          dtype_block_elems(t->dtype));
    return LLM_OK;
}

/* Reads one tensor info; the offset is kept in data (as an integer) until
 * the data section start is known. */
static int rd_tensor_info(GgufReader *r, TensorTable *tt, LlmError *err) {
    const char *s;
    size_t len;
    uint64_t off;
    if (rd_str(r, &s, &len, "tensor name", err)) return LLM_ERR;
    char *name = llm_xmalloc(len + 1);
    memcpy(name, s, len);
    name[len] = '\0';
    TensorInfo *t = tensor_table_add(tt, name);
    free(name);
    t->file = r->path;
    if (rd_tensor_shape(r, t, err) || rd_u64(r, &off, t->name, err)) return LLM_ERR;
    t->data = (const uint8_t *)(uintptr_t)off;
    return LLM_OK;
}

static int place_tensors(GgufReader *r, GgufFile *g, LlmError *err) {
    g->data_offset = (r->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->data_offset > r->size && g->tensors.count > 0)
        return llm_errorf(err, "%s: truncated file: data section starts at %zu, file has %zu "
                          "bytes", r->path, g->data_offset, r->size);
    for (int i = 0; i < g->tensors.count; i++) {
        TensorInfo *t = &g->tensors.items[i];
        uint64_t off = (uint64_t)(uintptr_t)t->data;
        size_t avail = r->size - g->data_offset;
        if (off % g->alignment != 0 || off > avail || t->n_bytes > avail - off)
            return llm_errorf(err, "%s: tensor \"%s\": data at offset %llu (+%zu bytes) is "
                              "misaligned or outside the data section (%zu bytes)", r->path,
                              t->name, (unsigned long long)off, t->n_bytes, avail);
        t->data = r->data + g->data_offset + off;
    }
    return LLM_OK;
}

static int rd_header(GgufReader *r, GgufFile *g, uint64_t *n_tensors, uint64_t *n_kv,
                     LlmError *err) {
    if (need(r, 4, "magic", err)) return LLM_ERR;
    const uint8_t *m = r->data;
    if (memcmp(m, "GGUF", 4) != 0) {
        char shown[5];
        for (int i = 0; i < 4; i++) shown[i] = m[i] >= 32 && m[i] < 127 ? (char)m[i] : '.';
        shown[4] = '\0';
        return llm_errorf(err, "%s: not a GGUF file: bad magic %02x %02x %02x %02x (\"%s\"), "
                          "expected \"GGUF\"", r->path, m[0], m[1], m[2], m[3], shown);
    }
    r->pos = 4;
    if (rd_u32(r, &g->version, "version", err)) return LLM_ERR;
    if (g->version != 2 && g->version != 3)
        return llm_errorf(err, "%s: unsupported GGUF version %u (supported: 2, 3; big-endian "
                          "files are not supported)", r->path, g->version);
    if (rd_u64(r, n_tensors, "tensor count", err) || rd_u64(r, n_kv, "metadata count", err))
        return LLM_ERR;
    /* each tensor info takes >= 32 bytes, each key/value >= 13 */
    if (*n_tensors > (r->size - r->pos) / 32 || *n_kv > (r->size - r->pos) / 13)
        return llm_errorf(err, "%s: absurd counts: %llu tensors, %llu metadata entries in a "
                          "%zu-byte file", r->path, (unsigned long long)*n_tensors,
                          (unsigned long long)*n_kv, r->size);
    return LLM_OK;
}

static int read_alignment(GgufFile *g, LlmError *err) {
    const json_t *a = json_object_get(g->meta, "general.alignment");
    g->alignment = 32;
    if (a == NULL) return LLM_OK;
    json_int_t v = json_is_integer(a) ? json_integer_value(a) : 0;
    if (v <= 0 || v > (1 << 20) || (v & (v - 1)) != 0) {
        char *s = json_util_repr(a);
        llm_errorf(err, "%s: metadata \"general.alignment\": expected a power of two, got %s",
                   g->path, s);
        free(s);
        return LLM_ERR;
    }
    g->alignment = (size_t)v;
    return LLM_OK;
}

int gguf_parse(const MappedFile *mf, GgufFile *g, LlmError *err) {
    memset(g, 0, sizeof *g);
    g->path = mf->path;
    GgufReader r = {mf->path, mf->data, mf->size, 0};
    uint64_t n_tensors = 0, n_kv = 0;
    g->meta = json_object();
    int rc = rd_header(&r, g, &n_tensors, &n_kv, err);
    for (uint64_t i = 0; rc == LLM_OK && i < n_kv; i++) rc = rd_kv(&r, g->meta, err);
    if (rc == LLM_OK) rc = read_alignment(g, err);
    for (uint64_t i = 0; rc == LLM_OK && i < n_tensors; i++)
        rc = rd_tensor_info(&r, &g->tensors, err);
    if (rc == LLM_OK) rc = place_tensors(&r, g, err);
    if (rc != LLM_OK) gguf_free(g);
    return rc;
}

void gguf_free(GgufFile *g) {
    json_decref(g->meta);
    tensor_table_free(&g->tensors);
    memset(g, 0, sizeof *g);
}
