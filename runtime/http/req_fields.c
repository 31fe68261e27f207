/* req_fields.c - request fields shared by the HTTP API and the batch file
 * (see req_fields.h). */
#include "http/req_fields.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

/* Sampling fields that are plain floats of SamplerParams. */
static const struct {
    const char *name;
    size_t offset; /* of the float in SamplerParams */
} REQ_FLOAT_FIELDS[] = {
    {"temperature", offsetof(SamplerParams, temperature)},
    {"top_p", offsetof(SamplerParams, top_p)},
    {"min_p", offsetof(SamplerParams, min_p)},
    {"repetition_penalty", offsetof(SamplerParams, repetition_penalty)},
    {"presence_penalty", offsetof(SamplerParams, presence_penalty)},
    {"frequency_penalty", offsetof(SamplerParams, frequency_penalty)},
};
enum { REQ_N_FLOAT_FIELDS = sizeof REQ_FLOAT_FIELDS / sizeof REQ_FLOAT_FIELDS[0] };

const char *req_json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number with a fraction";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int req_type_error(LlmError *err, const char *field, const char *want, const json_t *v) {
    return llm_errorf(err, "field \"%s\": expected %s, got %s", field, want, req_json_type_name(v));
}

int req_get_int(const json_t *v, const char *field, long long lo, long long hi, long long *out,
                LlmError *err) {
    if (!json_is_integer(v)) return req_type_error(err, field, "an integer", v);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return llm_errorf(err, "field \"%s\": %lld is out of range [%lld, %lld]", field, x, lo, hi);
    *out = x;
    return LLM_OK;
}

int req_is_sampling_field(const char *name) {
    for (int i = 0; i < REQ_N_FLOAT_FIELDS; i++)
        if (strcmp(name, REQ_FLOAT_FIELDS[i].name) == 0) return 1;
    return strcmp(name, "top_k") == 0;
}

int req_parse_sampling(const json_t *obj, SamplerParams *p, LlmError *err) {
    for (int i = 0; i < REQ_N_FLOAT_FIELDS; i++) {
        const json_t *v = json_object_get(obj, REQ_FLOAT_FIELDS[i].name);
        if (v == NULL || json_is_null(v)) continue;
        if (!json_is_number(v)) return req_type_error(err, REQ_FLOAT_FIELDS[i].name, "a number", v);
        *(float *)(void *)((char *)p + REQ_FLOAT_FIELDS[i].offset) = (float)json_number_value(v);
    }
    const json_t *v = json_object_get(obj, "top_k");
    long long x = 0;
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (req_get_int(v, "top_k", -1, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
    p->top_k = x < 0 ? 0 : (int)x;
    return LLM_OK;
}

int req_parse_stop(const json_t *obj, const char **stop, int *n_stop, LlmError *err) {
    const json_t *v = json_object_get(obj, "stop");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (json_is_string(v)) {
        stop[0] = json_string_value(v);
        *n_stop = 1;
        return LLM_OK;
    }
    if (!json_is_array(v)) return req_type_error(err, "stop", "a string or an array of strings", v);
    if (json_array_size(v) > STOP_MAX_STRINGS)
        return llm_errorf(err, "field \"stop\": %zu strings, at most %d", json_array_size(v),
                          STOP_MAX_STRINGS);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return llm_errorf(err, "field \"stop\": element %zu is %s, expected a string", i,
                              req_json_type_name(e));
        stop[i] = json_string_value(e);
    }
    *n_stop = (int)json_array_size(v);
    return LLM_OK;
}

int req_parse_stop_ids(const json_t *obj, int32_t *ids, int max, int *n, LlmError *err) {
    const json_t *v = json_object_get(obj, "stop_token_ids");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (!json_is_array(v)) return req_type_error(err, "stop_token_ids", "an array of integers", v);
    if (json_array_size(v) > (size_t)max)
        return llm_errorf(err, "field \"stop_token_ids\": %zu ids, at most %d", json_array_size(v),
                          max);
    for (size_t i = 0; i < json_array_size(v); i++) {
        long long x = 0;
        if (req_get_int(json_array_get(v, i), "stop_token_ids", INT32_MIN, INT32_MAX, &x, err) !=
            LLM_OK)
            return LLM_ERR;
        ids[i] = (int32_t)x;
    }
    *n = (int)json_array_size(v);
    return LLM_OK;
}

int req_parse_seed(const json_t *obj, uint64_t *seed, LlmError *err) {
    const json_t *v = json_object_get(obj, "seed");
    long long x = 0;
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (req_get_int(v, "seed", 0, LLONG_MAX, &x, err) != LLM_OK) return LLM_ERR;
    *seed = (uint64_t)x;
    return LLM_OK;
}

int req_parse_n(const json_t *obj, int *n, LlmError *err) {
    const json_t *v = json_object_get(obj, "n");
    long long x = 0;
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (req_get_int(v, "n", INT_MIN, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
    *n = (int)x;
    return LLM_OK;
}

int req_parse_bool(const json_t *obj, const char *field, int *out, LlmError *err) {
    const json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (!json_is_boolean(v)) return req_type_error(err, field, "a boolean", v);
    *out = json_is_true(v);
    return LLM_OK;
}

void req_error_field(const char *msg, char *buf, size_t cap) {
    size_t n = 0;
    const char *p = msg;
    if (strncmp(msg, "field \"", 7) == 0) {
        p = msg + 7;
        while (p[n] != '\0' && p[n] != '"') n++;
    } else {
        while (islower((unsigned char)p[n]) || p[n] == '_') n++;
    }
    if (n >= cap) n = cap - 1;
    memcpy(buf, p, n);
    buf[n] = '\0';
}
