/* gguf_model.c - llama.cpp model conventions on top of a parsed GGUF file:
 * "<arch>.*" metadata -> ModelDesc, GGUF tensor names -> Hugging Face names.
 *
 * Supported general.architecture: "llama" (q/k rows permuted by llama.cpp's
 * converter; marked for un-permuting on read) and "qwen2" (not permuted,
 * q/k/v bias). Llama 3 rope frequency factors (rope_freqs.weight) are not
 * mapped to ModelDesc here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/gguf.h"
#include "load/hf_config.h"
#include "load/json_util.h"

/* "<arch>.<suffix>" into buf. */
static const char *akey(char *buf, size_t n, const char *arch, const char *suffix) {
    snprintf(buf, n, "%s.%s", arch, suffix);
    return buf;
}

static int gguf_arch(const GgufFile *g, ModelDesc *d, LlmError *err) {
    const char *a = NULL;
    if (json_util_get_string(g->meta, g->path, "general.architecture", JSON_REQUIRED, &a, err))
        return LLM_ERR;
    if (strcmp(a, "llama") != 0 && strcmp(a, "qwen2") != 0)
        return llm_errorf(err, "%s: field \"general.architecture\": unsupported architecture "
                          "\"%s\" (supported: llama, qwen2)", g->path, a);
    snprintf(d->arch, sizeof d->arch, "%s", a);
    snprintf(d->hf_class, sizeof d->hf_class, "%s", a);
    d->attention_bias = strcmp(a, "qwen2") == 0;
    return LLM_OK;
}

static int gguf_sizes(const GgufFile *g, ModelDesc *d, LlmError *err) {
    char k[128];
    const char *a = d->arch, *p = g->path;
    const json_t *m = g->meta;
    if (json_util_get_pos_int(m, p, akey(k, sizeof k, a, "embedding_length"), JSON_REQUIRED,
                         &d->hidden_size, err) ||
        json_util_get_pos_int(m, p, akey(k, sizeof k, a, "block_count"), JSON_REQUIRED,
                         &d->n_layers, err) ||
        json_util_get_pos_int(m, p, akey(k, sizeof k, a, "feed_forward_length"), JSON_REQUIRED,
                         &d->intermediate_size, err) ||
        json_util_get_pos_int(m, p, akey(k, sizeof k, a, "attention.head_count"), JSON_REQUIRED,
                         &d->n_heads, err))
        return LLM_ERR;
    d->n_kv_heads = d->n_heads;
    d->head_dim = d->hidden_size / d->n_heads;
    d->max_context = 2048;
    d->rms_eps = 1e-5f;
    d->rope_theta = 10000.0f;
    if (json_util_get_pos_int(m, p, akey(k, sizeof k, a, "attention.head_count_kv"), JSON_OPTIONAL,
                         &d->n_kv_heads, err) ||
        json_util_get_pos_int(m, p, akey(k, sizeof k, a, "attention.key_length"), JSON_OPTIONAL,
                         &d->head_dim, err) ||
        json_util_get_pos_int(m, p, akey(k, sizeof k, a, "context_length"), JSON_OPTIONAL,
                         &d->max_context, err) ||
        json_util_get_float(m, p, akey(k, sizeof k, a, "attention.layer_norm_rms_epsilon"),
                       JSON_OPTIONAL, &d->rms_eps, err) ||
        json_util_get_float(m, p, akey(k, sizeof k, a, "rope.freq_base"), JSON_OPTIONAL,
                       &d->rope_theta, err))
        return LLM_ERR;
    int rot = d->head_dim;
    if (json_util_get_pos_int(m, p, akey(k, sizeof k, a, "rope.dimension_count"), JSON_OPTIONAL,
                         &rot, err))
        return LLM_ERR;
    if (rot != d->head_dim)
        return llm_errorf(err, "%s: field \"%s\": partial rotary (%d of head_dim %d) is not "
                          "supported", p, k, rot, d->head_dim);
    return LLM_OK;
}

static int gguf_rope_scaling(const GgufFile *g, ModelDesc *d, LlmError *err) {
    char k[128];
    const char *type = NULL;
    d->rope_scaling = ROPE_SCALING_NONE;
    d->rope_factor = 1.0f;
    if (json_util_get_string(g->meta, g->path, akey(k, sizeof k, d->arch, "rope.scaling.type"),
                        JSON_OPTIONAL, &type, err))
        return LLM_ERR;
    if (type == NULL || strcmp(type, "none") == 0) return LLM_OK;
    if (strcmp(type, "linear") != 0)
        return llm_errorf(err, "%s: field \"%s\": unsupported rope scaling \"%s\" (supported: "
                          "none, linear)", g->path, k, type);
    d->rope_scaling = ROPE_SCALING_LINEAR;
    return json_util_get_float(g->meta, g->path, akey(k, sizeof k, d->arch, "rope.scaling.factor"),
                          JSON_REQUIRED, &d->rope_factor, err);
}

