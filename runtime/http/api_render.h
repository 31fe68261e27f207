/* api_render.h - OpenAI API response objects and Server-Sent Events.
 *
 * Non-streaming: a "text_completion" or "chat.completion" object with one
 * choice per sample, each with its text (or message), finish_reason
 * ("stop" or "length") and, when asked, logprobs; usage counts the prompt
 * once and every sample's tokens. Streaming: "text_completion" /
 * "chat.completion.chunk" objects, one per event, as `data: {json}\n\n`;
 * a chat stream opens every choice with a delta that carries only the
 * role; the last chunk of a choice carries its finish_reason; with
 * stream_options.include_usage one more chunk with empty choices carries
 * usage; the stream ends with `data: [DONE]\n\n` (api_sse_done).
 *
 * Logprobs: completions get OpenAI's legacy object {tokens,
 * token_logprobs, top_logprobs (one {token: logprob} object per token),
 * text_offset (characters from the start of the completion)}; chat gets
 * {content: [{token, logprob, bytes, top_logprobs: [...]}], refusal: null}
 * (each entry also carries the token "id"). Token texts are the tokens'
 * own bytes, bytes that are not UTF-8 on their own shown as U+FFFD;
 * -inf is -9999 (logprobs_json.h).
 */
#ifndef LLMCC_HTTP_API_RENDER_H
#define LLMCC_HTTP_API_RENDER_H

#include <stddef.h>

#include <jansson.h>

#include "http/api_parse.h"
#include "sched/sched.h"
#include "tok/tok.h"

/* What every object of one response shares. */
typedef struct ApiHead {
    ApiKind kind;
    const char *id;    /* "cmpl-..." or "chatcmpl-..." */
    long long created; /* Unix seconds */
    const char *model; /* the served name */
} ApiHead;

/* Tokens [from, to) of a sample, for the logprobs of one object. */
typedef struct ApiTokens {
    const LlmTokenLogprobs *lp; /* SchedOutput.logprobs */
    int from, to;
    size_t text_offset;         /* completions: characters before token `from` */
} ApiTokens;

/* {"error": {"message", "type", "param", "code"}}. */
json_t *api_error_json(const ApiError *e);

/* GET /v1/models: {"object": "list", "data": [{"id", "object": "model",
 * "created", "owned_by": "llmcc"}]}. */
json_t *api_models_json(const char *model, long long created);

/* {"prompt_tokens", "completion_tokens", "total_tokens"}. */
json_t *api_usage_json(int prompt_tokens, long long completion_tokens);

/* The whole response of a finished request. */
json_t *api_response_json(const ApiHead *h, const ApiRequest *r, const Tokenizer *tok,
                          const SchedInfo *info, const SchedOutput *const *outs);

/* One streamed chunk of choice index: text [len] (may be empty), the
 * logprobs of t (NULL: none; its text_offset moves past its tokens),
 * finish (NULL until the choice ends). */
json_t *api_chunk_json(const ApiHead *h, const Tokenizer *tok, int index,
                       const char *text, size_t len, ApiTokens *t, const char *finish);
/* A chat stream's first chunk of choice index: {"role": "assistant", "content": ""}. */
json_t *api_chunk_role_json(const ApiHead *h, int index);
/* The usage chunk: empty choices, usage set. */
json_t *api_chunk_usage_json(const ApiHead *h, int prompt_tokens, long long completion_tokens);

/* "data: <obj compact>\n\n", malloc'd, length in *len. */
char *api_sse_event(const json_t *obj, size_t *len);
#define API_SSE_DONE "data: [DONE]\n\n"

/* Characters (UTF-8 code points) of a JSON string built by json_text. */
size_t api_text_chars(const json_t *s);

#endif
