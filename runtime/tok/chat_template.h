/* chat_template.h - a conversation -> the prompt text the model's own chat
 * template renders.
 *
 * No Jinja interpreter: the model's template text (tokenizer_config.json's
 * `chat_template`, or GGUF `tokenizer.chat_template`) is recognised as one
 * of a few families by distinctive markers, and the family is rendered in
 * C, byte for byte as transformers' apply_chat_template renders the
 * published template (tests/fixtures/chat/chat_reference.json):
 *
 *   chatml   <|im_start|>role\ncontent<|im_end|>\n ... ; a default system
 *            message is inserted when the template has one (SmolLM2, Qwen2:
 *            its text is taken from the template, not hard-coded)
 *   llama3   bos <|start_header_id|>role<|end_header_id|>\n\n trim(content) <|eot_id|>
 *   llama2   bos [INST] <<SYS>>\nsys\n<</SYS>>\n\n user [/INST] reply eos ...
 *   mistral  bos [INST] user [/INST]reply eos ...   (no system role)
 *   phi3     <|role|>\ncontent<|end|>\n ... <|assistant|>\n
 *
 * BOS rule: where the template writes bos_token, the rendered text holds the
 * BOS token's text (e.g. "<|begin_of_text|>"), exactly as apply_chat_template
 * renders it; the caller then encodes the text with add_bos = 0 and lets the
 * special-token matcher turn that text into the BOS id. This is what
 * apply_chat_template(tokenize=True) does (add_special_tokens=False), so
 * no template ever gets a second BOS.
 *
 * Not supported (a clear error, never a silent wrong prompt): Llama 3.1+
 * templates (date header, tools), tool calls, other roles.
 */
#ifndef LLMCC_TOK_CHAT_TEMPLATE_H
#define LLMCC_TOK_CHAT_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "base/error.h"

typedef enum ChatFamily {
    CHAT_FAMILY_CHATML = 0,
    CHAT_FAMILY_LLAMA3,
    CHAT_FAMILY_LLAMA2,
    CHAT_FAMILY_MISTRAL,
    CHAT_FAMILY_PHI3,
    CHAT_FAMILY_COUNT
} ChatFamily;

typedef enum ChatRole { CHAT_ROLE_SYSTEM = 0, CHAT_ROLE_USER, CHAT_ROLE_ASSISTANT } ChatRole;

typedef struct ChatMessage {
    ChatRole role;
    const char *content; /* UTF-8 text, NUL-terminated, not owned */
} ChatMessage;

typedef struct ChatTemplate {
    ChatFamily family;
    char *default_system; /* owned; system text the template inserts when the
                             conversation has none (chatml), NULL if none */
    char *bos;            /* owned; text of the BOS token, "" when none */
    char *eos;            /* owned; text of the EOS token, "" when none */
} ChatTemplate;

/* The template's family name ("chatml", ...) and the list for messages. */
const char *chat_family_name(ChatFamily f);
#define CHAT_TEMPLATE_CHOICES "chatml, llama3, llama2, mistral, phi3"
/* The family called name; the error names --chat-template and the choices. */
int chat_family_parse(const char *name, ChatFamily *f, LlmError *err);

/* The Jinja text of the model's template from the tokenizer description the
 * executable carries ({"format":"hf","config":{"chat_template":...}} or
 * {"format":"gguf","meta":{"tokenizer.chat_template":...}}); a list of named
 * templates gives the one named "default". NULL when there is none. */
const char *chat_template_source(const json_t *tokenizer_desc);

/* Fills t from the model's template text (may be NULL) and an explicit
 * family name (may be NULL: recognise source). Details such as the default
 * system message come from source when it belongs to the chosen family.
 * Errors: no template and no name, an unrecognised template, an unknown
 * name; each message lists the choices (t is then empty, nothing to free).
 * bos/eos start as "". */
int chat_template_init(ChatTemplate *t, const char *source, const char *name, LlmError *err);
/* Sets the BOS and EOS token texts (NULL = none). */
void chat_template_set_tokens(ChatTemplate *t, const char *bos, const char *eos);
void chat_template_free(ChatTemplate *t);

/* Renders msgs [n] into *out (malloc'd, NUL-terminated), ending with the
 * assistant header when add_generation_prompt is 1 (the llama2 and mistral
 * templates have none: the text already ends with [/INST]). Errors where
 * the template raises one (roles that do not alternate for llama2/mistral,
 * a system message for mistral). */
int chat_template_render(const ChatTemplate *t, const ChatMessage *msgs, int n,
                         int add_generation_prompt, char **out, LlmError *err);

/* The text of the token that ends an assistant turn ("<|im_end|>",
 * "<|eot_id|>", "<|end|>"; t->eos for llama2 and mistral). */
const char *chat_template_end_of_turn(const ChatTemplate *t);

#endif
