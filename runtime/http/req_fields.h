/* req_fields.h - the request fields that the HTTP API (OpenAI / vLLM
 * names) and the `generate --input` batch file share: JSON values ->
 * SamplerParams and SchedRequest fields, with one message per bad value.
 *
 * Every message starts with the field it is about, `field "top_k": ...`,
 * and says what was expected and what came (the batch file prefixes
 * "line N: ", the server puts the name in the error's "param"). A field
 * that is absent, or null where the API allows null, leaves the
 * destination as it was, so callers set defaults first. Ranges that the
 * scheduler checks (top_p in (0, 1], n <= 16, ...) are left to
 * sched_submit, whose messages name the same fields.
 */
#ifndef LLMCC_HTTP_REQ_FIELDS_H
#define LLMCC_HTTP_REQ_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"
#include "sample/sampler.h"
#include "sample/stop.h"

/* "an object", "an array", "a string", "an integer", "a number with a
 * fraction", "a boolean" or "null". */
const char *req_json_type_name(const json_t *v);

/* `field "NAME": expected WANT, got TYPE`; returns LLM_ERR. */
int req_type_error(LlmError *err, const char *field, const char *want, const json_t *v);

/* An integer value in [lo, hi]. */
int req_get_int(const json_t *v, const char *field, long long lo, long long hi, long long *out,
                LlmError *err);

/* 1 when name is one of the float sampling fields below or top_k. */
int req_is_sampling_field(const char *name);
/* The names of the sampling fields, ", "-separated, for messages. */
#define REQ_SAMPLING_FIELDS                                                                    \
    "temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty, top_k"

/* temperature, top_p, min_p, repetition_penalty, presence_penalty,
 * frequency_penalty (numbers) and top_k (an integer; -1, vLLM's "no cut",
 * is 0) of obj into p. Null leaves a field as it was (OpenAI clients send
 * null for "the default"). */
int req_parse_sampling(const json_t *obj, SamplerParams *p, LlmError *err);

/* "stop": a string or an array of up to STOP_MAX_STRINGS strings (null:
 * none). Points stop [*n_stop] into obj (jansson refuses \u0000, so they
 * are C strings). */
int req_parse_stop(const json_t *obj, const char **stop, int *n_stop, LlmError *err);

/* "stop_token_ids": an array of up to max integers (null: none). */
int req_parse_stop_ids(const json_t *obj, int32_t *ids, int max, int *n, LlmError *err);

/* "seed" (an integer >= 0), "n" (an integer), "ignore_eos" (a boolean);
 * null leaves them as they were. */
int req_parse_seed(const json_t *obj, uint64_t *seed, LlmError *err);
int req_parse_n(const json_t *obj, int *n, LlmError *err);
int req_parse_bool(const json_t *obj, const char *field, int *out, LlmError *err);

/* The field a message is about: NAME of a leading `field "NAME"`, else the
 * leading identifier ([a-z_]+, as sched_submit's "top_p 0: ..." has it),
 * copied into buf [cap]; "" when there is none. */
void req_error_field(const char *msg, char *buf, size_t cap);

#endif
