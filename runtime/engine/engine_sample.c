/* engine_sample.c - the sampling input check (see engine_sample.h). */
#include "engine/engine_sample.h"

#include <stddef.h>

static int check_row(const LlmSampleRow *r, int i, int n_counts, int vocab, int have_lp,
                     LlmError *err) {
    if (r->n_counts < 0 || r->counts_offset < 0 ||
        (long long)r->counts_offset + r->n_counts > (long long)n_counts)
        return llm_errorf(err, "sampling row %d: penalty list [%d, %d + %d) lies outside the "
                          "step's table of %d entries", i, r->counts_offset, r->counts_offset,
                          r->n_counts, n_counts);
    if (r->n_counts > vocab)
        return llm_errorf(err, "sampling row %d: penalty list of %d entries, more than the %d "
                          "distinct tokens of the vocabulary", i, r->n_counts, vocab);
    if (r->logprobs != 0 && r->logprobs != 1)
        return llm_errorf(err, "sampling row %d: logprobs %d must be 0 or 1", i, r->logprobs);
    if (r->top_logprobs < 0 || r->top_logprobs > LLM_LOGPROBS_MAX)
        return llm_errorf(err, "sampling row %d: top_logprobs %d must be in [0, %d]", i,
                          r->top_logprobs, LLM_LOGPROBS_MAX);
    if (r->logprobs == 1 && !have_lp)
        return llm_errorf(err, "sampling row %d asks for logprobs but the step has no logprobs "
                          "output", i);
    return LLM_OK;
}

int engine_sample_check(const LlmStepSample *s, int n_logits, int vocab, LlmError *err) {
    if (n_logits > 0 && (s->rows == NULL || s->ids == NULL))
        return llm_errorf(err, "sampling %d logits rows without rows or an ids output", n_logits);
    if (s->n_counts < 0)
        return llm_errorf(err, "sampling: penalty table of %d entries (negative)", s->n_counts);
    if (s->n_counts > 0 && s->counts == NULL)
        return llm_errorf(err, "sampling: penalty table of %d entries given as NULL", s->n_counts);
    for (int i = 0; i < n_logits; i++)
        if (check_row(&s->rows[i], i, s->n_counts, vocab, s->logprobs != NULL, err) != LLM_OK)
            return LLM_ERR;
    for (int j = 0; j < s->n_counts; j++)
        if (s->counts[j].id < 0 || s->counts[j].id >= vocab)
            return llm_errorf(err, "sampling: penalty table entry %d has token id %d, outside "
                              "[0, %d)", j, s->counts[j].id, vocab);
    return LLM_OK;
}

int engine_sample_wants_logprobs(const LlmStepSample *s, int n_logits) {
    for (int i = 0; i < n_logits; i++)
        if (s->rows[i].logprobs != 0) return 1;
    return 0;
}
