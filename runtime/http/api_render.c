/* api_render.c - response objects and SSE events (see api_render.h). */
#include "http/api_render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/logprobs_json.h"

json_t *api_error_json(const ApiError *e) {
    json_t *o = json_object(), *err = json_object();
    json_object_set_new(err, "message", json_text(e->e.msg, strlen(e->e.msg)));
    json_object_set_new(err, "type", json_string(e->type ? e->type : "invalid_request_error"));
    json_object_set_new(err, "param", e->param[0] ? json_text(e->param, strlen(e->param)) : json_null());
    json_object_set_new(err, "code", e->code ? json_string(e->code) : json_null());
    json_object_set_new(o, "error", err);
    return o;
}

json_t *api_models_json(const char *model, long long created) {
    json_t *m = json_object(), *data = json_array(), *list = json_object();
    json_object_set_new(m, "id", json_string(model));
    json_object_set_new(m, "object", json_string("model"));
    json_object_set_new(m, "created", json_integer(created));
    json_object_set_new(m, "owned_by", json_string("llmcc"));
    json_array_append_new(data, m);
    json_object_set_new(list, "object", json_string("list"));
    json_object_set_new(list, "data", data);
    return list;
}

json_t *api_usage_json(int prompt_tokens, long long completion_tokens) {
    json_t *u = json_object();
    json_object_set_new(u, "prompt_tokens", json_integer(prompt_tokens));
    json_object_set_new(u, "completion_tokens", json_integer(completion_tokens));
    json_object_set_new(u, "total_tokens", json_integer(prompt_tokens + completion_tokens));
    return u;
}

size_t api_text_chars(const json_t *s) {
    const unsigned char *p = (const unsigned char *)json_string_value(s);
    size_t n = 0, len = json_string_length(s);
    for (size_t i = 0; i < len; i++) n += (p[i] & 0xC0) != 0x80;
    return n;
}

/* ---- logprobs ------------------------------------------------------------- */

static json_t *api_token_text(const Tokenizer *tok, int32_t id) {
    char text[1024];
    int n = tok_token_bytes(tok, id, text, sizeof text);
    return json_text(text, n > 0 ? (size_t)n : 0);
}

static json_t *api_logprob(float lp) {
    return json_real(isinf(lp) || isnan(lp) ? -9999.0 : (double)lp);
}

/* OpenAI's completions logprobs object for tokens t; t->text_offset moves
 * past them. */
static json_t *api_completion_logprobs(const Tokenizer *tok, ApiTokens *t) {
    json_t *tokens = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
    size_t offset = t->text_offset;
    for (int i = t->from; i < t->to; i++) {
        const LlmTokenLogprobs *lp = &t->lp[i];
        json_t *text = api_token_text(tok, lp->id), *top = json_object();
        json_array_append_new(offs, json_integer((json_int_t)offset));
        offset += api_text_chars(text);
        json_array_append_new(tokens, text);
        json_array_append_new(lps, api_logprob(lp->logprob));
        for (int k = 0; k < lp->n_top; k++) {
            json_t *alt = api_token_text(tok, lp->top_ids[k]);
            if (json_object_get(top, json_string_value(alt)) == NULL) /* same text: the likelier */
                json_object_set_new(top, json_string_value(alt), api_logprob(lp->top_logprobs[k]));
            json_decref(alt);
        }
        json_array_append_new(tops, top);
    }
    t->text_offset = offset;
    json_t *o = json_object();
    json_object_set_new(o, "tokens", tokens);
    json_object_set_new(o, "token_logprobs", lps);
    json_object_set_new(o, "top_logprobs", tops);
    json_object_set_new(o, "text_offset", offs);
    return o;
}

static json_t *api_chat_logprobs(const Tokenizer *tok, const ApiTokens *t) {
    json_t *content = json_array(), *o = json_object();
    for (int i = t->from; i < t->to; i++)
        json_array_append_new(content, logprobs_json_object(tok, &t->lp[i]));
    json_object_set_new(o, "content", content);
    json_object_set_new(o, "refusal", json_null());
    return o;
}

static json_t *api_logprobs(const ApiHead *h, const Tokenizer *tok, ApiTokens *t) {
    if (t == NULL || t->lp == NULL) return json_null();
    return h->kind == API_KIND_CHAT ? api_chat_logprobs(tok, t) : api_completion_logprobs(tok, t);
}

/* ---- whole responses ------------------------------------------------------ */

