/* chat_template.c - chat template families rendered in C (see
 * chat_template.h).
 *
 * Recognition looks for markers in the Jinja text, most specific first
 * (<<SYS>> before [INST]). The one detail read out of a template is the
 * ChatML default system message: the literal text between
 * "<|im_start|>system\n" and "<|im_end|>" inside one Jinja string (no quote
 * or expression in between), with Jinja string escapes undone. Jinja's trim
 * and Python's str.strip() remove Unicode whitespace (str.isspace), which
 * is what chat_strip() removes too.
 */
#include "tok/chat_template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const CHAT_FAMILY_NAMES[CHAT_FAMILY_COUNT] = {
    "chatml", "llama3", "llama2", "mistral", "phi3"};
static const char *const CHAT_ROLE_NAMES[] = {"system", "user", "assistant"};

const char *chat_family_name(ChatFamily f) {
    LLM_ASSERT(f >= 0 && f < CHAT_FAMILY_COUNT);
    return CHAT_FAMILY_NAMES[f];
}

/* ---- growable text ------------------------------------------------------ */
typedef struct ChatBuf {
    char *data; /* [cap] NUL-terminated */
    size_t len; /* bytes before the NUL */
    size_t cap; /* allocated bytes */
} ChatBuf;

static void buf_addn(ChatBuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = llm_xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_add(ChatBuf *b, const char *s) { buf_addn(b, s, strlen(s)); }

/* ---- Python str.isspace() over UTF-8 ------------------------------------ */
static int is_space_cp(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
           c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Decodes the well-formed UTF-8 character at s[0..n); its length, or 0. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t c = len == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> len));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    *cp = c;
    return len;
}

/* Appends s without leading and trailing whitespace (Python's strip()). */
static void buf_add_stripped(ChatBuf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
    uint32_t c = 0;
    size_t len = 0;
    while (p < end && (len = utf8_decode(p, (size_t)(end - p), &c)) > 0 && is_space_cp(c)) p += len;
    while (end > p) {
        const unsigned char *q = end - 1;
        while (q > p && (*q & 0xc0) == 0x80 && end - q < 4) q--;
        len = utf8_decode(q, (size_t)(end - q), &c);
        if (len != (size_t)(end - q) || !is_space_cp(c)) break;
        end = q;
    }
    buf_addn(b, (const char *)p, (size_t)(end - p));
}

/* ---- recognising a template -------------------------------------------- */
const char *chat_template_source(const json_t *desc) {
    const char *format = json_string_value(json_object_get(desc, "format"));
    const json_t *v = NULL;
    if (format != NULL && strcmp(format, "gguf") == 0)
        v = json_object_get(json_object_get(desc, "meta"), "tokenizer.chat_template");
    else
        v = json_object_get(json_object_get(desc, "config"), "chat_template");
    if (json_is_array(v)) { /* [{"name": "default", "template": "..."}, ...] */
        size_t i;
        const json_t *item, *found = NULL;
        json_array_foreach(v, i, item) {
            const char *name = json_string_value(json_object_get(item, "name"));
            if (name != NULL && strcmp(name, "default") == 0) found = item;
        }
        v = json_object_get(found, "template");
    }
    return json_string_value(v);
}

static int detect_family(const char *src, ChatFamily *f, LlmError *err) {
    if (strstr(src, "<|start_header_id|>") != NULL) {
        if (strstr(src, "Cutting Knowledge Date") != NULL)
            return llm_errorf(err, "chat template: a Llama 3.1+ template (date header, tools) is "
                              "not supported; --chat-template llama3 renders the Llama 3 form");
        *f = CHAT_FAMILY_LLAMA3;
    } else if (strstr(src, "<|im_start|>") != NULL) {
        *f = CHAT_FAMILY_CHATML;
    } else if (strstr(src, "<<SYS>>") != NULL) {
        *f = CHAT_FAMILY_LLAMA2;
    } else if (strstr(src, "[INST]") != NULL) {
        *f = CHAT_FAMILY_MISTRAL;
    } else if (strstr(src, "<|user|>") != NULL && strstr(src, "<|end|>") != NULL) {
        *f = CHAT_FAMILY_PHI3;
    } else {
        return llm_errorf(err, "chat template not recognised (no ChatML, Llama 3, Llama 2, "
                          "Mistral or Phi-3 markers): pick one with --chat-template "
                          "NAME, NAME one of " CHAT_TEMPLATE_CHOICES);
    }
    return LLM_OK;
}

/* Undoes Jinja string escapes in s[0..n) (\n \t \r \\ \' \"). */
static char *jinja_unescape(const char *s, size_t n) {
    char *out = llm_xmalloc(n + 1), *w = out;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            c = s[++i];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        *w++ = c;
    }
    *w = '\0';
    return out;
}

