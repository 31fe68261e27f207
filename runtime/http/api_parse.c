/* api_parse.c - OpenAI request bodies -> SchedRequest (see api_parse.h).
 *
 * One table says which fields each endpoint takes and how (parsed,
 * ignored, or accepted only at a neutral value); the parsers below fill
 * ApiRequest field by field and leave range checks to sched_submit.
 * Internal helpers fill ApiError.e only; api_parse_request turns that
 * into a 400 whose param is the field the message names, unless a helper
 * set another status (404 for the model).
 */
#include "http/api_parse.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/req_fields.h"

enum { API_IN_COMPLETION = 1, API_IN_CHAT = 2, API_IN_BOTH = 3 };

typedef enum ApiFieldUse {
    API_FIELD_PARSED = 0, /* read by the parsers below */
    API_FIELD_IGNORED,    /* accepted, changes nothing generated */
    API_FIELD_NEUTRAL     /* a feature we lack: only its neutral value is accepted */
} ApiFieldUse;

static const struct {
    const char *name;
    unsigned kinds; /* API_IN_* */
    ApiFieldUse use;
} API_FIELDS[] = {
    {"model", API_IN_BOTH, API_FIELD_PARSED},
    {"prompt", API_IN_COMPLETION, API_FIELD_PARSED},
    {"messages", API_IN_CHAT, API_FIELD_PARSED},
    {"max_tokens", API_IN_BOTH, API_FIELD_PARSED},
    {"max_completion_tokens", API_IN_CHAT, API_FIELD_PARSED},
    {"n", API_IN_BOTH, API_FIELD_PARSED},
    {"stop", API_IN_BOTH, API_FIELD_PARSED},
    {"stop_token_ids", API_IN_BOTH, API_FIELD_PARSED},
    {"seed", API_IN_BOTH, API_FIELD_PARSED},
    {"logprobs", API_IN_BOTH, API_FIELD_PARSED},
    {"top_logprobs", API_IN_CHAT, API_FIELD_PARSED},
    {"stream", API_IN_BOTH, API_FIELD_PARSED},
    {"stream_options", API_IN_BOTH, API_FIELD_PARSED},
    {"ignore_eos", API_IN_BOTH, API_FIELD_PARSED},
    {"user", API_IN_BOTH, API_FIELD_IGNORED},
    {"metadata", API_IN_CHAT, API_FIELD_IGNORED},
    {"store", API_IN_CHAT, API_FIELD_IGNORED},
    {"service_tier", API_IN_CHAT, API_FIELD_IGNORED},
    {"parallel_tool_calls", API_IN_CHAT, API_FIELD_IGNORED},
    {"prompt_cache_key", API_IN_CHAT, API_FIELD_IGNORED},
    {"safety_identifier", API_IN_CHAT, API_FIELD_IGNORED},
    {"echo", API_IN_COMPLETION, API_FIELD_NEUTRAL},
    {"best_of", API_IN_COMPLETION, API_FIELD_NEUTRAL},
    {"suffix", API_IN_COMPLETION, API_FIELD_NEUTRAL},
    {"logit_bias", API_IN_BOTH, API_FIELD_NEUTRAL},
    {"response_format", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"tools", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"tool_choice", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"functions", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"function_call", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"modalities", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"audio", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"prediction", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"reasoning_effort", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"verbosity", API_IN_CHAT, API_FIELD_NEUTRAL},
    {"web_search_options", API_IN_CHAT, API_FIELD_NEUTRAL},
};
enum { API_N_FIELDS = sizeof API_FIELDS / sizeof API_FIELDS[0] };

int api_error_set(ApiError *e, int status, const char *type, const char *code, const char *param,
                  const char *fmt, ...) {
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->e.msg, sizeof e->e.msg, fmt, ap);
    va_end(ap);
    return LLM_ERR;
}

/* ---- which fields ------------------------------------------------------- */

static int api_field_find(const char *name, unsigned kind_bit) {
    for (int i = 0; i < API_N_FIELDS; i++)
        if ((API_FIELDS[i].kinds & kind_bit) && strcmp(name, API_FIELDS[i].name) == 0) return i;
    return -1;
}

