/* manifest.c - builds the manifest JSON with jansson, keys in a fixed order. */
#include "codegen/manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LLMCC_VERSION "0.1.0"

static json_t *hyper_json(const ModelDesc *d, int max_context) {
    json_t *h = json_object();
    json_object_set_new(h, "vocab_size", json_integer(d->vocab_size));
    json_object_set_new(h, "hidden_size", json_integer(d->hidden_size));
    json_object_set_new(h, "intermediate_size", json_integer(d->intermediate_size));
    json_object_set_new(h, "num_layers", json_integer(d->n_layers));
    json_object_set_new(h, "num_heads", json_integer(d->n_heads));
    json_object_set_new(h, "num_kv_heads", json_integer(d->n_kv_heads));
    json_object_set_new(h, "head_dim", json_integer(d->head_dim));
    json_object_set_new(h, "max_context", json_integer(max_context));
    json_object_set_new(h, "model_max_context", json_integer(d->max_context));
    json_object_set_new(h, "rms_eps", json_real((double)d->rms_eps));
    json_object_set_new(h, "rope_theta", json_real((double)d->rope_theta));
    const char *rs = d->rope_scaling == ROPE_SCALING_LLAMA3   ? "llama3"
                     : d->rope_scaling == ROPE_SCALING_LINEAR ? "linear"
                                                              : "none";
    json_object_set_new(h, "rope_scaling", json_string(rs));
    json_object_set_new(h, "tie_embeddings", json_boolean(d->tie_embeddings));
    json_object_set_new(h, "attention_bias", json_boolean(d->attention_bias));
    return h;
}

static json_t *passes_json(const PassRecord *r, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "name", json_string(r[i].pass->name));
        json_object_set_new(p, "enabled", json_boolean(r[i].enabled));
        json_object_set_new(p, "nodes_after", json_integer(r[i].nodes_after));
        json_array_append_new(a, p);
    }
    return a;
}

char *manifest_build(const LoadedModel *m, const IrGraph *g, const CompileOptions *o,
                     const PassRecord *records, int n_records, int64_t weight_bytes) {
    json_t *root = json_object();
    json_object_set_new(root, "llmcc_version", json_string(LLMCC_VERSION));
    json_object_set_new(root, "target", json_string(o->target));
    json_object_set_new(root, "source", json_string(o->input));
    json_object_set_new(root, "source_format", json_string(m->format == MODEL_FORMAT_GGUF ? "gguf" : "hf"));
    json_object_set_new(root, "arch", json_string(m->desc.arch));
    json_object_set_new(root, "hf_class", json_string(m->desc.hf_class));
    json_object_set_new(root, "dtype", json_string(dtype_name(o->dtype)));
    json_object_set_new(root, "hyper", hyper_json(&m->desc, o->max_context));
    json_object_set_new(root, "passes", passes_json(records, n_records));
    json_object_set_new(root, "n_weights", json_integer(g->n_weights));
    json_object_set_new(root, "weight_bytes", json_integer(weight_bytes));
    json_object_set_new(root, "n_nodes", json_integer(g->n_nodes));
    json_object_set_new(root, "max_tokens", json_integer(g->max_tokens));
    json_object_set_new(root, "block_size", json_integer(g->block_size));
    json_object_set_new(root, "arena_bytes", json_integer(g->arena_bytes));
    json_object_set_new(root, "generation", m->generation ? json_deep_copy(m->generation) : json_object());
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (s == NULL) LLM_BUG("cannot serialize the manifest");
    return s;
}
