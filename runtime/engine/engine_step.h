/* engine_step.h - one forward step of an engine over a paged KV pool:
 * first the block copies that copy-on-write queued (runtime/kv), then the
 * step. Everything that drives an engine (the single-sequence CLI
 * sessions, the scheduler) steps through here, so no caller can forget the
 * copies. Target-agnostic: it only calls the engine's ops.
 */
#ifndef LLMCC_ENGINE_ENGINE_STEP_H
#define LLMCC_ENGINE_ENGINE_STEP_H

#include <stdint.h>

#include "base/error.h"
#include "base/program.h"
#include "engine/engine.h"
#include "kv/kv_cache.h"

/* Runs kv's pending copies through ops->copy_blocks (an error naming the
 * engine when it has none), marks them done, then ops->step(b, sample)
 * as engine.h describes (sample NULL: nothing is sampled). */
int engine_step_kv(const LlmEngineOps *ops, LlmEngine *e, KvCache *kv, const LlmBatch *b,
                   const LlmStepSample *sample, LlmError *err);

#endif
