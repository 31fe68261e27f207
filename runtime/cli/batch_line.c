/* batch_line.c - request lines in, result objects out (see batch_line.h). */
#include "cli/batch_line.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/logprobs_json.h"

/* Sampling fields that are plain numbers of SamplerParams. */
static const struct {
    const char *name;
    size_t offset;  /* of the float in SamplerParams */
} BATCH_FLOAT_FIELDS[] = {
    {"temperature", offsetof(SamplerParams, temperature)},
    {"top_p", offsetof(SamplerParams, top_p)},
    {"min_p", offsetof(SamplerParams, min_p)},
    {"repetition_penalty", offsetof(SamplerParams, repetition_penalty)},
    {"presence_penalty", offsetof(SamplerParams, presence_penalty)},
    {"frequency_penalty", offsetof(SamplerParams, frequency_penalty)},
};
enum { BATCH_N_FLOAT_FIELDS = sizeof BATCH_FLOAT_FIELDS / sizeof BATCH_FLOAT_FIELDS[0] };

/* Every other field a line may have. */
static const char *const BATCH_OTHER_FIELDS[] = {
    "prompt", "max_tokens", "top_k", "seed", "n", "logprobs", "stop", "stop_token_ids",
    "ignore_eos", "id"};

uint64_t batch_line_seed(uint64_t base, int line) {
    return (base + (uint64_t)line * 0x9E3779B97F4A7C15ull) & (uint64_t)INT64_MAX;
}

static const char *json_type_name(const json_t *v) {
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

static int field_error(LlmError *err, int line, const char *field, const char *want,
                       const json_t *v) {
    return llm_errorf(err, "line %d: field \"%s\": expected %s, got %s", line, field, want,
                      json_type_name(v));
}

/* An integer field in [lo, hi]. */
static int get_int(const json_t *v, int line, const char *field, long long lo, long long hi,
                   long long *out, LlmError *err) {
    if (!json_is_integer(v)) return field_error(err, line, field, "an integer", v);
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return llm_errorf(err, "line %d: field \"%s\": %lld is out of range [%lld, %lld]", line,
                          field, x, lo, hi);
    *out = x;
    return LLM_OK;
}

/* The names of every field, for the unknown-field message. */
static void field_list(char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof BATCH_OTHER_FIELDS / sizeof BATCH_OTHER_FIELDS[0]; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? ", " : "", BATCH_OTHER_FIELDS[i]);
    for (int i = 0; i < BATCH_N_FLOAT_FIELDS; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), ", %s", BATCH_FLOAT_FIELDS[i].name);
}

static int check_known_fields(const json_t *doc, int line, LlmError *err) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        int known = 0;
        for (size_t i = 0; i < sizeof BATCH_OTHER_FIELDS / sizeof BATCH_OTHER_FIELDS[0]; i++)
            known |= strcmp(key, BATCH_OTHER_FIELDS[i]) == 0;
        for (int i = 0; i < BATCH_N_FLOAT_FIELDS; i++)
            known |= strcmp(key, BATCH_FLOAT_FIELDS[i].name) == 0;
        if (!known) {
            char names[512];
            field_list(names, sizeof names);
            return llm_errorf(err, "line %d: field \"%s\": not a request field (%s)", line, key,
                              names);
        }
    }
    return LLM_OK;
}

