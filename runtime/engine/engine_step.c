/* engine_step.c - copies, then the step (see engine_step.h). */
#include "engine/engine_step.h"

/* Runs the copies copy-on-write queued, so the step sees every block it reads. */
static int run_kv_copies(const LlmEngineOps *ops, LlmEngine *e, KvCache *kv, LlmError *err) {
    const KvCopy *copies = NULL;
    int n = kv_cache_pending_copies(kv, &copies);
    if (n == 0) return LLM_OK;
    if (ops->copy_blocks == NULL)
        return llm_errorf(err, "the %s engine cannot copy KV blocks (copy-on-write of %d "
                          "shared blocks)", ops->target, n);
    if (ops->copy_blocks(e, copies, n, err) != LLM_OK) return LLM_ERR;
    kv_cache_copies_done(kv);
    return LLM_OK;
}

int engine_step_kv(const LlmEngineOps *ops, LlmEngine *e, KvCache *kv, const LlmBatch *b,
                   const LlmStepSample *sample, LlmError *err) {
    if (run_kv_copies(ops, e, kv, err) != LLM_OK) return LLM_ERR;
    return ops->step(e, b, sample, err);
}