/* The neutral value of a feature this server lacks. */
static int api_is_neutral(const char *name, const json_t *v) {
    if (json_is_null(v) || json_is_false(v)) return 1;
    if (json_is_string(v) && json_string_length(v) == 0) return 1;
    if ((json_is_object(v) && json_object_size(v) == 0) || (json_is_array(v) && json_array_size(v) == 0))
        return 1;
    if (strcmp(name, "best_of") == 0) return json_is_integer(v) && json_integer_value(v) == 1;
    if (strcmp(name, "response_format") == 0) {
        const json_t *t = json_object_get(v, "type");
        return json_object_size(v) == 1 && json_is_string(t) && strcmp(json_string_value(t), "text") == 0;
    }
    if (strcmp(name, "tool_choice") == 0)
        return json_is_string(v) && (strcmp(json_string_value(v), "none") == 0 ||
                                     strcmp(json_string_value(v), "auto") == 0);
    if (strcmp(name, "modalities") == 0) {
        const json_t *m = json_array_get(v, 0);
        return json_array_size(v) == 1 && json_is_string(m) && strcmp(json_string_value(m), "text") == 0;
    }
    return 0;
}

static void api_field_names(unsigned kind_bit, char *buf, size_t cap) {
    snprintf(buf, cap, "%s", REQ_SAMPLING_FIELDS);
    for (int i = 0; i < API_N_FIELDS; i++)
        if ((API_FIELDS[i].kinds & kind_bit) && API_FIELDS[i].use != API_FIELD_NEUTRAL)
            snprintf(buf + strlen(buf), cap - strlen(buf), ", %s", API_FIELDS[i].name);
}

static int api_check_fields(const json_t *doc, ApiKind kind, LlmError *err) {
    unsigned bit = kind == API_KIND_CHAT ? API_IN_CHAT : API_IN_COMPLETION;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        if (req_is_sampling_field(key)) continue;
        int i = api_field_find(key, bit);
        if (i < 0) {
            char names[1024];
            api_field_names(bit, names, sizeof names);
            return llm_errorf(err, "field \"%s\": not a field of %s (supported: %s)", key,
                              kind == API_KIND_CHAT ? "/v1/chat/completions" : "/v1/completions",
                              names);
        }
        if (API_FIELDS[i].use == API_FIELD_NEUTRAL && !api_is_neutral(key, v)) {
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            llm_errorf(err, "field \"%s\": %.200s is not supported by this server (leave it out)",
                       key, text ? text : "?");
            free(text);
            return LLM_ERR;
        }
    }
    return LLM_OK;
}

/* ---- model, prompt, messages --------------------------------------------- */

static int api_parse_model(const ApiContext *c, const json_t *doc, ApiError *e) {
    const json_t *v = json_object_get(doc, "model");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (!json_is_string(v)) return req_type_error(&e->e, "model", "a string", v);
    if (strcmp(json_string_value(v), c->model) == 0) return LLM_OK;
    return api_error_set(e, 404, "invalid_request_error", "model_not_found", "model",
                         "The model '%.200s' does not exist; this server serves '%s'",
                         json_string_value(v), c->model);
}

/* An array of token ids into r->prompt; 0 when v is not one. */
static int api_token_array(const json_t *v, ApiRequest *r) {
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++)
        if (!json_is_integer(json_array_get(v, i))) return 0;
    r->prompt = llm_xmalloc(sizeof(int32_t) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        json_int_t x = json_integer_value(json_array_get(v, i));
        r->prompt[i] = x < INT32_MIN || x > INT32_MAX ? -1 : (int32_t)x; /* sched refuses -1 */
    }
    r->req.n_prompt = (int)n;
    return 1;
}

/* "prompt": a string, an array of token ids, or an array of one of these. */
static int api_parse_prompt(const ApiContext *c, const json_t *doc, ApiRequest *r, LlmError *err) {
    const json_t *v = json_object_get(doc, "prompt");
    if (v == NULL) return llm_errorf(err, "field \"prompt\" is missing");
    if (json_is_array(v) && json_array_size(v) == 1 && !json_is_integer(json_array_get(v, 0)))
        v = json_array_get(v, 0);
    if (json_is_array(v) && json_array_size(v) > 0 && api_token_array(v, r)) return LLM_OK;
    if (json_is_array(v) && json_array_size(v) > 1 && !json_is_integer(json_array_get(v, 0)))
        return llm_errorf(err, "field \"prompt\": %zu prompts in one request are not supported "
                          "(send one request per prompt)", json_array_size(v));
    if (!json_is_string(v))
        return req_type_error(err, "prompt", "a string, an array of token ids or an array of one "
                              "string", v);
    if (tok_encode(c->tok, json_string_value(v), json_string_length(v), c->add_bos, &r->prompt,
                   &r->req.n_prompt, err) != LLM_OK)
        return llm_error_prefix(err, "field \"prompt\"");
    return LLM_OK;
}