/* 1 when s[0..n) stays inside one Jinja string: no unescaped quote or brace. */
static int jinja_literal(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') i++;
        else if (strchr("'\"{}", s[i]) != NULL) return 0;
    }
    return 1;
}

/* The literal default system text of a ChatML template, or NULL. */
static char *chatml_default_system(const char *src) {
    static const char head[] = "<|im_start|>system";
    for (const char *p = strstr(src, head); p != NULL; p = strstr(p + 1, head)) {
        const char *q = p + sizeof head - 1;
        if (*q == '\n') q++;
        else if (q[0] == '\\' && q[1] == 'n') q += 2;
        else continue;
        const char *end = strstr(q, "<|im_end|>");
        if (end == NULL) return NULL;
        size_t n = (size_t)(end - q);
        if (n > 0 && jinja_literal(q, n)) return jinja_unescape(q, n);
    }
    return NULL;
}

int chat_family_parse(const char *name, ChatFamily *f, LlmError *err) {
    for (int i = 0; i < CHAT_FAMILY_COUNT; i++)
        if (strcmp(name, CHAT_FAMILY_NAMES[i]) == 0) {
            *f = (ChatFamily)i;
            return LLM_OK;
        }
    return llm_errorf(err, "--chat-template: unknown template '%s' (choices: "
                      CHAT_TEMPLATE_CHOICES ")", name);
}

/* Picks t->family from name or source; from_source: the family source
 * belongs to (CHAT_FAMILY_COUNT when none or unrecognised). */
static int choose_family(ChatTemplate *t, const char *source, const char *name,
                         ChatFamily *from_source, LlmError *err) {
    *from_source = CHAT_FAMILY_COUNT;
    if (name != NULL) {
        if (chat_family_parse(name, &t->family, err) != LLM_OK) return LLM_ERR;
        LlmError ignored;
        if (source != NULL && detect_family(source, from_source, &ignored) != LLM_OK)
            *from_source = CHAT_FAMILY_COUNT;
        return LLM_OK;
    }
    if (source == NULL)
        return llm_errorf(err, "the model has no chat template: pick one with --chat-template "
                          "NAME, NAME one of " CHAT_TEMPLATE_CHOICES);
    if (detect_family(source, &t->family, err) != LLM_OK) return LLM_ERR;
    *from_source = t->family;
    return LLM_OK;
}

int chat_template_init(ChatTemplate *t, const char *source, const char *name, LlmError *err) {
    memset(t, 0, sizeof *t);
    ChatFamily from_source;
    if (choose_family(t, source, name, &from_source, err) != LLM_OK) return LLM_ERR;
    t->bos = llm_xstrdup("");
    t->eos = llm_xstrdup("");
    if (from_source == t->family && t->family == CHAT_FAMILY_CHATML)
        t->default_system = chatml_default_system(source);
    return LLM_OK;
}

void chat_template_set_tokens(ChatTemplate *t, const char *bos, const char *eos) {
    free(t->bos);
    free(t->eos);
    t->bos = llm_xstrdup(bos ? bos : "");
    t->eos = llm_xstrdup(eos ? eos : "");
}

void chat_template_free(ChatTemplate *t) {
    free(t->default_system);
    free(t->bos);
    free(t->eos);
    memset(t, 0, sizeof *t);
}

const char *chat_template_end_of_turn(const ChatTemplate *t) {
    switch (t->family) {
    case CHAT_FAMILY_CHATML: return "<|im_end|>";
    case CHAT_FAMILY_LLAMA3: return "<|eot_id|>";
    case CHAT_FAMILY_PHI3: return "<|end|>";
    case CHAT_FAMILY_LLAMA2:
    case CHAT_FAMILY_MISTRAL:
    case CHAT_FAMILY_COUNT: break;
    }
    return t->eos;
}

/* ---- rendering, one function per family -------------------------------- */
static void render_chatml(const ChatTemplate *t, const ChatMessage *m, int n, int agp, ChatBuf *b) {
    for (int i = 0; i < n; i++) {
        if (i == 0 && m[0].role != CHAT_ROLE_SYSTEM && t->default_system != NULL) {
            buf_add(b, "<|im_start|>system\n");
            buf_add(b, t->default_system);
            buf_add(b, "<|im_end|>\n");
        }
        buf_add(b, "<|im_start|>");
        buf_add(b, CHAT_ROLE_NAMES[m[i].role]);
        buf_add(b, "\n");
        buf_add(b, m[i].content);
        buf_add(b, "<|im_end|>\n");
    }
    if (agp) buf_add(b, "<|im_start|>assistant\n");
}