static json_t *api_object(const ApiHead *h, const char *object) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(h->id));
    json_object_set_new(o, "object", json_string(object));
    json_object_set_new(o, "created", json_integer(h->created));
    json_object_set_new(o, "model", json_string(h->model));
    return o;
}

static json_t *api_message(const char *text, size_t len) {
    json_t *m = json_object();
    json_object_set_new(m, "role", json_string("assistant"));
    json_object_set_new(m, "content", json_text(text, len));
    json_object_set_new(m, "refusal", json_null());
    return m;
}

static json_t *api_choice(const ApiHead *h, const ApiRequest *r, const Tokenizer *tok,
                          const SchedOutput *o) {
    json_t *c = json_object();
    ApiTokens t = {.lp = r->logprobs == API_LOGPROBS_ON ? o->logprobs : NULL, .to = o->n_ids};
    json_object_set_new(c, "index", json_integer(o->index));
    if (h->kind == API_KIND_CHAT) json_object_set_new(c, "message", api_message(o->text, o->text_len));
    else json_object_set_new(c, "text", json_text(o->text, o->text_len));
    json_object_set_new(c, "logprobs", api_logprobs(h, tok, &t));
    json_object_set_new(c, "finish_reason", json_string(sched_finish_name(o->finish)));
    return c;
}

json_t *api_response_json(const ApiHead *h, const ApiRequest *r, const Tokenizer *tok,
                          const SchedInfo *info, const SchedOutput *const *outs) {
    json_t *o = api_object(h, h->kind == API_KIND_CHAT ? "chat.completion" : "text_completion");
    json_t *choices = json_array();
    long long completion = 0;
    for (int j = 0; j < info->n; j++) {
        json_array_append_new(choices, api_choice(h, r, tok, outs[j]));
        completion += outs[j]->n_ids;
    }
    json_object_set_new(o, "choices", choices);
    json_object_set_new(o, "usage", api_usage_json(info->n_prompt, completion));
    if (h->kind == API_KIND_CHAT) json_object_set_new(o, "system_fingerprint", json_null());
    return o;
}

/* ---- streamed chunks ------------------------------------------------------ */

static json_t *api_chunk(const ApiHead *h, json_t *choice) {
    json_t *o = api_object(h, h->kind == API_KIND_CHAT ? "chat.completion.chunk" : "text_completion");
    json_t *choices = json_array();
    if (choice != NULL) json_array_append_new(choices, choice);
    json_object_set_new(o, "choices", choices);
    return o;
}

json_t *api_chunk_json(const ApiHead *h, const Tokenizer *tok, int index,
                       const char *text, size_t len, ApiTokens *t, const char *finish) {
    json_t *c = json_object();
    json_object_set_new(c, "index", json_integer(index));
    if (h->kind == API_KIND_CHAT) {
        json_t *delta = json_object();
        if (len > 0 || finish == NULL) json_object_set_new(delta, "content", json_text(text, len));
        json_object_set_new(c, "delta", delta);
    } else {
        json_object_set_new(c, "text", json_text(text, len));
    }
    json_object_set_new(c, "logprobs", api_logprobs(h, tok, t));
    json_object_set_new(c, "finish_reason", finish ? json_string(finish) : json_null());
    return api_chunk(h, c);
}

json_t *api_chunk_role_json(const ApiHead *h, int index) {
    json_t *c = json_object(), *delta = json_object();
    json_object_set_new(delta, "role", json_string("assistant"));
    json_object_set_new(delta, "content", json_string(""));
    json_object_set_new(c, "index", json_integer(index));
    json_object_set_new(c, "delta", delta);
    json_object_set_new(c, "logprobs", json_null());
    json_object_set_new(c, "finish_reason", json_null());
    return api_chunk(h, c);
}

json_t *api_chunk_usage_json(const ApiHead *h, int prompt_tokens, long long completion_tokens) {
    json_t *o = api_chunk(h, NULL);
    json_object_set_new(o, "usage", api_usage_json(prompt_tokens, completion_tokens));
    return o;
}

char *api_sse_event(const json_t *obj, size_t *len) {
    char *body = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (body == NULL) LLM_BUG("json_dumps failed on a response object");
    size_t n = strlen(body);
    char *ev = llm_xmalloc(n + 9);
    memcpy(ev, "data: ", 6);
    memcpy(ev + 6, body, n);
    memcpy(ev + 6 + n, "\n\n", 3);
    free(body);
    *len = n + 8;
    return ev;
}