static int parse_sampling(const json_t *doc, int line, SamplerParams *p, LlmError *err) {
    for (int i = 0; i < BATCH_N_FLOAT_FIELDS; i++) {
        const json_t *v = json_object_get(doc, BATCH_FLOAT_FIELDS[i].name);
        if (v == NULL) continue;
        if (!json_is_number(v)) return field_error(err, line, BATCH_FLOAT_FIELDS[i].name, "a number", v);
        *(float *)(void *)((char *)p + BATCH_FLOAT_FIELDS[i].offset) = (float)json_number_value(v);
    }
    long long x = 0;
    const json_t *v = json_object_get(doc, "top_k");
    if (v != NULL) {
        if (get_int(v, line, "top_k", -1, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        p->top_k = x < 0 ? 0 : (int)x;
    }
    v = json_object_get(doc, "logprobs");
    if (v != NULL && !json_is_null(v)) {
        if (json_is_boolean(v)) p->logprobs = json_is_true(v) ? 0 : -1;
        else if (get_int(v, line, "logprobs", INT_MIN, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        else p->logprobs = (int)x;
    }
    return LLM_OK;
}

/* "stop": a string or an array of strings (null: none). */
static int parse_stop(const json_t *doc, BatchLine *b, LlmError *err) {
    const json_t *v = json_object_get(doc, "stop");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (json_is_string(v)) {
        b->stop[0] = json_string_value(v);
        b->req.n_stop = 1;
    } else if (json_is_array(v)) {
        if (json_array_size(v) > STOP_MAX_STRINGS)
            return llm_errorf(err, "line %d: field \"stop\": %zu strings, at most %d", b->line,
                              json_array_size(v), STOP_MAX_STRINGS);
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_string(e))
                return llm_errorf(err, "line %d: field \"stop\": element %zu is %s, expected a "
                                  "string", b->line, i, json_type_name(e));
            b->stop[i] = json_string_value(e);
        }
        b->req.n_stop = (int)json_array_size(v);
    } else {
        return field_error(err, b->line, "stop", "a string or an array of strings", v);
    }
    b->req.stop = b->stop; /* jansson refused any \u0000, so they are C strings */
    return LLM_OK;
}

static int parse_stop_ids(const json_t *doc, BatchLine *b, LlmError *err) {
    const json_t *v = json_object_get(doc, "stop_token_ids");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (!json_is_array(v)) return field_error(err, b->line, "stop_token_ids", "an array of integers", v);
    if (json_array_size(v) > SCHED_MAX_STOP_IDS)
        return llm_errorf(err, "line %d: field \"stop_token_ids\": %zu ids, at most %d", b->line,
                          json_array_size(v), SCHED_MAX_STOP_IDS);
    for (size_t i = 0; i < json_array_size(v); i++) {
        long long x = 0;
        if (get_int(json_array_get(v, i), b->line, "stop_token_ids", INT32_MIN, INT32_MAX, &x,
                    err) != LLM_OK)
            return LLM_ERR;
        b->stop_ids[i] = (int32_t)x;
    }
    b->req.n_stop_ids = (int)json_array_size(v);
    b->req.stop_ids = b->stop_ids;
    return LLM_OK;
}

/* The command-line defaults of a line. */
static void apply_defaults(const BatchDefaults *d, BatchLine *b) {
    const CliArgs *a = d->a;
    b->req.sampling = d->sampling;
    b->req.sampling.seed = batch_line_seed(d->seed, b->line);
    b->req.n = 1;
    b->req.ignore_eos = a->ignore_eos;
    b->req.n_stop = a->n_stop;
    for (int i = 0; i < a->n_stop && i < STOP_MAX_STRINGS; i++) b->stop[i] = a->stop[i];
    b->req.stop = b->stop;
    b->req.n_stop_ids = a->n_stop_ids;
    for (int i = 0; i < a->n_stop_ids && i < SCHED_MAX_STOP_IDS; i++) b->stop_ids[i] = a->stop_ids[i];
    b->req.stop_ids = b->stop_ids;
    b->req.user = b;
}

static int parse_prompt(const CliSession *s, const BatchDefaults *d, const json_t *doc,
                        BatchLine *b, LlmError *err) {
    const json_t *v = json_object_get(doc, "prompt");
    if (v == NULL) return llm_errorf(err, "line %d: field \"prompt\" is missing", b->line);
    if (!json_is_string(v)) return field_error(err, b->line, "prompt", "a string", v);
    if (tok_encode(s->tok, json_string_value(v), json_string_length(v), d->add_bos, &b->prompt,
                   &b->req.n_prompt, err) != LLM_OK)
        return llm_error_prefix(err, "line %d: field \"prompt\"", b->line);
    b->req.prompt = b->prompt;
    return LLM_OK;
}

/* max_tokens, n, seed, ignore_eos. */
static int parse_counts(const CliSession *s, const BatchDefaults *d, const json_t *doc,
                        BatchLine *b, LlmError *err) {
    long long x = 0;
    const json_t *v = json_object_get(doc, "max_tokens");
    int room = s->prog->max_context - b->req.n_prompt;
    b->req.max_tokens = room > 0 && room < d->max_tokens ? room : d->max_tokens;
    if (v != NULL) {
        if (get_int(v, b->line, "max_tokens", 1, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        b->req.max_tokens = (int)x;
        b->max_tokens_given = 1;
    }
    if ((v = json_object_get(doc, "n")) != NULL) {
        if (get_int(v, b->line, "n", INT_MIN, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        b->req.n = (int)x;
    }
    if ((v = json_object_get(doc, "seed")) != NULL) {
        if (get_int(v, b->line, "seed", 0, LLONG_MAX, &x, err) != LLM_OK) return LLM_ERR;
        b->req.sampling.seed = (uint64_t)x;
    }
    if ((v = json_object_get(doc, "ignore_eos")) != NULL) {
        if (!json_is_boolean(v)) return field_error(err, b->line, "ignore_eos", "a boolean", v);
        b->req.ignore_eos = json_is_true(v);
    }
    return LLM_OK;
}

int batch_line_parse(const CliSession *s, const BatchDefaults *d, const char *text, size_t len,
                     int line, BatchLine *b, LlmError *err) {
    memset(b, 0, sizeof *b);
    b->line = line;
    apply_defaults(d, b);
    json_error_t je;
    b->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (b->doc == NULL)
        return llm_errorf(err, "line %d: not valid JSON: %s (column %d)", line, je.text, je.column);
    if (!json_is_object(b->doc))
        return llm_errorf(err, "line %d: expected a JSON object, got %s", line,
                          json_type_name(b->doc));
    const json_t *id = json_object_get(b->doc, "id");
    if (id != NULL) b->id = json_incref((json_t *)id);
    if (check_known_fields(b->doc, line, err) != LLM_OK ||
        parse_prompt(s, d, b->doc, b, err) != LLM_OK || parse_counts(s, d, b->doc, b, err) != LLM_OK ||
        parse_sampling(b->doc, line, &b->req.sampling, err) != LLM_OK ||
        parse_stop(b->doc, b, err) != LLM_OK || parse_stop_ids(b->doc, b, err) != LLM_OK)
        return LLM_ERR;
    return LLM_OK;
}

void batch_line_free(BatchLine *b) {
    free(b->prompt);
    free(b->error);
    if (b->id != NULL) json_decref(b->id);
    if (b->doc != NULL) json_decref(b->doc);
    memset(b, 0, sizeof *b);
}

/* ---- results ------------------------------------------------------------- */

static json_t *json_ms(double seconds) {
    return seconds < 0 ? json_null() : json_real(1e3 * seconds);
}

static json_t *json_u64(uint64_t v) {
    if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return json_string(buf);
}

/* Mean gap between consecutive tokens, or null below two tokens. */
static json_t *mean_itl_ms(const SchedOutput *o) {
    if (o->n_ids < 2) return json_null();
    return json_real(1e3 * (o->token_times[o->n_ids - 1] - o->token_times[0]) / (o->n_ids - 1));
}

/* What stopped it, when a stop string or a stop id did. */
static json_t *stop_value(const BatchLine *b, const SchedOutput *o) {
    if (o->cause == SCHED_CAUSE_STOP_STRING) return json_string(b->req.stop[o->stop_detail]);
    if (o->cause == SCHED_CAUSE_STOP_ID) return json_integer(o->stop_detail);
    return json_null();
}

static json_t *choice_json(const CliSession *s, const BatchLine *b, const SchedOutput *o) {
    json_t *ids = json_array();
    for (int i = 0; i < o->n_ids; i++) json_array_append_new(ids, json_integer(o->ids[i]));
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(o->index));
    json_object_set_new(c, "text", json_text(o->text, o->text_len));
    json_object_set_new(c, "finish_reason", json_string(sched_finish_name(o->finish)));
    json_object_set_new(c, "stop_reason", json_string(sched_cause_name(o->cause)));
    json_object_set_new(c, "stop", stop_value(b, o));
    json_object_set_new(c, "completion_tokens", json_integer(o->n_ids));
    json_object_set_new(c, "token_ids", ids);
    json_object_set_new(c, "seed", json_u64(o->seed));
    json_object_set_new(c, "preemptions", json_integer(o->n_preempted));
    json_object_set_new(c, "ttft_ms", json_ms(o->first_token_s));
    json_object_set_new(c, "itl_ms", mean_itl_ms(o));
    json_object_set_new(c, "total_ms", json_ms(o->finish_s));
    if (o->logprobs != NULL) {
        json_t *lp = json_array();
        for (int i = 0; i < o->n_ids; i++)
            json_array_append_new(lp, logprobs_json_object(s->tok, &o->logprobs[i]));
        json_object_set_new(c, "logprobs", lp);
    }
    return c;
}

json_t *batch_line_result(const CliSession *s, const BatchLine *b, const SchedInfo *info,
                          const SchedOutput *const *outs) {
    json_t *r = json_object(), *choices = json_array();
    long long completion = 0;
    for (int j = 0; j < info->n; j++) {
        json_array_append_new(choices, choice_json(s, b, outs[j]));
        completion += outs[j]->n_ids;
    }
    json_object_set_new(r, "line", json_integer(b->line));
    if (b->id != NULL) json_object_set(r, "id", b->id);
    json_object_set_new(r, "prompt_tokens", json_integer(info->n_prompt));
    json_object_set_new(r, "cached_tokens", json_integer(info->n_cached));
    json_object_set_new(r, "completion_tokens", json_integer(completion));
    json_object_set_new(r, "choices", choices);
    json_t *t = json_object();
    json_object_set_new(t, "queue_ms", json_ms(info->queue_s));
    json_object_set_new(t, "ttft_ms", json_ms(info->first_token_s));
    json_object_set_new(t, "total_ms", json_ms(info->finish_s));
    json_object_set_new(r, "timings", t);
    return r;
}

json_t *batch_line_error(const BatchLine *b) {
    json_t *r = json_object();
    json_object_set_new(r, "line", json_integer(b->line));
    if (b->id != NULL) json_object_set(r, "id", b->id);
    json_object_set_new(r, "error", json_text(b->error, strlen(b->error)));
    return r;
}
