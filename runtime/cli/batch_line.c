/* batch_line.c - request lines in, result objects out (see batch_line.h). */
#include "cli/batch_line.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/logprobs_json.h"
#include "http/req_fields.h"

/* Every field a line may have beside the sampling ones (req_fields.h). */
static const char *const BATCH_OTHER_FIELDS[] = {
    "prompt", "max_tokens", "seed", "n", "logprobs", "stop", "stop_token_ids", "ignore_eos", "id"};

uint64_t batch_line_seed(uint64_t base, int line) {
    return (base + (uint64_t)line * 0x9E3779B97F4A7C15ull) & (uint64_t)INT64_MAX;
}

/* Prefixes a req_fields.h message with the line number. */
static int line_error(LlmError *err, int line) { return llm_error_prefix(err, "line %d", line); }

static int check_known_fields(const json_t *doc, int line, LlmError *err) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        int known = req_is_sampling_field(key);
        for (size_t i = 0; i < sizeof BATCH_OTHER_FIELDS / sizeof BATCH_OTHER_FIELDS[0]; i++)
            known |= strcmp(key, BATCH_OTHER_FIELDS[i]) == 0;
        if (!known) {
            char names[512] = "";
            for (size_t i = 0; i < sizeof BATCH_OTHER_FIELDS / sizeof BATCH_OTHER_FIELDS[0]; i++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s, ",
                         BATCH_OTHER_FIELDS[i]);
            return llm_errorf(err, "line %d: field \"%s\": not a request field (%s%s)", line, key,
                              names, REQ_SAMPLING_FIELDS);
        }
    }
    return LLM_OK;
}

/* The sampling numbers and "logprobs" (an integer, or a boolean: true is
 * the chosen token only). */
static int parse_sampling(const json_t *doc, SamplerParams *p, LlmError *err) {
    if (req_parse_sampling(doc, p, err) != LLM_OK) return LLM_ERR;
    long long x = 0;
    const json_t *v = json_object_get(doc, "logprobs");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (json_is_boolean(v)) p->logprobs = json_is_true(v) ? 0 : -1;
    else if (req_get_int(v, "logprobs", INT_MIN, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
    else p->logprobs = (int)x;
    return LLM_OK;
}

static int parse_stops(const json_t *doc, BatchLine *b, LlmError *err) {
    if (req_parse_stop(doc, b->stop, &b->req.n_stop, err) != LLM_OK ||
        req_parse_stop_ids(doc, b->stop_ids, SCHED_MAX_STOP_IDS, &b->req.n_stop_ids, err) != LLM_OK)
        return LLM_ERR;
    b->req.stop = b->stop;
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
    if (v == NULL) return llm_errorf(err, "field \"prompt\" is missing");
    if (!json_is_string(v)) return req_type_error(err, "prompt", "a string", v);
    if (tok_encode(s->tok, json_string_value(v), json_string_length(v), d->add_bos, &b->prompt,
                   &b->req.n_prompt, err) != LLM_OK)
        return llm_error_prefix(err, "field \"prompt\"");
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
        if (req_get_int(v, "max_tokens", 1, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        b->req.max_tokens = (int)x;
        b->max_tokens_given = 1;
    }
    if (req_parse_n(doc, &b->req.n, err) != LLM_OK ||
        req_parse_seed(doc, &b->req.sampling.seed, err) != LLM_OK)
        return LLM_ERR;
    return req_parse_bool(doc, "ignore_eos", &b->req.ignore_eos, err);
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
                          req_json_type_name(b->doc));
    const json_t *id = json_object_get(b->doc, "id");
    if (id != NULL) b->id = json_incref((json_t *)id);
    if (check_known_fields(b->doc, line, err) != LLM_OK) return LLM_ERR;
    if (parse_prompt(s, d, b->doc, b, err) != LLM_OK || parse_counts(s, d, b->doc, b, err) != LLM_OK ||
        parse_sampling(b->doc, &b->req.sampling, err) != LLM_OK ||
        parse_stops(b->doc, b, err) != LLM_OK)
        return line_error(err, line);
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
