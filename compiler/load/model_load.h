/* model_load.h - one entry point for every input format.
 *
 * model_load() takes a Hugging Face folder (config.json, model.safetensors
 * or shards + model.safetensors.index.json, tokenizer.json,
 * tokenizer_config.json, generation_config.json) or a single .gguf file and
 * fills a LoadedModel: hyper-parameters, the tensor table under canonical
 * Hugging Face names (GGUF names are mapped), and the tokenizer description
 * that the executable will carry. All files stay mapped until
 * loaded_model_free().
 */
#ifndef LLMCC_LOAD_MODEL_LOAD_H
#define LLMCC_LOAD_MODEL_LOAD_H

#include <jansson.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "load/model_desc.h"
#include "load/tensor.h"

typedef enum ModelFormat { MODEL_FORMAT_HF, MODEL_FORMAT_GGUF } ModelFormat;

typedef struct LoadedModel {
    ModelFormat format;
    char *source_path;   /* as given by the user, owned */
    ModelDesc desc;
    TensorTable tensors;
    /* Tokenizer description, owned; exactly the object that
     * tok_load_json() in runtime/tok accepts:
     *   HF:   {"format":"hf", "tokenizer": <tokenizer.json>,
     *          "config": <tokenizer_config.json or {}>}
     *   GGUF: {"format":"gguf", "meta": {"tokenizer.ggml.model": "gpt2",
     *          "tokenizer.ggml.tokens": [...], ... every tokenizer.* key}}
     */
    json_t *tokenizer;
    json_t *generation;  /* generation_config.json or {} ; owned */
    MappedFile *files;   /* [n_files] mappings the tensors point into */
    int n_files;
} LoadedModel;

int model_load(const char *path, LoadedModel *out, LlmError *err);
void loaded_model_free(LoadedModel *m);

/* Loads only the tokenizer description (the LoadedModel.tokenizer object)
 * from path: a Hugging Face folder (tokenizer.json, tokenizer_config.json;
 * no weights or config.json needed), a GGUF file (a vocab-only file with no
 * tensors and no architecture keys is fine), or a JSON file holding either
 * a tokenizer description or a bare tokenizer.json. *tok is a new
 * reference on success. */
int model_load_tokenizer(const char *path, json_t **tok, LlmError *err);

/* Checks that every tensor the Llama/Qwen2 frontend reads exists with the
 * shape m->desc implies (embedding [V,H], per layer q [nh*hd,H], k/v
 * [nkv*hd,H], o [H,nh*hd], gate/up [I,H], down [H,I], norms [H], final norm,
 * lm_head [V,H] unless tied, q/k/v bias when attention_bias). Messages read
 *   file: tensor "name": shape [a, b] does not match config.json (expected
 *   [c, d] from hidden_size=..., ...)
 * Called by model_load(). */
int model_check_tensors(const LoadedModel *m, LlmError *err);

#endif
