/* test_load_hf_config.c - config.json -> ModelDesc: architectures, defaults,
 * rope scaling, special tokens, and messages for bad values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/hf_config.h"
#include "load/json_util.h"
#include "test_load_common.h"

#define BASE "\"vocab_size\":100,\"hidden_size\":64,\"intermediate_size\":128," \
             "\"num_hidden_layers\":2,\"num_attention_heads\":4"

static int parse(const char *text, ModelDesc *d, LlmError *err) {
    json_t *j;
    if (json_util_parse("cfg/config.json", text, strlen(text), &j, err) != LLM_OK) return LLM_ERR;
    int rc = hf_config_parse(j, "cfg/config.json", d, err);
    json_decref(j);
    return rc;
}

static void test_llama_defaults(void **state) {
    (void)state;
    ModelDesc d;
    LlmError err = {{0}};
    if (parse("{\"architectures\":[\"MistralForCausalLM\"]," BASE ",\"eos_token_id\":[5,7]}",
              &d, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(d.arch, "llama");
    assert_string_equal(d.hf_class, "MistralForCausalLM");
    assert_int_equal(d.n_kv_heads, 4);
    assert_int_equal(d.head_dim, 16);
    assert_int_equal(d.tie_embeddings, 0);
    assert_int_equal(d.attention_bias, 0);
    assert_int_equal(d.rope_scaling, ROPE_SCALING_NONE);
    assert_int_equal(d.bos_token_id, -1);
    assert_int_equal(d.eos_token_ids[0], 5);
    assert_int_equal(d.eos_token_ids[1], 7);
    assert_int_equal(d.eos_token_ids[2], -1);
}

static void test_qwen2_and_llama3_rope(void **state) {
    (void)state;
    ModelDesc d;
    LlmError err = {{0}};
    if (parse("{\"architectures\":[\"Qwen2ForCausalLM\"]," BASE ",\"head_dim\":32,"
              "\"num_key_value_heads\":2,\"rope_theta\":500000.0,\"rope_scaling\":{"
              "\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
              "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":8192}}",
              &d, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(d.arch, "qwen2");
    assert_int_equal(d.attention_bias, 1);
    assert_int_equal(d.head_dim, 32);
    assert_int_equal(d.n_kv_heads, 2);
    assert_true(d.rope_theta == 500000.0f);
    assert_int_equal(d.rope_scaling, ROPE_SCALING_LLAMA3);
    assert_true(d.rope_factor == 8.0f && d.rope_high_freq_factor == 4.0f);
    assert_int_equal(d.rope_original_context, 8192);
    if (parse("{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"rope_scaling\":{"
              "\"type\":\"linear\",\"factor\":2}}", &d, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(d.rope_scaling, ROPE_SCALING_LINEAR);
    assert_true(d.rope_factor == 2.0f);
}

/* A config text and the substrings its error must contain. */
static const struct {
    const char *text;
    const char *want[3];
} BAD[] = {
    {"{\"architectures\":[\"GPT2LMHeadModel\"]," BASE "}",
     {"architectures", "GPT2LMHeadModel", "LlamaForCausalLM"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":100,\"hidden_size\":\"abc\"}",
     {"field \"hidden_size\"", "positive integer", "\"abc\""}},
    {"{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"num_key_value_heads\":3}",
     {"num_key_value_heads=3", "num_attention_heads=4", "divide"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"rope_scaling\":{\"type\":\"yarn\"}}",
     {"rope_scaling", "yarn", "llama3"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"],\"hidden_size\":64}",
     {"field \"vocab_size\"", "missing", "config.json"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"eos_token_id\":\"x\"}",
     {"eos_token_id", "\"x\"", "integer"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"hidden_act\":\"gelu\"}",
     {"hidden_act", "gelu", "silu"}},
    {"{\"architectures\":[\"LlamaForCausalLM\"],\n  \"vocab_size\": 1,,}",
     {"cfg/config.json:2:", "", ""}},
};

static void test_bad_configs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        ModelDesc d;
        LlmError err = {{0}};
        assert_int_equal(parse(BAD[i].text, &d, &err), LLM_ERR);
        assert_msg_has(err.msg, "cfg/config.json", BAD[i].want[0], BAD[i].want[1],
                       BAD[i].want[2]);
    }
}

static void test_generation_and_big_ints(void **state) {
    (void)state;
    ModelDesc d;
    LlmError err = {{0}};
    if (parse("{\"architectures\":[\"LlamaForCausalLM\"]," BASE ",\"eos_token_id\":3}", &d,
              &err))
        fail_msg("%s", err.msg);
    json_t *g;
    const char *gen = "{\"bos_token_id\":1,\"eos_token_id\":[9,8,7,6,5],"
                      "\"max\":1000000000000000019884624838656,\"s\":\"12345678901234567890\"}";
    assert_int_equal(json_util_parse("g.json", gen, strlen(gen), &g, &err), LLM_OK);
    assert_true(json_is_real(json_object_get(g, "max")));
    assert_string_equal(json_string_value(json_object_get(g, "s")), "12345678901234567890");
    assert_int_equal(hf_config_apply_generation(g, "g.json", &d, &err), LLM_OK);
    assert_int_equal(d.bos_token_id, 1);
    assert_int_equal(d.eos_token_ids[0], 9);
    assert_int_equal(d.eos_token_ids[3], 6);
    json_decref(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_defaults),
        cmocka_unit_test(test_qwen2_and_llama3_rope),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_generation_and_big_ints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
