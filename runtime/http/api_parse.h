/* api_parse.h - an OpenAI API request body -> a scheduler request.
 *
 * POST /v1/completions and /v1/chat/completions bodies, as the OpenAI API
 * defines them, plus the vLLM extensions top_k, min_p,
 * repetition_penalty, ignore_eos and stop_token_ids. Field policy (so a
 * typo is caught and every field the openai package can send is taken):
 *  - supported fields are parsed; a wrong type or a bad value is a 400
 *    whose "param" names the field;
 *  - fields that do not change what is generated (user, metadata, store,
 *    service_tier, parallel_tool_calls, ...) are accepted and ignored;
 *  - OpenAI fields of features this server lacks (echo, best_of, suffix,
 *    logit_bias, tools, response_format, ...) are accepted at their
 *    neutral value (null, false, 1, "", {}, [], {"type": "text"}, ...) and
 *    are a 400 "not supported" otherwise;
 *  - any other field is a 400 that lists the supported ones.
 * "model" may be absent; a name other than the served one is a 404
 * model_not_found (OpenAI does the same). Completions default to
 * max_tokens 16 (OpenAI's default), chat to what the context leaves; both
 * are cut to what the context leaves when not given. Chat messages are
 * rendered with the model's chat template and encoded without an extra
 * BOS (chat_template.h); the template's end-of-turn token is a stop id.
 * A request without seed gets ApiContext.seed.
 *
 * Ranges the scheduler checks (top_p, n, stop strings, the context) are
 * left to sched_submit; api_error_from_submit maps its message to the
 * same error object (param: the field its message names).
 */
#ifndef LLMCC_HTTP_API_PARSE_H
#define LLMCC_HTTP_API_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"
#include "sample/stop.h"
#include "sched/sched.h"
#include "tok/chat_template.h"
#include "tok/tok.h"

typedef enum ApiKind {
    API_KIND_COMPLETION = 0, /* POST /v1/completions */
    API_KIND_CHAT            /* POST /v1/chat/completions */
} ApiKind;

/* An OpenAI error object, {"error": {"message", "type", "param", "code"}}. */
typedef struct ApiError {
    int status;       /* HTTP status */
    const char *type; /* "invalid_request_error", "authentication_error", ... (static) */
    const char *code; /* static; NULL = null */
    char param[64];   /* the field at fault; "" = null */
    LlmError e;       /* the message */
} ApiError;

/* What every request is parsed against; nothing here is owned. */
typedef struct ApiContext {
    const Tokenizer *tok;
    int max_context;         /* tokens of the model's context */
    const char *model;       /* the served model name */
    SamplerParams defaults;  /* the model's generation config (seed ignored) */
    int add_bos;             /* BOS for completion prompts given as text */
    const ChatTemplate *chat; /* NULL: the model has none */
    const char *no_chat;     /* why chat is NULL (a message), when it is */
    int32_t end_of_turn;     /* chat: the template's end-of-turn id, -1 = none */
    uint64_t seed;           /* the seed of a request that gives none */
} ApiContext;

/* How a completion's logprobs are reported. */
typedef enum ApiLogprobs {
    API_LOGPROBS_OFF = 0,
    API_LOGPROBS_ON /* ApiRequest.top_logprobs alternatives per token */
} ApiLogprobs;

/* One parsed request; req points into this record, which must not move
 * while the scheduler may read it (sched_submit copies everything). */
typedef struct ApiRequest {
    ApiKind kind;
    json_t *doc;                  /* the body; owns the stop strings */
    int32_t *prompt;              /* [req.n_prompt] malloc'd */
    const char *stop[STOP_MAX_STRINGS];
    int32_t stop_ids[SCHED_MAX_STOP_IDS];
    SchedRequest req;             /* what is submitted */
    int stream;                   /* 1: Server-Sent Events */
    int include_usage;            /* stream_options.include_usage */
    ApiLogprobs logprobs;
    int top_logprobs;             /* alternatives per token, 0..LLM_LOGPROBS_MAX */
    const char *max_tokens_field; /* the field that set req.max_tokens (for messages) */
} ApiRequest;

/* Parses body [len] of a kind request into *r (filled enough for
 * api_request_free either way). Errors fill *e. */
int api_parse_request(const ApiContext *c, ApiKind kind, const char *body, size_t len,
                      ApiRequest *r, ApiError *e);
void api_request_free(ApiRequest *r);

/* A sched_submit error as an API error: 400, param the field it names
 * ("prompt" is "messages" for chat), code context_length_exceeded when
 * the prompt or max_tokens do not fit the context. */
void api_error_from_submit(const ApiRequest *r, const LlmError *err, ApiError *e);

/* Fills *e; returns LLM_ERR. */
int api_error_set(ApiError *e, int status, const char *type, const char *code, const char *param,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