/* A message's content: a string or an array of {"type": "text", "text"}
 * parts (joined with "\n" as vLLM does); malloc'd. */
static int api_message_content(const json_t *m, size_t i, char **out, LlmError *err) {
    const json_t *v = json_object_get(m, "content");
    if (json_is_string(v)) {
        *out = llm_xstrdup(json_string_value(v));
        return LLM_OK;
    }
    if (!json_is_array(v))
        return llm_errorf(err, "field \"messages\": message %zu: content is %s, expected a string "
                          "or an array of text parts", i, req_json_type_name(v ? v : json_null()));
    size_t len = 0;
    for (size_t k = 0; k < json_array_size(v); k++) {
        const json_t *part = json_array_get(v, k), *text = json_object_get(part, "text");
        const json_t *type = json_object_get(part, "type");
        if (!json_is_string(type) || strcmp(json_string_value(type), "text") != 0 || !json_is_string(text))
            return llm_errorf(err, "field \"messages\": message %zu: content part %zu is not "
                              "{\"type\": \"text\", \"text\": ...} (only text is supported)", i, k);
        len += json_string_length(text) + 1;
    }
    char *buf = llm_xmalloc(len + 1);
    buf[0] = '\0';
    for (size_t k = 0; k < json_array_size(v); k++) {
        if (k > 0) strcat(buf, "\n");
        strcat(buf, json_string_value(json_object_get(json_array_get(v, k), "text")));
    }
    *out = buf;
    return LLM_OK;
}

static int api_message_role(const json_t *m, size_t i, ChatRole *role, LlmError *err) {
    const json_t *v = json_object_get(m, "role");
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    if (strcmp(s, "system") == 0 || strcmp(s, "developer") == 0) *role = CHAT_ROLE_SYSTEM;
    else if (strcmp(s, "user") == 0) *role = CHAT_ROLE_USER;
    else if (strcmp(s, "assistant") == 0) *role = CHAT_ROLE_ASSISTANT;
    else
        return llm_errorf(err, "field \"messages\": message %zu: role '%.64s' is not one of "
                          "system, developer, user, assistant", i, s);
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)m, key, x) {
        if (strcmp(key, "role") != 0 && strcmp(key, "content") != 0 && strcmp(key, "name") != 0 &&
            !json_is_null(x))
            return llm_errorf(err, "field \"messages\": message %zu: \"%.64s\" is not supported "
                              "(role, content and name are)", i, key);
    }
    return LLM_OK;
}

/* The messages as the template renders them (contents malloc'd). */
static int api_read_messages(const json_t *v, ChatMessage *msgs, LlmError *err) {
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *m = json_array_get(v, i);
        char *content = NULL;
        if (!json_is_object(m))
            return llm_errorf(err, "field \"messages\": message %zu is %s, expected an object", i,
                              req_json_type_name(m));
        if (api_message_role(m, i, &msgs[i].role, err) != LLM_OK ||
            api_message_content(m, i, &content, err) != LLM_OK)
            return LLM_ERR;
        msgs[i].content = content;
    }
    return LLM_OK;
}

