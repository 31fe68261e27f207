/* safetensors.c - safetensors header parsing, shards and aliases.
 *
 * Every number in the header is checked against the file before a tensor
 * points into it: header length within the file, offsets inside the data
 * section, end >= begin, and end - begin == numel * dtype size. Messages name
 * the file, the tensor and the offending value. Only F32/F16/BF16 are read.
 */
#include "load/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/json_util.h"

/* Context of one file being parsed. */
typedef struct StFile {
    const char *path;    /* for messages, borrowed from the MappedFile */
    const uint8_t *data; /* start of the data section */
    uint64_t data_size;  /* bytes after the header */
} StFile;

static int st_dtype(const StFile *f, const char *name, const json_t *desc, DType *out,
                    LlmError *err) {
    const char *s = json_string_value(json_object_get(desc, "dtype"));
    if (s == NULL) {
        char *r = json_util_repr(json_object_get(desc, "dtype"));
        llm_errorf(err, "%s: tensor \"%s\": field \"dtype\": expected a string, got %s",
                   f->path, name, r);
        free(r);
        return LLM_ERR;
    }
    if (strcmp(s, "F32") == 0) *out = DTYPE_F32;
    else if (strcmp(s, "F16") == 0) *out = DTYPE_F16;
    else if (strcmp(s, "BF16") == 0) *out = DTYPE_BF16;
    else
        return llm_errorf(err, "%s: tensor \"%s\": unsupported dtype \"%s\" (supported: F32, "
                          "F16, BF16)", f->path, name, s);
    return LLM_OK;
}

static int st_shape(const StFile *f, const char *name, const json_t *desc, TensorInfo *t,
                    LlmError *err) {
    const json_t *sh = json_object_get(desc, "shape");
    size_t n = json_array_size(sh);
    if (!json_is_array(sh) || n > TENSOR_MAX_DIMS) {
        char *r = json_util_repr(sh);
        llm_errorf(err, "%s: tensor \"%s\": field \"shape\": expected an array of at most %d "
                   "sizes, got %s", f->path, name, TENSOR_MAX_DIMS, r);
        free(r);
        return LLM_ERR;
    }
    t->n_dims = n == 0 ? 1 : (int)n; /* a scalar is stored as [1] */
    for (size_t i = 0; i < n; i++) {
        const json_t *d = json_array_get(sh, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) > ((int64_t)1 << 40)) {
            char *r = json_util_repr(sh);
            llm_errorf(err, "%s: tensor \"%s\": bad shape %s", f->path, name, r);
            free(r);
            return LLM_ERR;
        }
        t->shape[i] = json_integer_value(d);
    }
    return LLM_OK;
}

static int st_offsets(const StFile *f, const char *name, const json_t *desc, TensorInfo *t,
                      LlmError *err) {
    const json_t *off = json_object_get(desc, "data_offsets");
    const json_t *a = json_array_get(off, 0), *b = json_array_get(off, 1);
    if (json_array_size(off) != 2 || !json_is_integer(a) || !json_is_integer(b) ||
        json_integer_value(a) < 0 || json_integer_value(b) < 0) {
        char *r = json_util_repr(off);
        llm_errorf(err, "%s: tensor \"%s\": field \"data_offsets\": expected [begin, end], "
                   "got %s", f->path, name, r);
        free(r);
        return LLM_ERR;
    }
    uint64_t begin = (uint64_t)json_integer_value(a), end = (uint64_t)json_integer_value(b);
    if (end < begin)
        return llm_errorf(err, "%s: tensor \"%s\": data_offsets [%llu, %llu]: end < begin",
                          f->path, name, (unsigned long long)begin, (unsigned long long)end);
    if (end > f->data_size)
        return llm_errorf(err, "%s: tensor \"%s\": data_offsets [%llu, %llu] outside the data "
                          "section (%llu bytes; file truncated?)", f->path, name,
                          (unsigned long long)begin, (unsigned long long)end,
                          (unsigned long long)f->data_size);
    size_t want = tensor_storage_bytes(t->dtype, t->shape, t->n_dims);
    if (end - begin != (uint64_t)want)
        return llm_errorf(err, "%s: tensor \"%s\": data_offsets [%llu, %llu] hold %llu bytes, "
                          "but shape and dtype %s need %zu", f->path, name,
                          (unsigned long long)begin, (unsigned long long)end,
                          (unsigned long long)(end - begin), dtype_name(t->dtype), want);
    t->data = f->data + begin;
    t->n_bytes = (size_t)(end - begin);
    return LLM_OK;
}

