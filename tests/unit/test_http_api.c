/* test_http_api.c - the OpenAI request parser (http/api_parse.h, with the
 * shared fields of http/req_fields.h), the response renderer
 * (http/api_render.h) and the API key check, without a server: bodies in,
 * SchedRequest fields or error objects (status, param, code, message) out;
 * response objects from hand-made scheduler outputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "http/api_parse.h"
#include "http/api_render.h"
#include "http/req_fields.h"
#include "http/server.h"
#include "load/model_load.h"

static Tokenizer *tok;
static ChatTemplate chatml;
static ApiContext ctx;

static int setup(void **state) {
    (void)state;
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(LLMCC_FIXTURES "/models/tinystories-656k", &m, &err) != LLM_OK) return -1;
    char *json = json_dumps(m.tokenizer, JSON_COMPACT);
    loaded_model_free(&m);
    int rc = tok_load_json(json, strlen(json), &tok, &err);
    free(json);
    if (rc != LLM_OK || chat_template_init(&chatml, NULL, "chatml", &err) != LLM_OK) return -1;
    ctx = (ApiContext){.tok = tok, .max_context = 512, .model = "story",
                       .defaults = sampler_params_default(), .add_bos = 1, .chat = &chatml,
                       .end_of_turn = 7, .seed = 42};
    return 0;
}

static int teardown(void **state) {
    (void)state;
    chat_template_free(&chatml);
    tok_free(tok);
    return 0;
}

static int parse(ApiKind kind, const char *body, ApiRequest *r, ApiError *e) {
    return api_parse_request(&ctx, kind, body, strlen(body), r, e);
}

/* ---- good requests ---------------------------------------------------------- */

static void test_completion_fields(void **state) {
    (void)state;
    ApiRequest r;
    ApiError e;
    assert_int_equal(parse(API_KIND_COMPLETION,
                           "{\"model\": \"story\", \"prompt\": \"Once upon a time\", \"max_tokens\": 7,"
                           " \"temperature\": 0.5, \"top_p\": 0.9, \"top_k\": -1, \"min_p\": 0.1,"
                           " \"repetition_penalty\": 1.2, \"presence_penalty\": 0.3,"
                           " \"frequency_penalty\": -0.4, \"n\": 3, \"seed\": 9, \"stop\": [\"a\", \"b\"],"
                           " \"stop_token_ids\": [2, 5], \"logprobs\": 4, \"ignore_eos\": true,"
                           " \"stream\": true, \"stream_options\": {\"include_usage\": true},"
                           " \"user\": \"u\", \"echo\": false, \"best_of\": 1, \"logit_bias\": null}",
                           &r, &e),
                     LLM_OK);
    assert_int_equal(r.req.n_prompt, 6);
    assert_ptr_equal(r.req.prompt, r.prompt);
    assert_int_equal(r.req.max_tokens, 7);
    assert_true(r.req.sampling.temperature == 0.5f && r.req.sampling.top_p == 0.9f);
    assert_int_equal(r.req.sampling.top_k, 0);
    assert_true(r.req.sampling.min_p == 0.1f && r.req.sampling.repetition_penalty == 1.2f);
    assert_true(r.req.sampling.presence_penalty == 0.3f && r.req.sampling.frequency_penalty == -0.4f);
    assert_int_equal(r.req.n, 3);
    assert_int_equal(r.req.sampling.seed, 9);
    assert_int_equal(r.req.n_stop, 2);
    assert_string_equal(r.req.stop[1], "b");
    assert_int_equal(r.req.n_stop_ids, 2);
    assert_int_equal(r.req.stop_ids[1], 5);
    assert_int_equal(r.req.sampling.logprobs, 4);
    assert_int_equal(r.logprobs, API_LOGPROBS_ON);
    assert_true(r.req.ignore_eos && r.stream && r.include_usage);
    api_request_free(&r);
}

static void test_completion_defaults(void **state) {
    (void)state;
    ApiRequest r;
    ApiError e;
    assert_int_equal(parse(API_KIND_COMPLETION, "{\"prompt\": \"Once upon a time\"}", &r, &e), LLM_OK);
    assert_int_equal(r.req.max_tokens, 16); /* OpenAI's default */
    assert_int_equal(r.req.n, 1);
    assert_int_equal(r.req.sampling.seed, 42);
    assert_int_equal(r.req.sampling.logprobs, -1);
    assert_true(r.req.sampling.temperature == 0.0f && !r.stream && r.req.n_stop == 0);
    api_request_free(&r);
    /* token ids, and a list of one string */
    assert_int_equal(parse(API_KIND_COMPLETION, "{\"prompt\": [1, 300, 2]}", &r, &e), LLM_OK);
    assert_int_equal(r.req.n_prompt, 3);
    assert_int_equal(r.req.prompt[1], 300);
    api_request_free(&r);
    assert_int_equal(parse(API_KIND_COMPLETION, "{\"prompt\": [\"Once upon a time\"]}", &r, &e), LLM_OK);
    assert_int_equal(r.req.n_prompt, 6);
    api_request_free(&r);
    assert_int_equal(parse(API_KIND_COMPLETION, "{\"prompt\": [[1, 2]]}", &r, &e), LLM_OK);
    assert_int_equal(r.req.n_prompt, 2);
    api_request_free(&r);
}