static void render_llama3(const ChatTemplate *t, const ChatMessage *m, int n, int agp, ChatBuf *b) {
    for (int i = 0; i < n; i++) {
        if (i == 0) buf_add(b, t->bos);
        buf_add(b, "<|start_header_id|>");
        buf_add(b, CHAT_ROLE_NAMES[m[i].role]);
        buf_add(b, "<|end_header_id|>\n\n");
        buf_add_stripped(b, m[i].content);
        buf_add(b, "<|eot_id|>");
    }
    if (agp) buf_add(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_phi3(const ChatTemplate *t, const ChatMessage *m, int n, int agp, ChatBuf *b) {
    for (int i = 0; i < n; i++) {
        buf_add(b, "<|");
        buf_add(b, CHAT_ROLE_NAMES[m[i].role]);
        buf_add(b, "|>\n");
        buf_add(b, m[i].content);
        buf_add(b, "<|end|>\n");
    }
    buf_add(b, agp ? "<|assistant|>\n" : t->eos);
}

/* Llama 2 and Mistral: after an optional leading system message (llama2
 * only), roles must go user, assistant, user, ... */
static int check_alternation(const ChatTemplate *t, const ChatMessage *m, int n, LlmError *err) {
    for (int i = 0; i < n; i++) {
        if (m[i].role == CHAT_ROLE_SYSTEM)
            return llm_errorf(err, "chat template %s: %s", chat_family_name(t->family),
                              t->family == CHAT_FAMILY_MISTRAL
                                  ? "the template has no system role (drop --system)"
                                  : "a system message may only come first");
        if ((m[i].role == CHAT_ROLE_USER) != (i % 2 == 0))
            return llm_errorf(err, "chat template %s: conversation roles must alternate "
                              "user/assistant/user/assistant/...", chat_family_name(t->family));
    }
    return LLM_OK;
}

static int render_llama2(const ChatTemplate *t, const ChatMessage *m, int n, ChatBuf *b,
                         LlmError *err) {
    const char *sys = NULL;
    if (n > 0 && m[0].role == CHAT_ROLE_SYSTEM) {
        sys = m[0].content;
        m++;
        n--;
    }
    if (check_alternation(t, m, n, err) != LLM_OK) return LLM_ERR;
    ChatBuf content = {0};
    for (int i = 0; i < n; i++) {
        content.len = 0;
        if (i == 0 && sys != NULL) {
            buf_add(&content, "<<SYS>>\n");
            buf_add(&content, sys);
            buf_add(&content, "\n<</SYS>>\n\n");
        }
        buf_add(&content, m[i].content);
        int user = m[i].role == CHAT_ROLE_USER;
        buf_add(b, user ? t->bos : " ");
        if (user) buf_add(b, "[INST] ");
        buf_add_stripped(b, content.data);
        buf_add(b, user ? " [/INST]" : " ");
        if (!user) buf_add(b, t->eos);
    }
    free(content.data);
    return LLM_OK;
}

static int render_mistral(const ChatTemplate *t, const ChatMessage *m, int n, ChatBuf *b,
                          LlmError *err) {
    if (check_alternation(t, m, n, err) != LLM_OK) return LLM_ERR;
    buf_add(b, t->bos);
    for (int i = 0; i < n; i++) {
        if (m[i].role == CHAT_ROLE_USER) {
            buf_add(b, "[INST] ");
            buf_add(b, m[i].content);
            buf_add(b, " [/INST]");
        } else {
            buf_add(b, m[i].content);
            buf_add(b, t->eos);
        }
    }
    return LLM_OK;
}

int chat_template_render(const ChatTemplate *t, const ChatMessage *msgs, int n,
                         int add_generation_prompt, char **out, LlmError *err) {
    ChatBuf b = {0};
    buf_add(&b, "");
    int rc = LLM_OK;
    switch (t->family) {
    case CHAT_FAMILY_CHATML: render_chatml(t, msgs, n, add_generation_prompt, &b); break;
    case CHAT_FAMILY_LLAMA3: render_llama3(t, msgs, n, add_generation_prompt, &b); break;
    case CHAT_FAMILY_PHI3: render_phi3(t, msgs, n, add_generation_prompt, &b); break;
    case CHAT_FAMILY_LLAMA2: rc = render_llama2(t, msgs, n, &b, err); break;
    case CHAT_FAMILY_MISTRAL: rc = render_mistral(t, msgs, n, &b, err); break;
    case CHAT_FAMILY_COUNT: LLM_BUG("bad chat family");
    }
    if (rc != LLM_OK) {
        free(b.data);
        return LLM_ERR;
    }
    *out = b.data;
    return LLM_OK;
}