static int st_tensor(const StFile *f, const char *name, const json_t *desc, TensorTable *tt,
                     LlmError *err) {
    if (!json_is_object(desc)) {
        char *r = json_util_repr(desc);
        llm_errorf(err, "%s: tensor \"%s\": expected an object, got %s", f->path, name, r);
        free(r);
        return LLM_ERR;
    }
    TensorInfo t;
    memset(&t, 0, sizeof t);
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t.shape[i] = 1;
    if (st_dtype(f, name, desc, &t.dtype, err) != LLM_OK) return LLM_ERR;
    if (st_shape(f, name, desc, &t, err) != LLM_OK) return LLM_ERR;
    if (st_offsets(f, name, desc, &t, err) != LLM_OK) return LLM_ERR;
    TensorInfo *dst = tensor_table_add(tt, name);
    char *owned = dst->name;
    *dst = t;
    dst->name = owned;
    dst->file = f->path;
    return LLM_OK;
}

/* Adds metadata aliases among the tensors tt[first..count). */
static void st_aliases(const json_t *meta, TensorTable *tt, int first) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        const char *target = json_string_value(v);
        if (target == NULL) continue;
        int src = -1, exists = 0;
        for (int i = first; i < tt->count; i++) {
            if (strcmp(tt->items[i].name, target) == 0) src = i;
            if (strcmp(tt->items[i].name, key) == 0) exists = 1;
        }
        if (src < 0 || exists) continue;
        TensorInfo copy = tt->items[src];
        TensorInfo *dst = tensor_table_add(tt, key);
        char *owned = dst->name;
        *dst = copy;
        dst->name = owned;
    }
}

static int st_header(const MappedFile *mf, StFile *f, json_t **hdr, LlmError *err) {
    f->path = mf->path;
    if (mf->size < 8)
        return llm_errorf(err, "%s: truncated file (%zu bytes, need at least 8)", mf->path,
                          mf->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | mf->data[i];
    if (n > mf->size - 8)
        return llm_errorf(err, "%s: header length %llu runs past the end of the file (%zu "
                          "bytes)", mf->path, (unsigned long long)n, mf->size);
    json_error_t je;
    *hdr = json_loadb((const char *)mf->data + 8, (size_t)n, 0, &je);
    if (*hdr == NULL)
        return llm_errorf(err, "%s: header is not valid JSON: %s (at header byte %d)",
                          mf->path, je.text, je.position);
    if (!json_is_object(*hdr)) {
        json_decref(*hdr);
        *hdr = NULL;
        return llm_errorf(err, "%s: header is not a JSON object", mf->path);
    }
    f->data = mf->data + 8 + n;
    f->data_size = mf->size - 8 - n;
    return LLM_OK;
}

/* Checks that every name the weight map assigns to shard was found. */
static int st_check_shard(const char *path, const json_t *weight_map, const char *shard,
                          const json_t *hdr, LlmError *err) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)weight_map, key, v) {
        const char *s = json_string_value(v);
        if (s != NULL && strcmp(s, shard) == 0 && json_object_get(hdr, key) == NULL)
            return llm_errorf(err, "%s: tensor \"%s\": listed in the index but missing from "
                              "this shard", path, key);
    }
    return LLM_OK;
}

