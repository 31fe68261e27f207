/* sample_row.h - one sampling request for one logits row, as every engine
 * takes it (the cpu engine picks on the host, the cuda engine on the
 * device; see sampler.h and gpu/gpu_sample.h for the rule). */
#ifndef LLMCC_SAMPLE_SAMPLE_ROW_H
#define LLMCC_SAMPLE_SAMPLE_ROW_H

typedef struct LlmSampleRow {
    float temperature; /* >= 0; 0 = greedy */
    int top_k;         /* >= 0; 0 = no cut */
    float top_p;       /* (0, 1]; 1 = no cut */
    double uniform;    /* [0, 1), drawn from the request's own generator */
} LlmSampleRow;

#endif