static int api_parse_messages(const ApiContext *c, const json_t *doc, ApiRequest *r, LlmError *err) {
    const json_t *v = json_object_get(doc, "messages");
    if (c->chat == NULL) return llm_errorf(err, "field \"messages\": %s", c->no_chat);
    if (v == NULL) return llm_errorf(err, "field \"messages\" is missing");
    if (!json_is_array(v) || json_array_size(v) == 0)
        return json_is_array(v) ? llm_errorf(err, "field \"messages\": empty, give at least one")
                                : req_type_error(err, "messages", "an array of messages", v);
    size_t n = json_array_size(v);
    ChatMessage *msgs = llm_xcalloc(n, sizeof *msgs);
    char *text = NULL;
    int rc = api_read_messages(v, msgs, err);
    if (rc == LLM_OK && chat_template_render(c->chat, msgs, (int)n, 1, &text, err) != LLM_OK)
        rc = llm_error_prefix(err, "field \"messages\"");
    if (rc == LLM_OK && tok_encode(c->tok, text, strlen(text), 0, &r->prompt, &r->req.n_prompt,
                                   err) != LLM_OK)
        rc = llm_error_prefix(err, "field \"messages\"");
    for (size_t i = 0; i < n; i++) free((char *)msgs[i].content);
    free(msgs);
    free(text);
    return rc;
}

/* ---- the other fields ----------------------------------------------------- */

/* max_tokens (chat: max_completion_tokens first); the default when absent. */
static int api_parse_max_tokens(const ApiContext *c, const json_t *doc, ApiRequest *r,
                                LlmError *err) {
    const char *field = "max_completion_tokens";
    const json_t *v = r->kind == API_KIND_CHAT ? json_object_get(doc, field) : NULL;
    if (v == NULL || json_is_null(v)) v = json_object_get(doc, field = "max_tokens");
    r->max_tokens_field = field;
    if (v != NULL && !json_is_null(v)) {
        long long x = 0;
        if (req_get_int(v, field, 1, INT_MAX, &x, err) != LLM_OK) return LLM_ERR;
        r->req.max_tokens = (int)x;
        return LLM_OK;
    }
    int room = c->max_context - r->req.n_prompt;
    r->req.max_tokens = r->kind == API_KIND_CHAT || room < 1 ? 0 : room < 16 ? room : 16;
    return LLM_OK;
}

/* Completions: logprobs N (null: off). Chat: logprobs true/false and
 * top_logprobs N (which needs logprobs: true, as OpenAI has it). */
static int api_parse_logprobs(const json_t *doc, ApiRequest *r, LlmError *err) {
    const json_t *v = json_object_get(doc, "logprobs");
    long long x = 0;
    if (r->kind == API_KIND_COMPLETION) {
        if (v == NULL || json_is_null(v)) return LLM_OK;
        if (req_get_int(v, "logprobs", 0, LLM_LOGPROBS_MAX, &x, err) != LLM_OK) return LLM_ERR;
        r->logprobs = API_LOGPROBS_ON;
        r->top_logprobs = (int)x;
        return LLM_OK;
    }
    int on = 0;
    if (req_parse_bool(doc, "logprobs", &on, err) != LLM_OK) return LLM_ERR;
    r->logprobs = on ? API_LOGPROBS_ON : API_LOGPROBS_OFF;
    const json_t *top = json_object_get(doc, "top_logprobs");
    if (top == NULL || json_is_null(top)) return LLM_OK;
    if (req_get_int(top, "top_logprobs", 0, LLM_LOGPROBS_MAX, &x, err) != LLM_OK) return LLM_ERR;
    if (!on && x > 0)
        return llm_errorf(err, "field \"top_logprobs\": %lld needs \"logprobs\": true", x);
    r->top_logprobs = (int)x;
    return LLM_OK;
}

static int api_parse_stream(const json_t *doc, ApiRequest *r, LlmError *err) {
    if (req_parse_bool(doc, "stream", &r->stream, err) != LLM_OK) return LLM_ERR;
    const json_t *v = json_object_get(doc, "stream_options");
    if (v == NULL || json_is_null(v)) return LLM_OK;
    if (!json_is_object(v)) return req_type_error(err, "stream_options", "an object", v);
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        if (strcmp(key, "include_usage") != 0 && strcmp(key, "include_obfuscation") != 0)
            return llm_errorf(err, "field \"stream_options\": \"%.64s\" is not an option "
                              "(include_usage is)", key);
    }
    x = json_object_get(v, "include_usage");
    if (x != NULL && !json_is_null(x) && !json_is_boolean(x))
        return req_type_error(err, "stream_options", "include_usage as a boolean", x);
    r->include_usage = json_is_true(x);
    return LLM_OK;
}

