/* gguf.h - GGUF v2/v3 (little-endian) files: metadata, tensor infos, and the
 * mapping of llama.cpp's llama/qwen2 models to ModelDesc and HF tensor names.
 *
 * gguf_parse() bounds-checks every count, string, array and offset against
 * the mapping; it never reads outside it. Metadata becomes a jansson object
 * keyed by GGUF key (integers -> JSON integers, floats -> reals, bools,
 * UTF-8 strings, arrays -> JSON arrays, nested). Tensors keep their GGUF
 * names until gguf_map_tensors() renames them.
 */
#ifndef LLMCC_LOAD_GGUF_H
#define LLMCC_LOAD_GGUF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/mapped_file.h"
#include "load/model_desc.h"
#include "load/tensor.h"

typedef struct GgufFile {
    const char *path;     /* borrowed from the MappedFile, for messages */
    uint32_t version;     /* 2 or 3 */
    json_t *meta;         /* owned: every key/value pair */
    TensorTable tensors;  /* GGUF (or, once mapped, HF) names; shapes outermost first */
    size_t alignment;     /* general.alignment, default 32 */
    size_t data_offset;   /* file offset of the tensor data section */
} GgufFile;

/* Parses a mapped GGUF file. On error g holds nothing (freed). */
int gguf_parse(const MappedFile *mf, GgufFile *g, LlmError *err);
void gguf_free(GgufFile *g);

/* Name of a ggml tensor type number ("Q5_K", "IQ2_XXS", ...), "?" if unknown. */
const char *gguf_type_name(uint32_t ggml_type);

/* Hyper-parameters from "<arch>.*" keys (arch: llama or qwen2) and the
 * tokenizer.ggml.* special token ids. tie_embeddings is set when the file
 * has no output.weight. */
int gguf_model_desc(const GgufFile *g, ModelDesc *d, LlmError *err);

/* Renames tensors to Hugging Face names (token_embd -> model.embed_tokens,
 * blk.N.attn_q -> model.layers.N.self_attn.q_proj, ...), marks llama q/k
 * weights with TENSOR_XFORM_UNPERMUTE_ROPE, and sorts the table. Tensors with
 * no HF counterpart keep their GGUF names. */
int gguf_map_tensors(GgufFile *g, const ModelDesc *d, LlmError *err);

#endif
