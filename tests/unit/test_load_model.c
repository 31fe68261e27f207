/* test_load_model.c - model_load on the bundled tinystories-656k folder and
 * on small HF folders built here: tied-embedding alias, tokenizer object,
 * missing tensors, shapes that disagree with config.json, bad architecture.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/model_load.h"
#include "test_load_common.h"

static void test_tinystories(void **state) {
    (void)state;
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(LLMCC_FIXTURES "/models/tinystories-656k", &m, &err)) fail_msg("%s", err.msg);
    const ModelDesc *d = &m.desc;
    assert_int_equal(m.format, MODEL_FORMAT_HF);
    assert_string_equal(d->arch, "llama");
    assert_int_equal(d->vocab_size, 2048);
    assert_int_equal(d->hidden_size, 128);
    assert_int_equal(d->intermediate_size, 384);
    assert_int_equal(d->n_layers, 2);
    assert_int_equal(d->n_heads, 8);
    assert_int_equal(d->n_kv_heads, 4);
    assert_int_equal(d->head_dim, 16);
    assert_int_equal(d->max_context, 512);
    assert_true(d->rms_eps == 1e-6f);
    assert_int_equal(d->tie_embeddings, 1);
    assert_int_equal(d->bos_token_id, 1);
    assert_int_equal(d->eos_token_ids[0], 2);
    const TensorInfo *e = tensor_table_find(&m.tensors, "model.embed_tokens.weight");
    const TensorInfo *h = tensor_table_find(&m.tensors, "lm_head.weight");
    assert_non_null(e);
    assert_non_null(h);
    assert_ptr_equal(e->data, h->data);
    assert_int_equal(e->shape[0], 2048);
    assert_string_equal(json_string_value(json_object_get(m.tokenizer, "format")), "hf");
    json_t *tok = json_object_get(m.tokenizer, "tokenizer");
    assert_true(json_is_object(json_object_get(tok, "model")));
    assert_true(json_is_object(json_object_get(m.tokenizer, "config")));
    assert_int_equal(json_integer_value(json_object_get(m.generation, "eos_token_id")), 2);
    assert_int_equal(model_check_tensors(&m, &err), LLM_OK);
    loaded_model_free(&m);
}

/* Tiny HF folder: H=8, 2 heads x 4, 1 KV head, I=16, 1 layer, V=16, F32. */
static const struct {
    const char *name;
    int64_t d0, d1; /* d1 = 0: 1-D */
} HF_TINY[] = {
    {"model.embed_tokens.weight", 16, 8},
    {"model.norm.weight", 8, 0},
    {"model.layers.0.input_layernorm.weight", 8, 0},
    {"model.layers.0.post_attention_layernorm.weight", 8, 0},
    {"model.layers.0.self_attn.q_proj.weight", 8, 8},
    {"model.layers.0.self_attn.k_proj.weight", 4, 8},
    {"model.layers.0.self_attn.v_proj.weight", 4, 8},
    {"model.layers.0.self_attn.o_proj.weight", 8, 8},
    {"model.layers.0.mlp.gate_proj.weight", 16, 8},
    {"model.layers.0.mlp.up_proj.weight", 16, 8},
    {"model.layers.0.mlp.down_proj.weight", 8, 16},
};

/* Writes the folder; skip names a tensor to leave out, bad one whose rows
 * are doubled; arch is architectures[0]. */