static void test_chat_fields(void **state) {
    (void)state;
    ApiRequest r;
    ApiError e;
    assert_int_equal(parse(API_KIND_CHAT,
                           "{\"messages\": [{\"role\": \"developer\", \"content\": \"Be brief.\"},"
                           " {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi\"}],"
                           " \"name\": \"me\"}, {\"role\": \"assistant\", \"content\": \"Hello\"},"
                           " {\"role\": \"user\", \"content\": \"More\"}], \"max_tokens\": 9,"
                           " \"max_completion_tokens\": 5, \"logprobs\": true, \"top_logprobs\": 3,"
                           " \"stop_token_ids\": [4], \"tools\": [], \"tool_choice\": \"none\","
                           " \"response_format\": {\"type\": \"text\"}, \"store\": true}",
                           &r, &e),
                     LLM_OK);
    assert_int_equal(r.req.max_tokens, 5); /* max_completion_tokens wins */
    assert_int_equal(r.req.sampling.logprobs, 3);
    assert_int_equal(r.req.n_stop_ids, 2); /* the user's, then the end of turn */
    assert_int_equal(r.req.stop_ids[0], 4);
    assert_int_equal(r.req.stop_ids[1], 7);
    ChatMessage msgs[] = {{CHAT_ROLE_SYSTEM, "Be brief."}, {CHAT_ROLE_USER, "Hi"},
                          {CHAT_ROLE_ASSISTANT, "Hello"}, {CHAT_ROLE_USER, "More"}};
    char *text = NULL;
    int32_t *ids = NULL;
    int n = 0;
    LlmError err;
    assert_int_equal(chat_template_render(&chatml, msgs, 4, 1, &text, &err), LLM_OK);
    assert_int_equal(tok_encode(tok, text, strlen(text), 0, &ids, &n, &err), LLM_OK);
    assert_int_equal(r.req.n_prompt, n);
    assert_memory_equal(r.req.prompt, ids, sizeof(int32_t) * (size_t)n);
    free(ids);
    free(text);
    api_request_free(&r);
    assert_int_equal(parse(API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
                           &r, &e), LLM_OK);
    assert_int_equal(r.req.max_tokens, 0); /* chat: what the context leaves */
    assert_int_equal(r.req.sampling.logprobs, -1);
    api_request_free(&r);
}

/* ---- bad requests -------------------------------------------------------------- */

typedef struct BadCase {
    ApiKind kind;
    const char *body;
    int status;
    const char *param; /* "" = null */
    const char *code;  /* NULL = null */
    const char *message; /* a substring */
} BadCase;

