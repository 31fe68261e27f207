/* frontend.c - the architecture table and the dispatch into it. */
#include <string.h>

#include "frontend/frontend.h"

static const FrontendDesc *const FRONTENDS[] = {&frontend_llama, &frontend_qwen2};
#define N_FRONTENDS ((int)(sizeof FRONTENDS / sizeof FRONTENDS[0]))

int frontend_build(const ModelDesc *desc, int max_tokens, int block_size, IrGraph *g,
                   LlmError *err) {
    for (int i = 0; i < N_FRONTENDS; i++) {
        if (strcmp(FRONTENDS[i]->arch, desc->arch) != 0) continue;
        ir_graph_init(g, desc, max_tokens, block_size);
        rope_compute_inv_freq(desc, &g->rope);
        if (decoder_build(FRONTENDS[i], g, err) != LLM_OK) {
            ir_graph_free(g);
            return LLM_ERR;
        }
        return LLM_OK;
    }
    return llm_errorf(err, "architecture \"%s\" has no frontend (supported: llama, qwen2)",
                      desc->arch);
}
