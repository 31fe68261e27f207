/* test_chat_template.c - runtime/tok/chat_template against jinja2.
 *
 * tests/fixtures/chat/chat_reference.json holds, for SmolLM2 (template from
 * its GGUF) and the published Qwen2, Llama 3, Llama 2, Mistral and Phi-3
 * templates, the exact text jinja2 renders for several conversations (see
 * make_chat_reference.py). Each template text is recognised here as the
 * family the script names, then every conversation must render byte for
 * byte the same, or fail where the template raises.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "tok/chat_template.h"

static json_t *reference;

static int setup(void **state) {
    (void)state;
    json_error_t je;
    reference = json_load_file(LLMCC_FIXTURES "/chat/chat_reference.json", 0, &je);
    if (reference == NULL) fail_msg("chat_reference.json: line %d: %s", je.line, je.text);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    json_decref(reference);
    return 0;
}

static ChatRole role_of(const char *name) {
    if (strcmp(name, "system") == 0) return CHAT_ROLE_SYSTEM;
    if (strcmp(name, "user") == 0) return CHAT_ROLE_USER;
    assert_string_equal(name, "assistant");
    return CHAT_ROLE_ASSISTANT;
}

/* Renders one reference case and compares. Returns 1 when it matched. */
static int check_case(const ChatTemplate *t, const char *family, const json_t *c) {
    const json_t *msgs = json_object_get(c, "messages");
    ChatMessage m[16];
    size_t n = json_array_size(msgs);
    assert_true(n <= 16);
    for (size_t i = 0; i < n; i++) {
        const json_t *msg = json_array_get(msgs, i);
        m[i].role = role_of(json_string_value(json_object_get(msg, "role")));
        m[i].content = json_string_value(json_object_get(msg, "content"));
    }
    int agp = json_is_true(json_object_get(c, "add_generation_prompt"));
    const char *want = json_string_value(json_object_get(c, "text"));
    const char *name = json_string_value(json_object_get(c, "name"));
    char *got = NULL;
    LlmError err = {{0}};
    int rc = chat_template_render(t, m, (int)n, agp, &got, &err);
    int ok = want == NULL ? rc == LLM_ERR : rc == LLM_OK && strcmp(got, want) == 0;
    if (!ok)
        print_error("%s / %s (agp %d): expected %s\n  got %s\n", family, name, agp,
                    want ? want : "an error", rc == LLM_OK ? got : err.msg);
    free(got);
    return ok;
}

static void test_reference_renderings(void **state) {
    (void)state;
    const json_t *fams = json_object_get(reference, "families");
    assert_true(json_array_size(fams) >= 6);
    size_t i, j;
    const json_t *fam, *c;
    int bad = 0, total = 0;
    json_array_foreach(fams, i, fam) {
        const char *name = json_string_value(json_object_get(fam, "name"));
        const char *src = json_string_value(json_object_get(fam, "template"));
        ChatTemplate t;
        LlmError err = {{0}};
        if (chat_template_init(&t, src, NULL, &err) != LLM_OK) fail_msg("%s: %s", name, err.msg);
        assert_string_equal(chat_family_name(t.family),
                            json_string_value(json_object_get(fam, "family")));
        chat_template_set_tokens(&t, json_string_value(json_object_get(fam, "bos_token")),
                                 json_string_value(json_object_get(fam, "eos_token")));
        json_array_foreach(json_object_get(fam, "cases"), j, c) {
            bad += !check_case(&t, name, c);
            total++;
        }
        chat_template_free(&t);
    }
    assert_true(total >= 60);
    assert_int_equal(bad, 0);
}

static void test_default_system_extracted(void **state) {
    (void)state;
    ChatTemplate t;
    LlmError err = {{0}};
    /* an escaped "\n" (as written in a template file) and an apostrophe */
    const char *src = "{{ '<|im_start|>system\\nYou\\'re Bob.<|im_end|>\\n' }}"
                      "{{ '<|im_start|>' + message['role'] }}";
    assert_int_equal(chat_template_init(&t, src, NULL, &err), LLM_OK);
    assert_string_equal(t.default_system, "You're Bob.");
    chat_template_free(&t);
    /* plain ChatML: the system header is followed by an expression */
    src = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\n' + m['content'] + "
          "'<|im_end|>\n'}}{% endfor %}{{ '<|im_start|>system\n' + x + '<|im_end|>' }}";
    assert_int_equal(chat_template_init(&t, src, NULL, &err), LLM_OK);
    assert_null(t.default_system);
    assert_string_equal(chat_template_end_of_turn(&t), "<|im_end|>");
    chat_template_free(&t);
}

static void test_choices_and_errors(void **state) {
    (void)state;
    ChatTemplate t;
    LlmError err = {{0}};
    assert_int_equal(chat_template_init(&t, NULL, NULL, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "no chat template"));
    assert_non_null(strstr(err.msg, CHAT_TEMPLATE_CHOICES));
    chat_template_free(&t);
    assert_int_equal(chat_template_init(&t, "{{ messages[0]['content'] }}", NULL, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "not recognised"));
    assert_non_null(strstr(err.msg, "--chat-template"));
    chat_template_free(&t);
    assert_int_equal(chat_template_init(&t, NULL, "vicuna", &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "unknown template 'vicuna'"));
    chat_template_free(&t);
    assert_int_equal(chat_template_init(&t, "<|start_header_id|> Cutting Knowledge Date", NULL,
                                        &err), LLM_ERR);
    chat_template_free(&t);
    const char *names[] = {"chatml", "llama3", "llama2", "mistral", "phi3"};
    const char *eot[] = {"<|im_end|>", "<|eot_id|>", "</s>", "</s>", "<|end|>"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(chat_template_init(&t, "{{ unknown }}", names[i], &err), LLM_OK);
        assert_string_equal(chat_family_name(t.family), names[i]);
        assert_null(t.default_system);
        chat_template_set_tokens(&t, "<s>", "</s>");
        assert_string_equal(chat_template_end_of_turn(&t), eot[i]);
        chat_template_free(&t);
    }
}

static void test_source_from_description(void **state) {
    (void)state;
    json_t *hf = json_loads("{\"format\":\"hf\",\"config\":{\"chat_template\":\"A\"}}", 0, NULL);
    json_t *gg = json_loads("{\"format\":\"gguf\",\"meta\":{\"tokenizer.chat_template\":\"B\"}}",
                            0, NULL);
    json_t *list = json_loads("{\"format\":\"hf\",\"config\":{\"chat_template\":[{\"name\":"
                              "\"tool_use\",\"template\":\"T\"},{\"name\":\"default\","
                              "\"template\":\"D\"}]}}", 0, NULL);
    json_t *none = json_loads("{\"format\":\"hf\",\"config\":{}}", 0, NULL);
    assert_string_equal(chat_template_source(hf), "A");
    assert_string_equal(chat_template_source(gg), "B");
    assert_string_equal(chat_template_source(list), "D");
    assert_null(chat_template_source(none));
    json_decref(hf);
    json_decref(gg);
    json_decref(list);
    json_decref(none);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_renderings),
        cmocka_unit_test(test_default_system_extracted),
        cmocka_unit_test(test_choices_and_errors),
        cmocka_unit_test(test_source_from_description),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