/* vocab_size from "<arch>.vocab_size", else the token list, else token_embd. */
static int gguf_vocab(const GgufFile *g, ModelDesc *d, LlmError *err) {
    char k[128];
    d->vocab_size = 0;
    if (json_util_get_pos_int(g->meta, g->path, akey(k, sizeof k, d->arch, "vocab_size"),
                         JSON_OPTIONAL, &d->vocab_size, err))
        return LLM_ERR;
    size_t n = json_array_size(json_object_get(g->meta, "tokenizer.ggml.tokens"));
    if (d->vocab_size == 0 && n > 0 && n < 0x7fffffff) d->vocab_size = (int)n;
    for (int i = 0; d->vocab_size == 0 && i < g->tensors.count; i++)
        if (strcmp(g->tensors.items[i].name, "token_embd.weight") == 0)
            d->vocab_size = (int)g->tensors.items[i].shape[0];
    if (d->vocab_size <= 0)
        return llm_errorf(err, "%s: no vocabulary size (no %s, tokenizer.ggml.tokens or "
                          "token_embd.weight)", g->path, k);
    return LLM_OK;
}

static int gguf_special(const GgufFile *g, ModelDesc *d, LlmError *err) {
    int eos = -1, eot = -1;
    d->bos_token_id = -1;
    for (int i = 0; i < 4; i++) d->eos_token_ids[i] = -1;
    if (json_util_get_int(g->meta, g->path, "tokenizer.ggml.bos_token_id", JSON_OPTIONAL,
                     &d->bos_token_id, err) ||
        json_util_get_int(g->meta, g->path, "tokenizer.ggml.eos_token_id", JSON_OPTIONAL, &eos,
                     err) ||
        json_util_get_int(g->meta, g->path, "tokenizer.ggml.eot_token_id", JSON_OPTIONAL, &eot,
                     err))
        return LLM_ERR;
    d->eos_token_ids[0] = eos >= 0 ? eos : eot;
    if (eos >= 0 && eot >= 0 && eot != eos) d->eos_token_ids[1] = eot;
    return LLM_OK;
}

int gguf_model_desc(const GgufFile *g, ModelDesc *d, LlmError *err) {
    memset(d, 0, sizeof *d);
    if (gguf_arch(g, d, err) || gguf_sizes(g, d, err) || gguf_rope_scaling(g, d, err) ||
        gguf_vocab(g, d, err) || gguf_special(g, d, err))
        return LLM_ERR;
    d->tie_embeddings = 1;
    for (int i = 0; i < g->tensors.count; i++)
        if (strcmp(g->tensors.items[i].name, "output.weight") == 0) d->tie_embeddings = 0;
    return model_desc_validate(d, g->path, err);
}

/* ---- tensor names --------------------------------------------------------- */

/* Per-layer GGUF base names and their HF counterparts. */
static const struct {
    const char *gguf; /* after "blk.N." */
    const char *hf;   /* after "model.layers.N." */
} GGUF_LAYER_NAMES[] = {
    {"attn_norm", "input_layernorm"},   {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},     {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},      {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

/* HF name for a "blk.N.base.suffix" name into out; 0 if it has none. */
static int layer_name(const char *name, char *out, size_t n) {
    if (strncmp(name, "blk.", 4) != 0) return 0;
    char *end;
    long layer = strtol(name + 4, &end, 10);
    if (end == name + 4 || *end != '.' || layer < 0) return 0;
    const char *base = end + 1, *dot = strrchr(base, '.');
    if (dot == NULL) return 0;
    size_t blen = (size_t)(dot - base);
    for (size_t i = 0; i < sizeof GGUF_LAYER_NAMES / sizeof GGUF_LAYER_NAMES[0]; i++) {
        const char *gname = GGUF_LAYER_NAMES[i].gguf;
        if (strlen(gname) == blen && strncmp(base, gname, blen) == 0) {
            snprintf(out, n, "model.layers.%ld.%s%s", layer, GGUF_LAYER_NAMES[i].hf, dot);
            return 1;
        }
    }
    return 0;
}

static void map_one(TensorInfo *t, const ModelDesc *d) {
    char hf[256];
    int llama = strcmp(d->arch, "llama") == 0;
    if (strcmp(t->name, "token_embd.weight") == 0)
        snprintf(hf, sizeof hf, "%s", "model.embed_tokens.weight");
    else if (strcmp(t->name, "output_norm.weight") == 0)
        snprintf(hf, sizeof hf, "%s", "model.norm.weight");
    else if (strcmp(t->name, "output.weight") == 0)
        snprintf(hf, sizeof hf, "%s", "lm_head.weight");
    else if (!layer_name(t->name, hf, sizeof hf))
        return;
    if (llama && strstr(hf, ".self_attn.q_proj.weight") != NULL) {
        t->xform = TENSOR_XFORM_UNPERMUTE_ROPE;
        t->xform_heads = d->n_heads;
    } else if (llama && strstr(hf, ".self_attn.k_proj.weight") != NULL) {
        t->xform = TENSOR_XFORM_UNPERMUTE_ROPE;
        t->xform_heads = d->n_kv_heads;
    }
    free(t->name);
    t->name = llm_xstrdup(hf);
}

int gguf_map_tensors(GgufFile *g, const ModelDesc *d, LlmError *err) {
    for (int i = 0; i < g->tensors.count; i++) map_one(&g->tensors.items[i], d);
    tensor_table_sort(&g->tensors);
    for (int i = 1; i < g->tensors.count; i++)
        if (strcmp(g->tensors.items[i - 1].name, g->tensors.items[i].name) == 0)
            return llm_errorf(err, "%s: tensor \"%s\": defined twice", g->path,
                              g->tensors.items[i].name);
    return LLM_OK;
}
