/* hf_config.c - config.json and generation_config.json to ModelDesc.
 *
 * Defaults are those of transformers' LlamaConfig / Qwen2Config for fields a
 * config may omit (rms_norm_eps 1e-6, rope_theta 10000, no rope scaling,
 * untied embeddings). Every value read is validated; messages name the
 * file, the field and the value.
 */
#include "load/hf_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/json_util.h"

/* Supported architectures[0] values and the frontend each maps to. */
static const struct {
    const char *hf_class; /* architectures[0] */
    const char *arch;     /* ModelDesc.arch */
    int attention_bias;   /* default q/k/v bias */
} HF_ARCHS[] = {
    {"LlamaForCausalLM", "llama", 0},
    {"MistralForCausalLM", "llama", 0},
    {"Qwen2ForCausalLM", "qwen2", 1},
};
#define HF_N_ARCHS ((int)(sizeof HF_ARCHS / sizeof HF_ARCHS[0]))

static int hf_arch(const json_t *cfg, const char *path, ModelDesc *d, LlmError *err) {
    const json_t *archs = json_object_get(cfg, "architectures");
    const char *cls = json_string_value(json_array_get(archs, 0));
    for (int i = 0; cls != NULL && i < HF_N_ARCHS; i++) {
        if (strcmp(cls, HF_ARCHS[i].hf_class) != 0) continue;
        snprintf(d->arch, sizeof d->arch, "%s", HF_ARCHS[i].arch);
        snprintf(d->hf_class, sizeof d->hf_class, "%s", cls);
        d->attention_bias = HF_ARCHS[i].attention_bias;
        return LLM_OK;
    }
    char *r = json_util_repr(cls != NULL ? json_array_get(archs, 0) : archs);
    llm_errorf(err, "%s: field \"architectures\": unsupported architecture %s (supported: "
               "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)", path, r);
    free(r);
    return LLM_ERR;
}

static int hf_sizes(const json_t *cfg, const char *path, ModelDesc *d, LlmError *err) {
    if (json_util_get_pos_int(cfg, path, "vocab_size", JSON_REQUIRED, &d->vocab_size, err) ||
        json_util_get_pos_int(cfg, path, "hidden_size", JSON_REQUIRED, &d->hidden_size, err) ||
        json_util_get_pos_int(cfg, path, "intermediate_size", JSON_REQUIRED,
                         &d->intermediate_size, err) ||
        json_util_get_pos_int(cfg, path, "num_hidden_layers", JSON_REQUIRED, &d->n_layers, err) ||
        json_util_get_pos_int(cfg, path, "num_attention_heads", JSON_REQUIRED, &d->n_heads, err))
        return LLM_ERR;
    d->n_kv_heads = d->n_heads;
    d->max_context = 2048;
    d->rms_eps = 1e-6f;
    d->rope_theta = 10000.0f;
    if (json_util_get_pos_int(cfg, path, "num_key_value_heads", JSON_OPTIONAL, &d->n_kv_heads,
                         err) ||
        json_util_get_pos_int(cfg, path, "max_position_embeddings", JSON_OPTIONAL,
                         &d->max_context, err) ||
        json_util_get_float(cfg, path, "rms_norm_eps", JSON_OPTIONAL, &d->rms_eps, err) ||
        json_util_get_float(cfg, path, "rope_theta", JSON_OPTIONAL, &d->rope_theta, err) ||
        json_util_get_bool(cfg, path, "tie_word_embeddings", JSON_OPTIONAL, &d->tie_embeddings,
                      err) ||
        json_util_get_bool(cfg, path, "attention_bias", JSON_OPTIONAL, &d->attention_bias, err))
        return LLM_ERR;
    d->head_dim = d->hidden_size / d->n_heads;
    return json_util_get_pos_int(cfg, path, "head_dim", JSON_OPTIONAL, &d->head_dim, err);
}

static int hf_rope_scaling(const json_t *cfg, const char *path, ModelDesc *d, LlmError *err) {
    const json_t *rs = json_object_get(cfg, "rope_scaling");
    d->rope_scaling = ROPE_SCALING_NONE;
    d->rope_factor = 1.0f;
    if (rs == NULL || json_is_null(rs)) return LLM_OK;
    const char *type = json_string_value(json_object_get(rs, "rope_type"));
    if (type == NULL) type = json_string_value(json_object_get(rs, "type"));
    if (type != NULL && strcmp(type, "default") == 0) return LLM_OK;
    if (type != NULL && strcmp(type, "linear") == 0) {
        d->rope_scaling = ROPE_SCALING_LINEAR;
        if (json_util_get_float(rs, path, "factor", JSON_REQUIRED, &d->rope_factor, err))
            return llm_error_prefix(err, "%s: field \"rope_scaling\"", path);
        return LLM_OK;
    }
    if (type != NULL && strcmp(type, "llama3") == 0) {
        d->rope_scaling = ROPE_SCALING_LLAMA3;
        if (json_util_get_float(rs, path, "factor", JSON_REQUIRED, &d->rope_factor, err) ||
            json_util_get_float(rs, path, "low_freq_factor", JSON_REQUIRED,
                           &d->rope_low_freq_factor, err) ||
            json_util_get_float(rs, path, "high_freq_factor", JSON_REQUIRED,
                           &d->rope_high_freq_factor, err) ||
            json_util_get_pos_int(rs, path, "original_max_position_embeddings", JSON_REQUIRED,
                             &d->rope_original_context, err))
            return llm_error_prefix(err, "%s: field \"rope_scaling\"", path);
        return LLM_OK;
    }
    char *r = json_util_repr(rs);
    llm_errorf(err, "%s: field \"rope_scaling\": unsupported rope scaling %s (supported: null, "
               "\"linear\", \"llama3\")", path, r);
    free(r);
    return LLM_ERR;
}

