/* model_load.c - the single entry point: a Hugging Face folder or a GGUF
 * file -> LoadedModel (desc, tensor table, tokenizer, generation defaults).
 *
 * Owns everything it builds; on any error the partly built model is freed
 * before returning, so callers free only after success. The tensor check
 * (model_check_tensors) runs last, so a frontend can rely on every tensor it
 * reads being present with the shape the config implies.
 */
#include "load/model_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "load/gguf.h"
#include "load/hf_config.h"
#include "load/json_util.h"
#include "load/safetensors.h"

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = llm_xmalloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Loads dir/name into *out; when absent and optional, *out = {}. */
static int load_json_in(const char *dir, const char *name, JsonNeed need, json_t **out,
                        LlmError *err) {
    char *p = join(dir, name);
    int rc = LLM_OK;
    if (need == JSON_OPTIONAL && !file_exists(p)) *out = json_object();
    else rc = json_util_load_file(p, out, err);
    if (rc == LLM_OK && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = llm_errorf(err, "%s: expected a JSON object", p);
    }
    free(p);
    return rc;
}

static int hf_desc(const char *dir, LoadedModel *m, LlmError *err) {
    json_t *cfg;
    if (load_json_in(dir, "config.json", JSON_REQUIRED, &cfg, err)) return LLM_ERR;
    char *p = join(dir, "config.json");
    int rc = hf_config_parse(cfg, p, &m->desc, err);
    json_decref(cfg);
    free(p);
    if (rc != LLM_OK) return rc;
    if (load_json_in(dir, "generation_config.json", JSON_OPTIONAL, &m->generation, err))
        return LLM_ERR;
    p = join(dir, "generation_config.json");
    rc = hf_config_apply_generation(m->generation, p, &m->desc, err);
    if (rc == LLM_OK) rc = model_desc_validate(&m->desc, p, err);
    free(p);
    return rc;
}

/* The HF tokenizer description of dir: tokenizer.json + tokenizer_config.json. */
static int hf_tokenizer_json(const char *dir, json_t **out, LlmError *err) {
    json_t *tok, *cfg;
    if (load_json_in(dir, "tokenizer.json", JSON_REQUIRED, &tok, err)) return LLM_ERR;
    if (load_json_in(dir, "tokenizer_config.json", JSON_OPTIONAL, &cfg, err)) {
        json_decref(tok);
        return LLM_ERR;
    }
    *out = json_pack("{s:s, s:o, s:o}", "format", "hf", "tokenizer", tok, "config", cfg);
    return LLM_OK;
}

static int load_hf(const char *dir, LoadedModel *m, LlmError *err) {
    m->format = MODEL_FORMAT_HF;
    if (hf_desc(dir, m, err)) return LLM_ERR;
    if (safetensors_load_dir(dir, &m->files, &m->n_files, &m->tensors, err)) return LLM_ERR;
    if (tensor_table_find(&m->tensors, "lm_head.weight") == NULL &&
        tensor_table_find(&m->tensors, "model.embed_tokens.weight") != NULL)
        m->desc.tie_embeddings = 1;
    return hf_tokenizer_json(dir, &m->tokenizer, err);
}

/* The GGUF tokenizer description: every tokenizer.* key of meta. */
static json_t *gguf_tokenizer_json(const json_t *meta) {
    json_t *tmeta = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        if (strncmp(key, "tokenizer.", 10) == 0) json_object_set(tmeta, key, v);
    }
    return json_pack("{s:s, s:o}", "format", "gguf", "meta", tmeta);
}

static int load_gguf(const char *path, LoadedModel *m, LlmError *err) {
    m->format = MODEL_FORMAT_GGUF;
    m->generation = json_object();
    m->files = llm_xcalloc(1, sizeof *m->files);
    if (mapped_file_open(&m->files[0], path, err)) return LLM_ERR;
    m->n_files = 1;
    GgufFile g;
    if (gguf_parse(&m->files[0], &g, err)) return LLM_ERR;
    int rc = gguf_model_desc(&g, &m->desc, err);
    if (rc == LLM_OK) rc = gguf_map_tensors(&g, &m->desc, err);
    if (rc == LLM_OK) {
        m->tokenizer = gguf_tokenizer_json(g.meta);
        m->tensors = g.tensors;
        memset(&g.tensors, 0, sizeof g.tensors);
    }
    gguf_free(&g);
    return rc;
}

