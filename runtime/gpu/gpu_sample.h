/* gpu_sample.h - next-token sampling on the device (C API; CUDA inside).
 *
 * Same rule as the host sampler, in the same order (runtime/sample/
 * sampler.h): penalties -> (logprobs) -> greedy or temperature -> top-k ->
 * softmax -> min-p -> top-p -> draw with the row's uniform. Penalties use
 * the one expression both sides compile (sample_penalize, sample_row.h),
 * so penalised logits are bit-identical; greedy picks and the candidate
 * order are exact; weights use expf (device and host differ by a few ulp),
 * so a draw or a min-p cut can differ only when u or a weight falls within
 * ~1e-7 of a boundary; logprobs agree to ~1e-6 (the lab allows 1e-5
 * relative).
 * The uniform is drawn on the host from the request's seeded generator, so
 * a request's tokens do not depend on what else is in the batch. Only ids
 * (and logprobs, when asked) cross to the host; logits stay on the device.
 *
 * The penalty table (device memory the engine fills each step):
 *   counts: one array of LlmTokenCount {int32 id, int32 count}. Row r's
 *   list is counts[rows[r].counts_offset .. + rows[r].n_counts): the
 *   distinct tokens of that request's prompt and output so far, count =
 *   times generated (0 = prompt only); ids in 0..vocab-1 and distinct
 *   within a list (a caller bug otherwise: the host sampler aborts, the
 *   device skips an out-of-range entry rather than write past the row,
 *   and with a repeated id one of its entries wins); lists in any
 *   order, may be anywhere in the array (the host Sampler keeps one list
 *   per request, sampler.h; a batching engine concatenates them and sets
 *   each row's counts_offset). Size: the sum of n_counts, at most
 *   n_rows * vocab entries. A graph-captured step keeps the pointer fixed
 *   (a buffer sized at open) and reads offsets and lengths from the rows,
 *   which are device memory too.
 * The logprobs (device memory, filled for rows with logprobs == 1):
 *   out_logprobs[r] is one LlmTokenLogprobs (sample_row.h): chosen id and
 *   logprob, n_top, top_ids / top_logprobs [LLM_LOGPROBS_MAX], best first.
 *   Rows with logprobs == 0 leave their entry untouched.
 */
#ifndef LLMCC_GPU_GPU_SAMPLE_H
#define LLMCC_GPU_GPU_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "sample/sample_row.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One sampling launch: every pointer is device memory. */
typedef struct GpuSampleBatch {
    const float *logits;            /* [n_rows][vocab] float32 */
    int n_rows;                     /* rows to sample, one request each */
    int vocab;                      /* logits per row */
    const LlmSampleRow *rows;       /* [n_rows] */
    const LlmTokenCount *counts;    /* the penalty table above; NULL: every row's
                                       penalties are off, whatever n_counts says */
    int32_t *out_ids;               /* [n_rows] sampled ids */
    LlmTokenLogprobs *out_logprobs; /* [n_rows], or NULL: no row returns logprobs */
} GpuSampleBatch;

/* Device scratch bytes gpu_sample needs for n_rows rows of vocab logits. */
size_t gpu_sample_scratch_bytes(int n_rows, int vocab);

/* Samples every row of b by the rule above. scratch: device,
 * gpu_sample_scratch_bytes(b->n_rows, b->vocab). Enqueued on stream (a
 * cudaStream_t), graph-capturable (no allocation, no synchronisation); b
 * is read at enqueue time. Returns 0, or a cudaError_t code if a launch
 * failed. */
int gpu_sample(void *stream, const GpuSampleBatch *b, void *scratch);

/* The same when the caller knows every row is plain greedy
 * (sample_row_is_plain_greedy: temperature 0, no penalty, no logprobs):
 * only an argmax, no sort or draw; counts and out_logprobs are not read. */
int gpu_sample_greedy(void *stream, const GpuSampleBatch *b, void *scratch);

#ifdef __cplusplus
}
#endif

#endif
