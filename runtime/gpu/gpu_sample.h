/* gpu_sample.h - next-token sampling on the device (C API; CUDA inside).
 *
 * Same rule as the host sampler (runtime/sample/sampler.h): temperature 0
 * is greedy (argmax, ties to the lowest id, NaN never wins); otherwise
 * divide by temperature, keep the top_k largest (0 = all), softmax, sort by
 * probability (ties: lower id first) when top_k or top_p cut, keep the
 * shortest prefix whose mass reaches top_p, and draw with the row's
 * uniform u in [0, 1): the first candidate whose cumulative mass exceeds
 * u * total. Candidates are in id order when nothing is cut. The uniform is
 * drawn on the host from the request's seeded generator, so a request's
 * tokens do not depend on what else is in the batch.
 * Only token ids cross to the host; logits stay on the device.
 */
#ifndef LLMCC_GPU_GPU_SAMPLE_H
#define LLMCC_GPU_GPU_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "sample/sample_row.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device scratch bytes gpu_sample needs for n_rows rows of vocab logits. */
size_t gpu_sample_scratch_bytes(int n_rows, int vocab);

/* logits: device [n_rows][vocab]; rows: device [n_rows]; out_ids: device
 * [n_rows]; scratch: device, gpu_sample_scratch_bytes(n_rows, vocab).
 * Enqueued on stream (a cudaStream_t); returns 0, or a cudaError_t code if
 * a launch failed. */
int gpu_sample(void *stream, const float *logits, int n_rows, int vocab,
               const LlmSampleRow *rows, int32_t *out_ids, void *scratch);

/* The same when the caller knows every row is greedy (temperature 0):
 * only the argmax launch, no sort or draw. */
int gpu_sample_greedy(void *stream, const float *logits, int n_rows, int vocab,
                      const LlmSampleRow *rows, int32_t *out_ids, void *scratch);

#ifdef __cplusplus
}
#endif

#endif