/* Reads bos_token_id / eos_token_id (int or list) from obj into d. */
static int hf_special_tokens(const json_t *obj, const char *path, ModelDesc *d,
                             LlmError *err) {
    if (json_util_get_int(obj, path, "bos_token_id", JSON_OPTIONAL, &d->bos_token_id, err))
        return LLM_ERR;
    const json_t *eos = json_object_get(obj, "eos_token_id");
    if (eos == NULL || json_is_null(eos)) return LLM_OK;
    int ids[4] = {-1, -1, -1, -1};
    if (json_is_integer(eos)) {
        if (json_util_get_int(obj, path, "eos_token_id", JSON_REQUIRED, &ids[0], err))
            return LLM_ERR;
    } else if (json_is_array(eos)) {
        for (size_t i = 0; i < json_array_size(eos) && i < 4; i++) {
            const json_t *v = json_array_get(eos, i);
            if (!json_is_integer(v) || json_integer_value(v) < 0 ||
                json_integer_value(v) > 2147483647) {
                char *r = json_util_repr(eos);
                llm_errorf(err, "%s: field \"eos_token_id\": expected an integer or a list "
                           "of integers, got %s", path, r);
                free(r);
                return LLM_ERR;
            }
            ids[i] = (int)json_integer_value(v);
        }
    } else {
        char *r = json_util_repr(eos);
        llm_errorf(err, "%s: field \"eos_token_id\": expected an integer or a list of "
                   "integers, got %s", path, r);
        free(r);
        return LLM_ERR;
    }
    memcpy(d->eos_token_ids, ids, sizeof ids);
    return LLM_OK;
}

static int hf_activation(const json_t *cfg, const char *path, LlmError *err) {
    const char *act = NULL;
    if (json_util_get_string(cfg, path, "hidden_act", JSON_OPTIONAL, &act, err)) return LLM_ERR;
    if (act != NULL && strcmp(act, "silu") != 0)
        return llm_errorf(err, "%s: field \"hidden_act\": unsupported activation \"%s\" "
                          "(supported: \"silu\")", path, act);
    return LLM_OK;
}

int hf_config_parse(const json_t *config, const char *path, ModelDesc *d, LlmError *err) {
    memset(d, 0, sizeof *d);
    d->bos_token_id = -1;
    for (int i = 0; i < 4; i++) d->eos_token_ids[i] = -1;
    if (!json_is_object(config)) return llm_errorf(err, "%s: expected a JSON object", path);
    if (hf_arch(config, path, d, err) || hf_sizes(config, path, d, err) ||
        hf_rope_scaling(config, path, d, err) || hf_special_tokens(config, path, d, err) ||
        hf_activation(config, path, err))
        return LLM_ERR;
    return model_desc_validate(d, path, err);
}

int hf_config_apply_generation(const json_t *gen, const char *path, ModelDesc *d,
                               LlmError *err) {
    if (!json_is_object(gen)) return llm_errorf(err, "%s: expected a JSON object", path);
    return hf_special_tokens(gen, path, d, err);
}

int model_desc_validate(const ModelDesc *d, const char *source, LlmError *err) {
    if (d->n_heads % d->n_kv_heads != 0)
        return llm_errorf(err, "%s: num_key_value_heads=%d does not divide "
                          "num_attention_heads=%d", source, d->n_kv_heads, d->n_heads);
    if (d->head_dim % 2 != 0)
        return llm_errorf(err, "%s: head_dim=%d must be even for rotary embeddings", source,
                          d->head_dim);
    if (d->head_dim <= 0)
        return llm_errorf(err, "%s: head_dim=%d (hidden_size=%d / num_attention_heads=%d) "
                          "must be positive", source, d->head_dim, d->hidden_size, d->n_heads);
    if (!(d->rms_eps > 0.0f))
        return llm_errorf(err, "%s: rms_norm_eps=%g must be positive", source,
                          (double)d->rms_eps);
    if (!(d->rope_theta > 0.0f))
        return llm_errorf(err, "%s: rope_theta=%g must be positive", source,
                          (double)d->rope_theta);
    if (d->rope_scaling != ROPE_SCALING_NONE && !(d->rope_factor > 0.0f))
        return llm_errorf(err, "%s: rope_scaling factor=%g must be positive", source,
                          (double)d->rope_factor);
    if (d->bos_token_id >= d->vocab_size)
        return llm_errorf(err, "%s: bos_token_id=%d outside the vocabulary (vocab_size=%d)",
                          source, d->bos_token_id, d->vocab_size);
    for (int i = 0; i < 4; i++)
        if (d->eos_token_ids[i] >= d->vocab_size)
            return llm_errorf(err, "%s: eos_token_id=%d outside the vocabulary (vocab_size="
                              "%d)", source, d->eos_token_ids[i], d->vocab_size);
    return LLM_OK;
}