static const BadCase BAD[] = {
    {API_KIND_COMPLETION, "{\"prompt\": ", 400, "", NULL, "not valid JSON"},
    {API_KIND_COMPLETION, "[1]", 400, "", NULL, "must be a JSON object, got an array"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"prompt\": \"y\"}", 400, "", NULL, "duplicate"},
    {API_KIND_COMPLETION, "{}", 400, "prompt", NULL, "field \"prompt\" is missing"},
    {API_KIND_COMPLETION, "{\"prompt\": 5}", 400, "prompt", NULL, "expected a string"},
    {API_KIND_COMPLETION, "{\"prompt\": [\"a\", \"b\"]}", 400, "prompt", NULL, "2 prompts"},
    {API_KIND_COMPLETION, "{\"prompt\": []}", 400, "prompt", NULL, "got an array"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"temperature\": \"hot\"}", 400, "temperature", NULL,
     "field \"temperature\": expected a number, got a string"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"top_k\": 1.5}", 400, "top_k", NULL, "expected an integer"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"max_tokens\": 0}", 400, "max_tokens", NULL,
     "0 is out of range"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"n\": \"2\"}", 400, "n", NULL, "expected an integer"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"seed\": -1}", 400, "seed", NULL, "out of range"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"logprobs\": 21}", 400, "logprobs", NULL, "out of range"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"logprobs\": true}", 400, "logprobs", NULL,
     "expected an integer"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"stop\": [\"a\", 1]}", 400, "stop", NULL, "element 1"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"stop_token_ids\": \"2\"}", 400, "stop_token_ids", NULL,
     "an array of integers"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"stream\": 1}", 400, "stream", NULL, "a boolean"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"stream_options\": {\"x\": 1}}", 400, "stream_options",
     NULL, "not an option"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"temprature\": 1}", 400, "temprature", NULL,
     "not a field of /v1/completions"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"messages\": []}", 400, "messages", NULL, "not a field"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"echo\": true}", 400, "echo", NULL, "not supported"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"best_of\": 2}", 400, "best_of", NULL, "not supported"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"logit_bias\": {\"5\": 1}}", 400, "logit_bias", NULL,
     "not supported"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"model\": \"gpt-4\"}", 404, "model", "model_not_found",
     "'gpt-4' does not exist"},
    {API_KIND_COMPLETION, "{\"prompt\": \"x\", \"model\": 3}", 400, "model", NULL, "expected a string"},
    {API_KIND_CHAT, "{}", 400, "messages", NULL, "field \"messages\" is missing"},
    {API_KIND_CHAT, "{\"messages\": []}", 400, "messages", NULL, "empty"},
    {API_KIND_CHAT, "{\"messages\": [\"hi\"]}", 400, "messages", NULL, "message 0 is a string"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", 400, "messages", NULL,
     "role 'tool'"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "messages", NULL,
     "content is an integer"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", 400,
     "messages", NULL, "only text"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"tool_calls\": []}]}", 400,
     "messages", NULL, "\"tool_calls\" is not supported"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"top_logprobs\": 2}", 400,
     "top_logprobs", NULL, "needs \"logprobs\": true"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"logprobs\": 1}", 400,
     "logprobs", NULL, "a boolean"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{}]}", 400,
     "tools", NULL, "not supported"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"prompt\": \"x\"}", 400,
     "prompt", NULL, "not a field of /v1/chat/completions"},
    {API_KIND_CHAT, "{\"messages\": [{\"role\": \"system\", \"content\": \"x\"}, {\"role\": \"system\", "
     "\"content\": \"y\"}], \"max_completion_tokens\": \"3\"}", 400, "max_completion_tokens", NULL,
     "expected an integer"},
};

static void test_bad_requests(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const BadCase *c = &BAD[i];
        ApiRequest r;
        ApiError e;
        int rc = parse(c->kind, c->body, &r, &e);
        api_request_free(&r);
        if (rc != LLM_ERR || e.status != c->status || strcmp(e.param, c->param) != 0 ||
            (c->code == NULL) != (e.code == NULL) || (c->code && strcmp(c->code, e.code) != 0) ||
            strstr(e.e.msg, c->message) == NULL)
            fail_msg("case %zu %s: rc %d status %d param '%s' code %s message '%s'", i, c->body, rc,
                     e.status, e.param, e.code ? e.code : "null", e.e.msg);
    }
}

static void test_no_chat_template(void **state) {
    (void)state;
    ApiContext saved = ctx;
    ctx.chat = NULL;
    ctx.no_chat = "the model has no chat template: pick one with --chat-template NAME";
    ApiRequest r;
    ApiError e;
    assert_int_equal(parse(API_KIND_CHAT, "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
                           &r, &e), LLM_ERR);
    api_request_free(&r);
    ctx = saved;
    assert_int_equal(e.status, 400);
    assert_string_equal(e.param, "messages");
    assert_non_null(strstr(e.e.msg, "no chat template"));
}

static void test_submit_errors(void **state) {
    (void)state;
    ApiRequest chat = {.kind = API_KIND_CHAT, .max_tokens_field = "max_completion_tokens"};
    ApiRequest cmpl = {.kind = API_KIND_COMPLETION, .max_tokens_field = "max_tokens"};
    LlmError err;
    ApiError e;
    snprintf(err.msg, sizeof err.msg, "prompt: 600 tokens leave no room to generate in the context of 512 tokens");
    api_error_from_submit(&chat, &err, &e);
    assert_string_equal(e.param, "messages");
    assert_string_equal(e.code, "context_length_exceeded");
    api_error_from_submit(&cmpl, &err, &e);
    assert_string_equal(e.param, "prompt");
    snprintf(err.msg, sizeof err.msg, "max_tokens 600: with the prompt's 3 tokens that is past the context");
    api_error_from_submit(&chat, &err, &e);
    assert_string_equal(e.param, "max_completion_tokens");
    assert_string_equal(e.code, "context_length_exceeded");
    snprintf(err.msg, sizeof err.msg, "top_p 0: must be in (0, 1]");
    api_error_from_submit(&cmpl, &err, &e);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.param, "top_p");
    assert_null(e.code);
    assert_string_equal(e.e.msg, "top_p 0: must be in (0, 1]");
    char field[16];
    req_error_field("field \"stop_token_ids\": 3 ids", field, sizeof field);
    assert_string_equal(field, "stop_token_ids");
    req_error_field("n 99: must be in [1, 16]", field, sizeof field);
    assert_string_equal(field, "n");
    req_error_field("The body", field, sizeof field);
    assert_string_equal(field, "");
}