int model_load(const char *path, LoadedModel *out, LlmError *err) {
    memset(out, 0, sizeof *out);
    out->source_path = llm_xstrdup(path);
    struct stat st;
    int rc;
    if (stat(path, &st) != 0) rc = llm_errorf(err, "%s: no such file or directory", path);
    else if (S_ISDIR(st.st_mode)) rc = load_hf(path, out, err);
    else rc = load_gguf(path, out, err);
    if (rc == LLM_OK) rc = model_check_tensors(out, err);
    if (rc != LLM_OK) loaded_model_free(out);
    return rc;
}

void loaded_model_free(LoadedModel *m) {
    tensor_table_free(&m->tensors);
    for (int i = 0; i < m->n_files; i++) mapped_file_close(&m->files[i]);
    free(m->files);
    json_decref(m->tokenizer);
    json_decref(m->generation);
    free(m->source_path);
    memset(m, 0, sizeof *m);
}

/* ---- tokenizer only --------------------------------------------------------- */

/* A GGUF file, tensors or not (vocab-only files have none and no
 * architecture keys): only the tokenizer.* metadata is read. */
static int tokenizer_from_gguf(const char *path, json_t **out, LlmError *err) {
    MappedFile mf;
    if (mapped_file_open(&mf, path, err)) return LLM_ERR;
    GgufFile g;
    int rc = gguf_parse(&mf, &g, err);
    if (rc == LLM_OK) {
        if (!json_is_string(json_object_get(g.meta, "tokenizer.ggml.model")))
            rc = llm_errorf(err, "%s: metadata \"tokenizer.ggml.model\" is missing: the file "
                            "carries no tokenizer", path);
        else *out = gguf_tokenizer_json(g.meta);
        gguf_free(&g);
    }
    mapped_file_close(&mf);
    return rc;
}

/* A JSON file: a tokenizer description ({"format": ...}, as --emit-only
 * writes it) or a bare Hugging Face tokenizer.json ({"model": ...}). */
static int tokenizer_from_json(const char *path, json_t **out, LlmError *err) {
    json_t *j;
    if (json_util_load_file(path, &j, err)) return LLM_ERR;
    if (json_is_object(j) && json_object_get(j, "format")) {
        *out = j;
        return LLM_OK;
    }
    if (json_is_object(j) && json_object_get(j, "model")) {
        *out = json_pack("{s:s, s:o, s:o}", "format", "hf", "tokenizer", j, "config",
                         json_object());
        return LLM_OK;
    }
    json_decref(j);
    return llm_errorf(err, "%s: not a tokenizer description: expected an object with "
                      "\"format\" (llmcc) or \"model\" (tokenizer.json)", path);
}

/* 1 if the file starts with '{' after white space (JSON), 0 otherwise. */
static int looks_like_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    int c;
    while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t') {
    }
    fclose(f);
    return c == '{';
}

int model_load_tokenizer(const char *path, json_t **tok, LlmError *err) {
    *tok = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return llm_errorf(err, "%s: no such file or directory", path);
    if (S_ISDIR(st.st_mode)) return hf_tokenizer_json(path, tok, err);
    if (looks_like_json(path)) return tokenizer_from_json(path, tok, err);
    return tokenizer_from_gguf(path, tok, err);
}

/* ---- tensor shape check ---------------------------------------------------- */

/* One expected tensor: name, shape and the config fields that imply it. */
typedef struct Expect {
    char name[128];    /* canonical HF name */
    int n_dims;        /* 1 or 2 */
    int64_t shape[2];  /* expected shape */
    char why[256];     /* "hidden_size=576, ..." */
} Expect;

static void shape_str(char *buf, size_t n, const int64_t *shape, int n_dims) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < n_dims && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

