/* engine_cuda.h - the cuda target's engine (runtime/gpu/engine_cuda.cu). */
#ifndef LLMCC_GPU_ENGINE_CUDA_H
#define LLMCC_GPU_ENGINE_CUDA_H

#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const LlmEngineOps llm_engine_cuda;

#ifdef __cplusplus
}
#endif

#endif