/* ---- rendering ----------------------------------------------------------------- */

static void test_render_completion(void **state) {
    (void)state;
    ApiRequest r;
    ApiError e;
    assert_int_equal(parse(API_KIND_COMPLETION, "{\"prompt\": \"Once\", \"logprobs\": 1}", &r, &e), LLM_OK);
    int32_t ids[2] = {300, 400};
    char t0[64], t1[64];
    int n0 = tok_token_bytes(tok, ids[0], t0, sizeof t0), n1 = tok_token_bytes(tok, ids[1], t1, sizeof t1);
    char text[160];
    snprintf(text, sizeof text, "%.*s%.*s", n0, t0, n1, t1);
    LlmTokenLogprobs lp[2] = {{.id = 300, .logprob = -0.5f, .n_top = 1, .top_ids = {300}, .top_logprobs = {-0.5f}},
                              {.id = 400, .logprob = -1.5f, .n_top = 1, .top_ids = {9}, .top_logprobs = {-0.25f}}};
    SchedOutput o = {.index = 0, .ids = ids, .n_ids = 2, .text = text, .text_len = strlen(text),
                     .logprobs = lp, .finish = SCHED_FINISH_LENGTH};
    const SchedOutput *outs[1] = {&o};
    SchedInfo info = {.n_prompt = 2, .n = 1};
    ApiHead h = {.kind = API_KIND_COMPLETION, .id = "cmpl-1", .created = 5, .model = "story"};
    json_t *j = api_response_json(&h, &r, tok, &info, outs);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "text_completion");
    json_t *c = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "text")), text);
    assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), "length");
    json_t *l = json_object_get(c, "logprobs");
    assert_int_equal(json_array_size(json_object_get(l, "tokens")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(l, "text_offset"), 1)), n0);
    assert_true(json_real_value(json_array_get(json_object_get(l, "token_logprobs"), 1)) == -1.5);
    json_t *usage = json_object_get(j, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")), 4);
    size_t len = 0;
    char *ev = api_sse_event(j, &len);
    assert_int_equal(len, strlen(ev));
    assert_true(strncmp(ev, "data: {", 7) == 0 && strcmp(ev + len - 3, "}\n\n") == 0);
    free(ev);
    json_decref(j);
    api_request_free(&r);
}

static void test_render_chunks(void **state) {
    (void)state;
    ApiHead h = {.kind = API_KIND_CHAT, .id = "chatcmpl-1", .created = 5, .model = "story"};
    json_t *j = api_chunk_role_json(&h, 1);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion.chunk");
    json_t *c = json_array_get(json_object_get(j, "choices"), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "index")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "delta"), "role")), "assistant");
    json_decref(j);
    j = api_chunk_json(&h, tok, 0, "", 0, NULL, "stop");
    c = json_array_get(json_object_get(j, "choices"), 0);
    assert_int_equal(json_object_size(json_object_get(c, "delta")), 0); /* last: no content */
    assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), "stop");
    json_decref(j);
    j = api_chunk_usage_json(&h, 3, 4);
    assert_int_equal(json_array_size(json_object_get(j, "choices")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "total_tokens")), 7);
    json_decref(j);
    ApiError e;
    api_error_set(&e, 429, "rate_limit_error", "rate_limit_exceeded", NULL, "too many: %d", 3);
    j = api_error_json(&e);
    json_t *err = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(err, "message")), "too many: 3");
    assert_true(json_is_null(json_object_get(err, "param")));
    assert_string_equal(json_string_value(json_object_get(err, "code")), "rate_limit_exceeded");
    json_decref(j);
}

static void test_auth(void **state) {
    (void)state;
    assert_true(http_auth_ok("Bearer sekret", "sekret"));
    assert_true(http_auth_ok("bearer sekret", "sekret"));
    assert_false(http_auth_ok("Bearer sekre", "sekret"));
    assert_false(http_auth_ok("Bearer sekrett", "sekret"));
    assert_false(http_auth_ok("Bearer Sekret", "sekret"));
    assert_false(http_auth_ok("sekret", "sekret"));
    assert_false(http_auth_ok("Basic sekret", "sekret"));
    assert_false(http_auth_ok(NULL, "sekret"));
    assert_false(http_auth_ok("Bearer ", "sekret"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_completion_fields), cmocka_unit_test(test_completion_defaults),
        cmocka_unit_test(test_chat_fields),       cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_no_chat_template),  cmocka_unit_test(test_submit_errors),
        cmocka_unit_test(test_render_completion), cmocka_unit_test(test_render_chunks),
        cmocka_unit_test(test_auth),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