static int check_one(const LoadedModel *m, const Expect *e, LlmError *err) {
    const char *src = m->format == MODEL_FORMAT_HF ? "config.json" : "GGUF metadata";
    char want[96], have[96];
    shape_str(want, sizeof want, e->shape, e->n_dims);
    const TensorInfo *t = tensor_table_find(&m->tensors, e->name);
    if (t == NULL)
        return llm_errorf(err, "%s: tensor \"%s\": missing (expected %s from %s)",
                          m->source_path, e->name, want, e->why);
    int ok = t->n_dims == e->n_dims;
    for (int i = 0; ok && i < e->n_dims; i++) ok = t->shape[i] == e->shape[i];
    if (ok) return LLM_OK;
    shape_str(have, sizeof have, t->shape, t->n_dims);
    return llm_errorf(err, "%s: tensor \"%s\": shape %s does not match %s (expected %s from "
                      "%s)", t->file ? t->file : m->source_path, e->name, have, src, want,
                      e->why);
}

static int expect(const LoadedModel *m, const char *name, int64_t d0, int64_t d1,
                  const char *why, LlmError *err) {
    Expect e;
    snprintf(e.name, sizeof e.name, "%s", name);
    e.n_dims = d1 > 0 ? 2 : 1;
    e.shape[0] = d0;
    e.shape[1] = d1;
    snprintf(e.why, sizeof e.why, "%s", why);
    return check_one(m, &e, err);
}

static int check_layer(const LoadedModel *m, int l, LlmError *err) {
    const ModelDesc *d = &m->desc;
    int64_t H = d->hidden_size, I = d->intermediate_size, Q = (int64_t)d->n_heads * d->head_dim;
    int64_t KV = (int64_t)d->n_kv_heads * d->head_dim;
    char n[128], wq[160], wkv[160], wh[64], wi[96];
    snprintf(wh, sizeof wh, "hidden_size=%d", d->hidden_size);
    snprintf(wi, sizeof wi, "intermediate_size=%d, hidden_size=%d", d->intermediate_size,
             d->hidden_size);
    snprintf(wq, sizeof wq, "num_attention_heads=%d, head_dim=%d, hidden_size=%d", d->n_heads,
             d->head_dim, d->hidden_size);
    snprintf(wkv, sizeof wkv, "num_key_value_heads=%d, head_dim=%d, hidden_size=%d",
             d->n_kv_heads, d->head_dim, d->hidden_size);
#define LAYER(suffix) (snprintf(n, sizeof n, "model.layers.%d.%s", l, suffix), n)
    if (expect(m, LAYER("input_layernorm.weight"), H, 0, wh, err) ||
        expect(m, LAYER("self_attn.q_proj.weight"), Q, H, wq, err) ||
        expect(m, LAYER("self_attn.k_proj.weight"), KV, H, wkv, err) ||
        expect(m, LAYER("self_attn.v_proj.weight"), KV, H, wkv, err) ||
        expect(m, LAYER("self_attn.o_proj.weight"), H, Q, wq, err) ||
        expect(m, LAYER("post_attention_layernorm.weight"), H, 0, wh, err) ||
        expect(m, LAYER("mlp.gate_proj.weight"), I, H, wi, err) ||
        expect(m, LAYER("mlp.up_proj.weight"), I, H, wi, err) ||
        expect(m, LAYER("mlp.down_proj.weight"), H, I, wi, err))
        return LLM_ERR;
    if (d->attention_bias &&
        (expect(m, LAYER("self_attn.q_proj.bias"), Q, 0, wq, err) ||
         expect(m, LAYER("self_attn.k_proj.bias"), KV, 0, wkv, err) ||
         expect(m, LAYER("self_attn.v_proj.bias"), KV, 0, wkv, err)))
        return LLM_ERR;
#undef LAYER
    return LLM_OK;
}

int model_check_tensors(const LoadedModel *m, LlmError *err) {
    const ModelDesc *d = &m->desc;
    char why[128];
    snprintf(why, sizeof why, "vocab_size=%d, hidden_size=%d", d->vocab_size, d->hidden_size);
    if (expect(m, "model.embed_tokens.weight", d->vocab_size, d->hidden_size, why, err))
        return LLM_ERR;
    if (!d->tie_embeddings &&
        expect(m, "lm_head.weight", d->vocab_size, d->hidden_size, why, err))
        return LLM_ERR;
    for (int l = 0; l < d->n_layers; l++)
        if (check_layer(m, l, err)) return LLM_ERR;
    snprintf(why, sizeof why, "hidden_size=%d", d->hidden_size);
    return expect(m, "model.norm.weight", d->hidden_size, 0, why, err);
}