int safetensors_parse(const MappedFile *mf, const json_t *weight_map, const char *shard,
                      TensorTable *tt, LlmError *err) {
    StFile f = {0};
    json_t *hdr = NULL, *desc;
    const char *name;
    if (st_header(mf, &f, &hdr, err) != LLM_OK) return LLM_ERR;
    int first = tt->count, rc = LLM_OK;
    json_object_foreach(hdr, name, desc) {
        if (strcmp(name, "__metadata__") == 0) continue;
        if (weight_map != NULL) {
            const char *s = json_string_value(json_object_get(weight_map, name));
            if (s == NULL || strcmp(s, shard) != 0) continue;
        }
        if ((rc = st_tensor(&f, name, desc, tt, err)) != LLM_OK) break;
    }
    if (rc == LLM_OK && weight_map != NULL)
        rc = st_check_shard(mf->path, weight_map, shard, hdr, err);
    const json_t *meta = json_object_get(hdr, "__metadata__");
    if (rc == LLM_OK && json_is_object(meta)) st_aliases(meta, tt, first);
    json_decref(hdr);
    return rc;
}

static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = llm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int st_load_file(const char *path, const json_t *wm, const char *shard,
                        MappedFile **files, int *n_files, TensorTable *tt, LlmError *err) {
    *files = llm_xrealloc(*files, sizeof **files * (size_t)(*n_files + 1));
    MappedFile *mf = &(*files)[*n_files];
    if (mapped_file_open(mf, path, err) != LLM_OK) return LLM_ERR;
    (*n_files)++;
    /* tensors borrow mf->path, a heap string that survives the realloc */
    return safetensors_parse(mf, wm, shard, tt, err);
}

static int st_load_index(const char *dir, const char *index_path, MappedFile **files,
                         int *n_files, TensorTable *tt, LlmError *err) {
    json_t *idx;
    if (json_util_load_file(index_path, &idx, err) != LLM_OK) return LLM_ERR;
    json_t *wm = json_object_get(idx, "weight_map");
    int rc = LLM_OK;
    if (!json_is_object(wm)) {
        char *r = json_util_repr(wm);
        rc = llm_errorf(err, "%s: field \"weight_map\": expected an object, got %s",
                        index_path, r);
        free(r);
    }
    json_t *done = json_object();
    const char *key;
    json_t *v;
    json_object_foreach(rc == LLM_OK ? wm : NULL, key, v) {
        const char *shard = json_string_value(v);
        if (shard == NULL || shard[0] == '\0' || strchr(shard, '/') != NULL) {
            char *r = json_util_repr(v);
            rc = llm_errorf(err, "%s: weight_map \"%s\": bad shard file name %s", index_path,
                            key, r);
            free(r);
            break;
        }
        if (json_object_get(done, shard) != NULL) continue;
        json_object_set_new(done, shard, json_true());
        char *p = path_join(dir, shard);
        rc = st_load_file(p, wm, shard, files, n_files, tt, err);
        free(p);
        if (rc != LLM_OK) break;
    }
    json_decref(done);
    json_decref(idx);
    return rc;
}

static int st_check_dups(const TensorTable *tt, LlmError *err) {
    for (int i = 1; i < tt->count; i++)
        if (strcmp(tt->items[i - 1].name, tt->items[i].name) == 0)
            return llm_errorf(err, "%s: tensor \"%s\": defined twice (also in %s)",
                              tt->items[i].file, tt->items[i].name, tt->items[i - 1].file);
    return LLM_OK;
}

int safetensors_load_dir(const char *dir, MappedFile **files, int *n_files, TensorTable *tt,
                         LlmError *err) {
    char *single = path_join(dir, "model.safetensors");
    char *index = path_join(dir, "model.safetensors.index.json");
    int rc;
    FILE *probe = fopen(single, "rb");
    if (probe != NULL) {
        fclose(probe);
        rc = st_load_file(single, NULL, NULL, files, n_files, tt, err);
    } else if ((probe = fopen(index, "rb")) != NULL) {
        fclose(probe);
        rc = st_load_index(dir, index, files, n_files, tt, err);
    } else {
        rc = llm_errorf(err, "%s: no model.safetensors or model.safetensors.index.json", dir);
    }
    free(single);
    free(index);
    if (rc != LLM_OK) return rc;
    tensor_table_sort(tt);
    return st_check_dups(tt, err);
}
