/* cmd_serve.c - `serve`: the OpenAI-compatible HTTP server over the open
 * session (the server itself is runtime/http/server.h).
 *
 * Sets up what the server runs on: a scheduler over the session's engine
 * and KV pool (--max-seqs, --max-batch-tokens), the parsing context (the
 * served model name: --model-name or the executable's file name; the
 * model's generation config as the sampling defaults; the chat template,
 * from the model or --chat-template; a model without one still serves
 * completions and answers chat requests with a 400 that says so), and the
 * server's limits. The server binds only after the session is open, so
 * /health answers 200 as soon as anything answers at all.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "http/server.h"

typedef struct ServeSetup {
    ChatTemplate tmpl;    /* when has_tmpl */
    int has_tmpl;
    LlmError no_chat;     /* why there is no template */
    Sched *sched;
    HttpConfig cfg;
    HttpBackend be;
} ServeSetup;

static const char *serve_model_name(const CliArgs *a) {
    if (a->model_name != NULL) return a->model_name;
    const char *slash = strrchr(a->argv0, '/');
    return slash != NULL ? slash + 1 : a->argv0;
}

/* The chat template: its absence is not an error until a chat request. */
static int serve_chat(CliSession *s, const CliArgs *a, ServeSetup *st, FILE *log, LlmError *err) {
    int32_t eot = -1;
    if (cmd_chat_template(s, a->chat_template, &st->tmpl, &eot, &st->no_chat) == LLM_OK) {
        st->has_tmpl = 1;
        st->be.api.chat = &st->tmpl;
        st->be.api.end_of_turn = eot;
        return LLM_OK;
    }
    if (a->chat_template != NULL) return llm_errorf(err, "%s", st->no_chat.msg);
    st->be.api.no_chat = st->no_chat.msg;
    fprintf(log, "serve: /v1/chat/completions is off: %s\n", st->no_chat.msg);
    return LLM_OK;
}

static int serve_setup(CliSession *s, const CliArgs *a, ServeSetup *st, FILE *log, LlmError *err) {
    memset(st, 0, sizeof *st);
    ApiContext *c = &st->be.api;
    c->tok = s->tok;
    c->max_context = s->prog->max_context;
    c->model = serve_model_name(a);
    c->add_bos = tok_add_bos_default(s->tok);
    c->end_of_turn = -1;
    if (cmd_sampler_params(s, a, &c->defaults, err) != LLM_OK) return LLM_ERR;
    if (serve_chat(s, a, st, log, err) != LLM_OK) return LLM_ERR;
    SchedBackend sb = {.prog = s->prog, .engine = s->engine, .kv = &s->kv, .tok = s->tok};
    SchedConfig sc = {.max_batch_tokens = a->max_batch_tokens, .max_seqs = a->max_seqs};
    if (sched_create(&sb, &sc, &st->sched, err) != LLM_OK) return LLM_ERR;
    st->be.sched = st->sched;
    st->be.tok = s->tok;
    st->be.kv = &s->kv;
    const char *key = a->api_key != NULL ? a->api_key : getenv("LLMCC_API_KEY");
    st->cfg = (HttpConfig){.host = a->host, .port = a->port,
                           .api_key = key != NULL && key[0] != '\0' ? key : NULL,
                           .max_concurrency = a->max_concurrency > 0 ? a->max_concurrency : s->kv.max_seqs,
                           .max_queue = a->max_queue, .max_body = HTTP_DEFAULT_MAX_BODY,
                           .max_buffered = a->max_stream_buffer > 0 ? (size_t)a->max_stream_buffer
                                                                    : HTTP_DEFAULT_MAX_BUFFERED,
                           .shutdown_grace_s = (double)a->shutdown_timeout};
    return LLM_OK;
}

int cmd_serve(CliSession *s, const CliArgs *a, FILE *log, LlmError *err) {
    ServeSetup st;
    int rc = serve_setup(s, a, &st, log, err);
    if (rc == LLM_OK) rc = http_serve(&st.cfg, &st.be, log, err);
    if (st.sched != NULL) sched_destroy(st.sched);
    if (st.has_tmpl) chat_template_free(&st.tmpl);
    return rc;
}
