/* model_desc.h - hyper-parameters of a decoder-only model, whatever the
 * file format they came from (config.json or GGUF metadata).
 */
#ifndef LLMCC_LOAD_MODEL_DESC_H
#define LLMCC_LOAD_MODEL_DESC_H

#include <stdint.h>

typedef enum RopeScaling {
    ROPE_SCALING_NONE,
    ROPE_SCALING_LLAMA3, /* Llama 3.1 frequency-dependent scaling */
    ROPE_SCALING_LINEAR, /* positions divided by factor */
} RopeScaling;

typedef struct ModelDesc {
    char arch[32];         /* frontend name: "llama", "qwen2" */
    char hf_class[64];     /* architectures[0] or GGUF general.architecture */
    int vocab_size;        /* rows of the embedding */
    int hidden_size;       /* H */
    int intermediate_size; /* I, MLP inner width */
    int n_layers;
    int n_heads;           /* query heads */
    int n_kv_heads;        /* key/value heads (GQA: divides n_heads) */
    int head_dim;          /* may differ from H / n_heads */
    int max_context;       /* max_position_embeddings / context_length */
    float rms_eps;
    float rope_theta;
    RopeScaling rope_scaling;
    float rope_factor;            /* scaling factor (llama3, linear) */
    float rope_low_freq_factor;   /* llama3 only */
    float rope_high_freq_factor;  /* llama3 only */
    int rope_original_context;    /* llama3 original_max_position_embeddings */
    int tie_embeddings;           /* 1: lm_head reuses the embedding */
    int attention_bias;           /* 1: q/k/v projections have a bias */
    int bos_token_id;             /* -1 if none */
    int eos_token_ids[4];         /* stop tokens from the config; -1 unused */
} ModelDesc;

#endif
