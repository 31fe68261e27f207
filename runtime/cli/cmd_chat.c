/* cmd_chat.c - `chat`: an interactive conversation over stdin/stdout.
 *
 * Each non-empty input line is a user message. The whole conversation
 * (optional --system message, every user and assistant turn) is rendered
 * with the model's chat template (runtime/tok/chat_template.h) plus the
 * assistant header, encoded without an extra BOS (the template writes BOS
 * as text where the model wants it), and the reply is generated with the
 * engine `generate` uses (gen.c) and streamed, one reply per output line
 * group, ending with a newline. A reply ends at EOS, at the template's
 * end-of-turn token (<|im_end|>, <|eot_id|>, <|end|>), at a --stop-id
 * token, at -n tokens, at a --stop string, or at the end of the context;
 * the stop token and the stop string are not printed. EOF ends the
 * session; "> " is printed before each line only when in is a terminal.
 *
 * KV reuse: the cache keeps the tokens of the previous prompt and of the
 * reply tokens that were fed. A new prompt keeps the longest common prefix
 * with them (usually everything up to the end of the last reply) and only
 * the rest is prefilled; positions past the prefix are simply overwritten.
 * The reply stored in the conversation is the text that was streamed (the
 * decoded reply tokens, cut before a stop string), as a chat client would
 * store it. Penalties count the whole rendered conversation as the prompt.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/gen.h"
#include "tok/chat_template.h"

typedef struct ChatState {
    GenState g;           /* the decode engine; g.n_past == n_cached */
    ChatTemplate tmpl;    /* the model's template family and details */
    ChatMessage *msgs;    /* [cap_msgs] the conversation, contents owned */
    int n_msgs, cap_msgs; /* used / allocated entries of msgs */
    int32_t *cached;      /* [cap_cached] ids whose K/V are in the cache, in order */
    int n_cached, cap_cached;
    int turns;            /* replies generated */
    long n_prefilled;     /* prompt tokens run through forward, all turns */
    long n_reused;        /* prompt tokens found in the cache, all turns */
    long n_generated;     /* reply tokens, all turns */
    double t_prefill;     /* seconds in prefill, all turns */
    double t_decode;      /* seconds in decode, all turns */
} ChatState;

static void chat_add_message(ChatState *c, ChatRole role, const char *text) {
    if (c->n_msgs == c->cap_msgs) {
        c->cap_msgs = c->cap_msgs ? 2 * c->cap_msgs : 8;
        c->msgs = llm_xrealloc(c->msgs, sizeof(ChatMessage) * (size_t)c->cap_msgs);
    }
    c->msgs[c->n_msgs].role = role;
    c->msgs[c->n_msgs].content = llm_xstrdup(text);
    c->n_msgs++;
}

static void chat_state_free(ChatState *c) {
    for (int i = 0; i < c->n_msgs; i++) free((char *)c->msgs[i].content);
    free(c->msgs);
    free(c->cached);
    chat_template_free(&c->tmpl);
    gen_state_free(&c->g);
}

/* The text of token id (special tokens give their text), or "" if none. */
static void token_text(const Tokenizer *tok, int32_t id, char *buf, size_t cap) {
    int n = id >= 0 ? tok_token_bytes(tok, id, buf, cap - 1) : -1;
    buf[n > 0 ? n : 0] = '\0';
}

/* The id of a text that encodes to exactly one token, else -1. */
static int32_t single_token_id(const Tokenizer *tok, const char *text) {
    int32_t *ids = NULL;
    int n = 0;
    LlmError ignored;
    if (*text == '\0' || tok_encode(tok, text, strlen(text), 0, &ids, &n, &ignored) != LLM_OK)
        return -1;
    int32_t id = n == 1 ? ids[0] : -1;
    free(ids);
    return id;
}

int cmd_chat_template(const CliSession *s, const char *name, ChatTemplate *t, int32_t *end_of_turn,
                      LlmError *err) {
    json_error_t je;
    json_t *desc = json_loadb(s->payload.tokenizer, s->payload.tokenizer_size, 0, &je);
    if (desc == NULL) return llm_errorf(err, "embedded tokenizer: line %d: %s", je.line, je.text);
    int rc = chat_template_init(t, chat_template_source(desc), name, err);
    json_decref(desc);
    if (rc != LLM_OK) return LLM_ERR;
    char bos[256], eos[256];
    token_text(s->tok, tok_bos_id(s->tok), bos, sizeof bos);
    token_text(s->tok, tok_eos_id(s->tok), eos, sizeof eos);
    chat_template_set_tokens(t, bos, eos);
    *end_of_turn = single_token_id(s->tok, chat_template_end_of_turn(t));
    return LLM_OK;
}

static int chat_open_template(ChatState *c, const CliArgs *a, LlmError *err) {
    if (cmd_chat_template(c->g.s, a->chat_template, &c->tmpl, &c->g.eot_id, err) != LLM_OK)
        return llm_error_prefix(err, "chat");
    return LLM_OK;
}

