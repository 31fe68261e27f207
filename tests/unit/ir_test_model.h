/* ir_test_model.h - the small model description the IR and pass tests
 * build graphs from (no weights needed): vocab 32, hidden 16, inner 24,
 * 2 layers, 4 heads / 2 KV heads of 4 dims. Test-only, header-only. */
#ifndef LLMCC_TESTS_IR_TEST_MODEL_H
#define LLMCC_TESTS_IR_TEST_MODEL_H

#include <stdio.h>
#include <string.h>

#include "load/model_desc.h"

static inline ModelDesc ir_test_desc(const char *arch, int tie_embeddings) {
    ModelDesc d;
    memset(&d, 0, sizeof d);
    snprintf(d.arch, sizeof d.arch, "%s", arch);
    d.vocab_size = 32;
    d.hidden_size = 16;
    d.intermediate_size = 24;
    d.n_layers = 2;
    d.n_heads = 4;
    d.n_kv_heads = 2;
    d.head_dim = 4;
    d.max_context = 64;
    d.rms_eps = 1e-5f;
    d.rope_theta = 10000.0f;
    d.tie_embeddings = tie_embeddings;
    return d;
}

#endif
