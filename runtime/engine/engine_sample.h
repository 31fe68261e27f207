/* engine_sample.h - the check every engine runs on a step's sampling
 * input (LlmStepSample, engine.h) before the step: a malformed input is a
 * caller's error with a message naming the row, never a read outside the
 * penalty table or the logprobs arrays on the host or on the device.
 */
#ifndef LLMCC_ENGINE_ENGINE_SAMPLE_H
#define LLMCC_ENGINE_ENGINE_SAMPLE_H

#include "base/error.h"
#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Checks s for n_logits rows of vocab logits: ids and rows present; the
 * table's n_counts >= 0 and counts present when it is positive; per row,
 * its list inside the table (offset >= 0, offset + n_counts <= table) and
 * at most vocab entries long; logprobs 0 or 1, top_logprobs in
 * 0..LLM_LOGPROBS_MAX, s->logprobs present when a row asks; every id of
 * the table in 0..vocab-1. Returns LLM_OK or LLM_ERR with err set. */
int engine_sample_check(const LlmStepSample *s, int n_logits, int vocab, LlmError *err);

/* 1 when some row of s [n_logits] asks for logprobs. */
int engine_sample_wants_logprobs(const LlmStepSample *s, int n_logits);

#ifdef __cplusplus
}
#endif

#endif