/* The conversation rendered and encoded, ending with the assistant header. */
static int chat_prompt_ids(const ChatState *c, int32_t **ids, int *n, LlmError *err) {
    char *text = NULL;
    if (chat_template_render(&c->tmpl, c->msgs, c->n_msgs, 1, &text, err) != LLM_OK)
        return llm_error_prefix(err, "chat");
    const CliSession *s = c->g.s;
    int rc = tok_encode(s->tok, text, strlen(text), 0, ids, n, err);
    free(text);
    if (rc != LLM_OK) return llm_error_prefix(err, "chat");
    if (*n > s->prog->max_context)
        return llm_errorf(err, "chat: the conversation has %d tokens, the model's context is %d",
                          *n, s->prog->max_context);
    return LLM_OK;
}

static void chat_cache_append(ChatState *c, const int32_t *ids, int n) {
    if (c->n_cached + n > c->cap_cached) {
        c->cap_cached = 2 * (c->n_cached + n);
        c->cached = llm_xrealloc(c->cached, sizeof(int32_t) * (size_t)c->cap_cached);
    }
    memcpy(c->cached + c->n_cached, ids, sizeof(int32_t) * (size_t)n);
    c->n_cached += n;
}

/* Keeps the cached prefix that ids [n] share (at least one token is left to
 * prefill, for its logits) and prefills the rest. */
static int chat_prefill(ChatState *c, const int32_t *ids, int n, int32_t *first, LlmError *err) {
    int keep = 0;
    while (keep < c->n_cached && keep < n - 1 && c->cached[keep] == ids[keep]) keep++;
    c->n_cached = keep;
    c->g.n_past = keep;
    double t0 = gen_now_seconds();
    if (gen_prefill(&c->g, ids + keep, n - keep, first, err) != LLM_OK)
        return llm_error_prefix(err, "chat");
    c->t_prefill += gen_now_seconds() - t0;
    chat_cache_append(c, ids + keep, n - keep);
    c->n_prefilled += n - keep;
    c->n_reused += keep;
    return LLM_OK;
}

/* One user line -> one streamed reply, recorded in the conversation. */
static int chat_turn(ChatState *c, const char *line, FILE *out, FILE *log, LlmError *err) {
    chat_add_message(c, CHAT_ROLE_USER, line);
    int32_t *ids = NULL;
    int n = 0;
    int32_t first = 0;
    int rc = chat_prompt_ids(c, &ids, &n, err);
    if (rc == LLM_OK) gen_begin(&c->g, ids, n);
    if (rc == LLM_OK) rc = chat_prefill(c, ids, n, &first, err);
    free(ids);
    if (rc != LLM_OK) return LLM_ERR;
    GenState *g = &c->g;
    double t0 = gen_now_seconds();
    gen_reset_decoder(g, NULL, 0);
    gen_decode(g, first, out);
    gen_flush(g, out);
    fputc('\n', out);
    fflush(out);
    c->t_decode += gen_now_seconds() - t0;
    chat_cache_append(c, g->out_ids, g->n_past - c->n_cached);
    c->n_generated += g->n_out;
    c->turns++;
    if (g->stop != GEN_STOP_EOS && g->stop != GEN_STOP_EOT)
        fprintf(log, "[reply %d stopped: %s]\n", c->turns, gen_stop_name(g->stop));
    chat_add_message(c, CHAT_ROLE_ASSISTANT, g->text);
    return LLM_OK;
}

/* Reads one line without its "\n" / "\r\n"; -1 at EOF. */
static long chat_read_line(FILE *in, char **line, size_t *cap) {
    ssize_t len = getline(line, cap, in);
    if (len < 0) return -1;
    while (len > 0 && ((*line)[len - 1] == '\n' || (*line)[len - 1] == '\r')) (*line)[--len] = '\0';
    return (long)len;
}

static void chat_summary(const ChatState *c, FILE *log) {
    fprintf(log, "chat: %d turns, prompt tokens: %ld prefilled, %ld reused from the KV cache, "
            "generated tokens: %ld, prefill: %.1f tokens/s, decode: %.1f tokens/s, "
            "template: %s, seed: %llu\n", c->turns, c->n_prefilled, c->n_reused,
            c->n_generated, c->t_prefill > 0 ? (double)c->n_prefilled / c->t_prefill : 0.0,
            c->t_decode > 0 ? (double)c->n_generated / c->t_decode : 0.0,
            chat_family_name(c->tmpl.family), (unsigned long long)c->g.sampler.params.seed);
}

int cmd_chat(CliSession *s, const CliArgs *a, FILE *in, FILE *out, FILE *log, LlmError *err) {
    ChatState c;
    memset(&c, 0, sizeof c);
    gen_state_init(&c.g, s, a);
    int rc = chat_open_template(&c, a, err);
    if (rc == LLM_OK) rc = gen_open(&c.g, log, err);
    if (rc == LLM_OK && a->system != NULL) chat_add_message(&c, CHAT_ROLE_SYSTEM, a->system);
    int tty = isatty(fileno(in));
    char *line = NULL;
    size_t cap = 0;
    while (rc == LLM_OK) {
        if (tty) {
            fputs("> ", out);
            fflush(out);
        }
        long len = chat_read_line(in, &line, &cap);
        if (len < 0) {
            if (tty) fputc('\n', out);
            break;
        }
        if (len > 0) rc = chat_turn(&c, line, out, log, err);
    }
    free(line);
    if (rc == LLM_OK) chat_summary(&c, log);
    chat_state_free(&c);
    return rc;
}