static void write_hf(const char *dir, const char *skip, const char *bad, const char *arch) {
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "{\"architectures\":[\"%s\"],\"vocab_size\":16,\"hidden_size\":8,"
             "\"intermediate_size\":16,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
             "\"num_key_value_heads\":1,\"tie_word_embeddings\":true}", arch);
    write_text(dir, "config.json", cfg);
    write_text(dir, "tokenizer.json", "{\"model\":{\"type\":\"BPE\"}}");
    json_t *hdr = json_object();
    int64_t off = 0;
    for (size_t i = 0; i < sizeof HF_TINY / sizeof HF_TINY[0]; i++) {
        if (skip && strcmp(HF_TINY[i].name, skip) == 0) continue;
        int64_t d0 = HF_TINY[i].d0 * (bad && strcmp(HF_TINY[i].name, bad) == 0 ? 2 : 1);
        int64_t n = d0 * (HF_TINY[i].d1 ? HF_TINY[i].d1 : 1) * 4;
        json_t *shape = HF_TINY[i].d1 ? json_pack("[I,I]", d0, HF_TINY[i].d1)
                                      : json_pack("[I]", d0);
        json_object_set_new(hdr, HF_TINY[i].name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", "F32", "shape", shape,
                                      "data_offsets", off, off + n));
        off += n;
    }
    char *text = json_dumps(hdr, JSON_COMPACT);
    Buf b = {0};
    buf_u64(&b, strlen(text));
    buf_put(&b, text, strlen(text));
    for (int64_t i = 0; i < off; i++) buf_put(&b, "\0", 1);
    write_file(dir, "model.safetensors", b.p, b.len);
    free(b.p);
    free(text);
    json_decref(hdr);
}

static void test_built_folder(void **state) {
    (void)state;
    char dir[64];
    tmp_dir(dir);
    write_hf(dir, NULL, NULL, "LlamaForCausalLM");
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(dir, &m, &err)) fail_msg("%s", err.msg);
    assert_int_equal(m.desc.tie_embeddings, 1);
    assert_int_equal(json_object_size(m.generation), 0);
    assert_int_equal(json_object_size(json_object_get(m.tokenizer, "config")), 0);
    loaded_model_free(&m);
    rm_tree(dir);
}

static void expect_fail(const char *skip, const char *bad, const char *arch, const char *a,
                        const char *b, const char *c) {
    char dir[64];
    tmp_dir(dir);
    write_hf(dir, skip, bad, arch);
    LoadedModel m;
    LlmError err = {{0}};
    assert_int_equal(model_load(dir, &m, &err), LLM_ERR);
    assert_msg_has(err.msg, dir, a, b, c);
    rm_tree(dir);
}

static void test_bad_folders(void **state) {
    (void)state;
    expect_fail(NULL, "model.layers.0.self_attn.k_proj.weight", "LlamaForCausalLM",
                "model.safetensors: tensor \"model.layers.0.self_attn.k_proj.weight\"",
                "shape [8, 8] does not match config.json",
                "expected [4, 8] from num_key_value_heads=1, head_dim=4, hidden_size=8");
    expect_fail("model.layers.0.mlp.up_proj.weight", NULL, "LlamaForCausalLM",
                "\"model.layers.0.mlp.up_proj.weight\"", "missing", "intermediate_size=16");
    expect_fail(NULL, NULL, "FalconForCausalLM", "config.json", "architectures",
                "FalconForCausalLM");
    /* Qwen2 needs q/k/v biases, which this folder lacks */
    expect_fail(NULL, NULL, "Qwen2ForCausalLM", "model.layers.0.self_attn.q_proj.bias",
                "missing", "num_attention_heads=2");
}

static void test_missing_files(void **state) {
    (void)state;
    char dir[64];
    tmp_dir(dir);
    LoadedModel m;
    LlmError err = {{0}};
    assert_int_equal(model_load(dir, &m, &err), LLM_ERR);
    assert_msg_has(err.msg, "config.json");
    write_hf(dir, NULL, NULL, "LlamaForCausalLM");
    char p[128];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    remove(p);
    assert_int_equal(model_load(dir, &m, &err), LLM_ERR);
    assert_msg_has(err.msg, "tokenizer.json");
    assert_int_equal(model_load("/nonexistent/model", &m, &err), LLM_ERR);
    assert_msg_has(err.msg, "/nonexistent/model");
    rm_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tinystories),
        cmocka_unit_test(test_built_folder),
        cmocka_unit_test(test_bad_folders),
        cmocka_unit_test(test_missing_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
