/* safetensors.h - the safetensors format: 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}}, then the data.
 *
 * Tensors point into the mapping (nothing copied). Supported dtypes: F32,
 * F16, BF16. __metadata__ is ignored except that an entry whose value names
 * a tensor of the same file ("model.embed_tokens.weight": "lm_head.weight")
 * adds that key as an alias with the same data.
 */
#ifndef LLMCC_LOAD_SAFETENSORS_H
#define LLMCC_LOAD_SAFETENSORS_H

#include "base/error.h"
#include "base/mapped_file.h"
#include "load/tensor.h"

#include <jansson.h>

/* Parses mf and appends its tensors to tt (unsorted). When weight_map is
 * non-NULL, only tensors whose weight_map value equals shard are added, and
 * every name the map assigns to shard must be present. */
int safetensors_parse(const MappedFile *mf, const json_t *weight_map, const char *shard,
                      TensorTable *tt, LlmError *err);

/* Loads dir/model.safetensors, or every shard that
 * dir/model.safetensors.index.json names. Appends the mappings to
 * *files[*n_files] (grown with realloc) and the tensors to tt, then sorts
 * tt and rejects duplicate names. On error the mappings already appended
 * stay in *files for the caller to close. */
int safetensors_load_dir(const char *dir, MappedFile **files, int *n_files, TensorTable *tt,
                         LlmError *err);

#endif
