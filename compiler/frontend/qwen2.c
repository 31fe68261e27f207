/* qwen2.c - Qwen2: the Llama block with biases on the q, k and v projections. */
#include "frontend/frontend.h"

const FrontendDesc frontend_qwen2 = {.arch = "qwen2", .bias = FRONTEND_BIAS_QKV};
