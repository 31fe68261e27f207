/* rope.c - rotary inverse frequencies, computed in float32 the way the
 * Hugging Face implementation does (default, linear and llama3 rules), so
 * that angles agree with the reference to the last bit or close to it. */
#include <math.h>

#include "frontend/frontend.h"

static void apply_llama3(const ModelDesc *d, float *inv, int n) {
    const float pi = 3.14159265358979323846f;
    float old_ctx = (float)d->rope_original_context;
    float low_wavelen = old_ctx / d->rope_low_freq_factor;
    float high_wavelen = old_ctx / d->rope_high_freq_factor;
    for (int i = 0; i < n; i++) {
        float wavelen = 2.0f * pi / inv[i];
        float f = wavelen > low_wavelen ? inv[i] / d->rope_factor : inv[i];
        float smooth = (old_ctx / wavelen - d->rope_low_freq_factor) /
                       (d->rope_high_freq_factor - d->rope_low_freq_factor);
        float smoothed = (1.0f - smooth) * f / d->rope_factor + smooth * f;
        int medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
        inv[i] = medium ? smoothed : f;
    }
}

void rope_compute_inv_freq(const ModelDesc *d, IrRope *rope) {
    int half = d->head_dim / 2;
    rope->head_dim = d->head_dim;
    rope->inv_freq = llm_xcalloc((size_t)half, sizeof(float));
    for (int i = 0; i < half; i++) {
        float expo = (float)(2 * i) / (float)d->head_dim;
        float p = (float)pow((double)d->rope_theta, (double)expo);
        rope->inv_freq[i] = 1.0f / p;
    }
    if (d->rope_scaling == ROPE_SCALING_LLAMA3) apply_llama3(d, rope->inv_freq, half);
    if (d->rope_scaling == ROPE_SCALING_LINEAR)
        for (int i = 0; i < half; i++) rope->inv_freq[i] /= d->rope_factor;
}