/* stop, stop_token_ids (chat: and the end-of-turn token). */
static int api_parse_stops(const ApiContext *c, const json_t *doc, ApiRequest *r, LlmError *err) {
    int max_ids = SCHED_MAX_STOP_IDS - (r->kind == API_KIND_CHAT && c->end_of_turn >= 0);
    if (req_parse_stop(doc, r->stop, &r->req.n_stop, err) != LLM_OK ||
        req_parse_stop_ids(doc, r->stop_ids, max_ids, &r->req.n_stop_ids, err) != LLM_OK)
        return LLM_ERR;
    if (r->kind == API_KIND_CHAT && c->end_of_turn >= 0)
        r->stop_ids[r->req.n_stop_ids++] = c->end_of_turn;
    r->req.stop = r->stop;
    r->req.stop_ids = r->stop_ids;
    return LLM_OK;
}

static int api_parse_fields(const ApiContext *c, const json_t *doc, ApiRequest *r, ApiError *e) {
    LlmError *err = &e->e;
    if (api_check_fields(doc, r->kind, err) != LLM_OK || api_parse_model(c, doc, e) != LLM_OK)
        return LLM_ERR;
    int rc = r->kind == API_KIND_CHAT ? api_parse_messages(c, doc, r, err)
                                      : api_parse_prompt(c, doc, r, err);
    if (rc != LLM_OK || api_parse_max_tokens(c, doc, r, err) != LLM_OK ||
        req_parse_n(doc, &r->req.n, err) != LLM_OK ||
        req_parse_seed(doc, &r->req.sampling.seed, err) != LLM_OK ||
        req_parse_bool(doc, "ignore_eos", &r->req.ignore_eos, err) != LLM_OK ||
        req_parse_sampling(doc, &r->req.sampling, err) != LLM_OK ||
        api_parse_logprobs(doc, r, err) != LLM_OK || api_parse_stream(doc, r, err) != LLM_OK ||
        api_parse_stops(c, doc, r, err) != LLM_OK)
        return LLM_ERR;
    r->req.sampling.logprobs = r->logprobs == API_LOGPROBS_ON ? r->top_logprobs : -1;
    r->req.prompt = r->prompt;
    return LLM_OK;
}

int api_parse_request(const ApiContext *c, ApiKind kind, const char *body, size_t len,
                      ApiRequest *r, ApiError *e) {
    memset(r, 0, sizeof *r);
    memset(e, 0, sizeof *e);
    r->kind = kind;
    r->req.sampling = c->defaults;
    r->req.sampling.seed = c->seed;
    r->req.n = 1;
    r->req.user = r;
    r->max_tokens_field = "max_tokens";
    json_error_t je;
    r->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (r->doc == NULL)
        return api_error_set(e, 400, "invalid_request_error", NULL, NULL,
                             "the body is not valid JSON: %s (line %d, column %d)", je.text,
                             je.line, je.column);
    if (!json_is_object(r->doc))
        return api_error_set(e, 400, "invalid_request_error", NULL, NULL,
                             "the body must be a JSON object, got %s", req_json_type_name(r->doc));
    if (api_parse_fields(c, r->doc, r, e) == LLM_OK) return LLM_OK;
    if (e->status == 0) {
        LlmError msg = e->e;
        char field[64];
        req_error_field(msg.msg, field, sizeof field);
        api_error_set(e, 400, "invalid_request_error", NULL, field, "%s", msg.msg);
    }
    return LLM_ERR;
}

void api_request_free(ApiRequest *r) {
    free(r->prompt);
    if (r->doc != NULL) json_decref(r->doc);
    memset(r, 0, sizeof *r);
}

void api_error_from_submit(const ApiRequest *r, const LlmError *err, ApiError *e) {
    char field[64];
    req_error_field(err->msg, field, sizeof field);
    const char *code = NULL, *param = field;
    int context = strstr(err->msg, "context") != NULL;
    if (strcmp(field, "prompt") == 0) {
        if (r->kind == API_KIND_CHAT) param = "messages";
        if (context) code = "context_length_exceeded";
    } else if (strcmp(field, "max_tokens") == 0) {
        param = r->max_tokens_field;
        if (context) code = "context_length_exceeded";
    } else if (strcmp(field, "logprobs") == 0 && r->kind == API_KIND_CHAT) {
        param = "top_logprobs";
    }
    api_error_set(e, 400, "invalid_request_error", code, param, "%s", err->msg);
}
