/* rng.h - the per-request pseudo-random generator used by sampling.
 *
 * xoshiro256** (Blackman and Vigna, 2018) with its state seeded from one
 * 64-bit seed by splitmix64, as its authors recommend. Written from the
 * published algorithm description. Same seed -> same stream on every
 * platform; not for cryptography.
 */
#ifndef LLMCC_SAMPLE_RNG_H
#define LLMCC_SAMPLE_RNG_H

#include <stdint.h>

typedef struct LlmRng {
    uint64_t s[4]; /* xoshiro256** state, never all zero */
} LlmRng;

void rng_seed(LlmRng *r, uint64_t seed);
uint64_t rng_next_u64(LlmRng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_next_double(LlmRng *r);

#endif
