/* llama.c - Llama 2/3, Mistral, SmolLM2, TinyLlama: pre-norm decoder, RMSNorm,
 * rotate-half RoPE (optionally llama3-scaled), GQA, SwiGLU MLP, no biases. */
#include "frontend/frontend.h"

const FrontendDesc frontend_llama = {.arch = "llama", .bias = FRONTEND_BIAS_NONE};
