/* hf_config.h - Hugging Face config.json (+ generation_config.json) to
 * ModelDesc.
 *
 * Supported architectures[0]: LlamaForCausalLM, MistralForCausalLM (arch
 * "llama") and Qwen2ForCausalLM (arch "qwen2", q/k/v bias). Whether the LM
 * head is tied when lm_head.weight is missing is decided by model_load, which
 * sees the tensors.
 */
#ifndef LLMCC_LOAD_HF_CONFIG_H
#define LLMCC_LOAD_HF_CONFIG_H

#include <jansson.h>

#include "base/error.h"
#include "load/model_desc.h"

/* Fills d from a parsed config.json; path names the file in messages. */
int hf_config_parse(const json_t *config, const char *path, ModelDesc *d, LlmError *err);

/* Overrides bos/eos from a parsed generation_config.json (eos may be an
 * integer or a list; at most 4 are kept). */
int hf_config_apply_generation(const json_t *gen, const char *path, ModelDesc *d,
                               LlmError *err);

/* Checks the invariants every frontend relies on (positive sizes, heads
 * divide, head_dim even, ...); source names the origin in messages. */
int model_desc_validate(const ModelDesc *d, const char *source, LlmError *err);

#endif
