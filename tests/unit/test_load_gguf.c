/* test_load_gguf.c - GGUF parsing, metadata, name mapping, corrupted files,
 * and (when LLMCC_SMOLLM2_GGUF names it) the real SmolLM2-135M Q4_1 file.
 *
 * A tiny llama GGUF (H=8, 2 heads of 4, 1 KV head, I=16, 1 layer, V=16, F32
 * values equal to their element index) is built in memory; each corruption
 * test changes one thing and checks the message names file, item, value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/gguf.h"
#include "load/model_load.h"
#include "test_load_common.h"

/* What to break in the built file. */
typedef struct GgufOpts {
    const char *magic;   /* 4 bytes */
    uint32_t version;    /* 3 normally */
    const char *arch;    /* general.architecture */
    uint32_t v_type;     /* ggml type of blk.0.attn_v.weight */
    uint64_t v_offset;   /* added to attn_v's offset */
    int bad_utf8;        /* 1: a metadata string with invalid UTF-8 */
    size_t truncate;     /* bytes cut from the end */
} GgufOpts;

static const GgufOpts GOOD = {"GGUF", 3, "llama", 0, 0, 0, 0};

/* Tensors of the tiny model: GGUF name and ne[] (innermost first). */
static const struct {
    const char *name;
    int n_dims;
    uint64_t ne[2];
} TINY[] = {
    {"token_embd.weight", 2, {8, 16}},   {"output_norm.weight", 1, {8, 1}},
    {"blk.0.attn_norm.weight", 1, {8, 1}}, {"blk.0.attn_q.weight", 2, {8, 8}},
    {"blk.0.attn_k.weight", 2, {8, 4}},  {"blk.0.attn_v.weight", 2, {8, 4}},
    {"blk.0.attn_output.weight", 2, {8, 8}}, {"blk.0.ffn_norm.weight", 1, {8, 1}},
    {"blk.0.ffn_gate.weight", 2, {8, 16}}, {"blk.0.ffn_up.weight", 2, {8, 16}},
    {"blk.0.ffn_down.weight", 2, {16, 8}},
};
#define N_TINY ((int)(sizeof TINY / sizeof TINY[0]))

static void kv_u32(Buf *b, const char *k, uint32_t v) {
    buf_str(b, k);
    buf_u32(b, 4);
    buf_u32(b, v);
}
static void kv_f32(Buf *b, const char *k, float v) {
    buf_str(b, k);
    buf_u32(b, 6);
    buf_f32(b, v);
}
static void kv_str(Buf *b, const char *k, const char *v) {
    buf_str(b, k);
    buf_u32(b, 8);
    buf_str(b, v);
}

static void put_metadata(Buf *b, const GgufOpts *o) {
    kv_str(b, "general.architecture", o->arch);
    kv_u32(b, "general.alignment", 32);
    kv_u32(b, "llama.embedding_length", 8);
    kv_u32(b, "llama.block_count", 1);
    kv_u32(b, "llama.feed_forward_length", 16);
    kv_u32(b, "llama.attention.head_count", 2);
    kv_u32(b, "llama.attention.head_count_kv", 1);
    kv_u32(b, "llama.context_length", 64);
    kv_f32(b, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    kv_f32(b, "llama.rope.freq_base", 10000.0f);
    kv_str(b, "tokenizer.ggml.model", o->bad_utf8 ? "gp\xff\xfe" : "gpt2");
    kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(b, "tokenizer.ggml.eos_token_id", 2);
    buf_str(b, "tokenizer.ggml.tokens"); /* array of 16 strings */
    buf_u32(b, 9);
    buf_u32(b, 8);
    buf_u64(b, 16);
    for (int i = 0; i < 16; i++) {
        char t[8];
        snprintf(t, sizeof t, "t%d", i);
        buf_str(b, t);
    }
    buf_str(b, "test.nested"); /* [[-1, 2], [3, 4]] of int32, and a bool */
    buf_u32(b, 9);
    buf_u32(b, 9);
    buf_u64(b, 2);
    for (int i = 0; i < 2; i++) {
        buf_u32(b, 5);
        buf_u64(b, 2);
        buf_u32(b, i == 0 ? (uint32_t)-1 : 3);
        buf_u32(b, i == 0 ? 2 : 4);
    }
}
#define N_KV 15

static void build_gguf(Buf *b, const GgufOpts *o) {
    memset(b, 0, sizeof *b);
    buf_put(b, o->magic, 4);
    buf_u32(b, o->version);
    buf_u64(b, N_TINY);
    buf_u64(b, N_KV);
    put_metadata(b, o);
    uint64_t off = 0;
    for (int i = 0; i < N_TINY; i++) {
        int is_v = strcmp(TINY[i].name, "blk.0.attn_v.weight") == 0;
        buf_str(b, TINY[i].name);
        buf_u32(b, (uint32_t)TINY[i].n_dims);
        for (int d = 0; d < TINY[i].n_dims; d++) buf_u64(b, TINY[i].ne[d]);
        buf_u32(b, is_v ? o->v_type : 0);
        buf_u64(b, off + (is_v ? o->v_offset : 0));
        off += 4 * TINY[i].ne[0] * TINY[i].ne[1];
    }
    buf_pad(b, 32);
    for (int i = 0; i < N_TINY; i++)
        for (uint64_t e = 0; e < TINY[i].ne[0] * TINY[i].ne[1]; e++) buf_f32(b, (float)e);
    b->len -= o->truncate;
}

/* Writes the file into a fresh dir and model_loads it. */
static int load_built(const GgufOpts *o, char *dir, char *path, LoadedModel *m, LlmError *err) {
    Buf b;
    build_gguf(&b, o);
    tmp_dir(dir);
    write_file(dir, "tiny.gguf", b.p, b.len);
    free(b.p);
    snprintf(path, 128, "%s/tiny.gguf", dir);
    return model_load(path, m, err);
}

static void test_tiny_llama(void **state) {
    (void)state;
    char dir[64], path[128];
    LoadedModel m;
    LlmError err = {{0}};
    if (load_built(&GOOD, dir, path, &m, &err) != LLM_OK) fail_msg("%s", err.msg);
    const ModelDesc *d = &m.desc;
    assert_string_equal(d->arch, "llama");
    assert_int_equal(d->hidden_size, 8);
    assert_int_equal(d->n_heads, 2);
    assert_int_equal(d->n_kv_heads, 1);
    assert_int_equal(d->head_dim, 4);
    assert_int_equal(d->vocab_size, 16);
    assert_int_equal(d->tie_embeddings, 1);
    assert_int_equal(d->bos_token_id, 1);
    assert_int_equal(d->eos_token_ids[0], 2);
    assert_true(d->rms_eps == 1e-5f);
    const TensorInfo *k = tensor_table_find(&m.tensors, "model.layers.0.self_attn.k_proj.weight");
    assert_non_null(k);
    assert_int_equal(k->shape[0], 4);
    assert_int_equal(k->shape[1], 8);
    assert_int_equal(k->xform, TENSOR_XFORM_UNPERMUTE_ROPE);
    assert_int_equal(k->xform_heads, 1);
    float y[32];
    assert_int_equal(tensor_read_f32(k, y, &err), LLM_OK);
    assert_true(y[8] == 16.0f && y[16] == 8.0f); /* rows 1 and 2 swapped */
    json_t *meta = json_object_get(m.tokenizer, "meta");
    assert_string_equal(json_string_value(json_object_get(m.tokenizer, "format")), "gguf");
    assert_int_equal(json_array_size(json_object_get(meta, "tokenizer.ggml.tokens")), 16);
    assert_null(json_object_get(meta, "llama.block_count"));
    assert_int_equal(json_object_size(m.generation), 0);
    loaded_model_free(&m);
    rm_tree(dir);
}

static void test_metadata_values(void **state) {
    (void)state;
    Buf b;
    build_gguf(&b, &GOOD);
    MappedFile mf = {.path = "mem.gguf", .data = b.p, .size = b.len};
    GgufFile g;
    LlmError err = {{0}};
    if (gguf_parse(&mf, &g, &err) != LLM_OK) fail_msg("%s", err.msg);
    char *s = json_dumps(json_object_get(g.meta, "test.nested"), JSON_COMPACT);
    assert_string_equal(s, "[[-1,2],[3,4]]");
    free(s);
    assert_int_equal(g.version, 3);
    assert_int_equal((int)g.data_offset % 32, 0);
    assert_int_equal(g.tensors.count, N_TINY);
    gguf_free(&g);
    free(b.p);
}

/* Loads a broken variant and checks the message. */
static void expect_fail(const GgufOpts *o, const char *a, const char *b2, const char *c) {
    char dir[64], path[128];
    LoadedModel m;
    LlmError err = {{0}};
    assert_int_equal(load_built(o, dir, path, &m, &err), LLM_ERR);
    assert_msg_has(err.msg, "tiny.gguf", a, b2, c);
    rm_tree(dir);
}

static void test_corrupted(void **state) {
    (void)state;
    GgufOpts o = GOOD;
    o.magic = "GGML";
    expect_fail(&o, "magic", "47 47 4d 4c", "GGML");
    o = GOOD;
    o.version = 7;
    expect_fail(&o, "version", "7", "GGUF");
    o = GOOD;
    o.v_type = 13;
    expect_fail(&o, "blk.0.attn_v.weight", "13", "Q5_K");
    o = GOOD;
    o.arch = "phi3";
    expect_fail(&o, "general.architecture", "phi3", "llama");
    o = GOOD;
    o.v_offset = 1 << 20;
    expect_fail(&o, "blk.0.attn_v.weight", "offset", "1049536");
    o = GOOD;
    o.truncate = 100;
    expect_fail(&o, "blk.0.ffn_down.weight", "outside", "data section");
    o = GOOD;
    o.bad_utf8 = 1;
    expect_fail(&o, "tokenizer.ggml.model", "UTF-8", "metadata");
}

static void test_truncated_everywhere(void **state) {
    (void)state;
    /* every prefix of the header fails cleanly (no crash, a message) */
    Buf b;
    build_gguf(&b, &GOOD);
    for (size_t n = 0; n < b.len; n += n < 600 ? 1 : 97) {
        MappedFile mf = {.path = "cut.gguf", .data = b.p, .size = n};
        GgufFile g;
        LlmError err = {{0}};
        int rc = gguf_parse(&mf, &g, &err);
        if (rc == LLM_OK) {
            gguf_free(&g);
            continue; /* only the tail of the data section was cut: placed lazily */
        }
        assert_msg_has(err.msg, "cut.gguf");
    }
    free(b.p);
}

/* Values of transformers' un-permuted blk.0.attn_q.weight (row, col, bits). */
static const struct {
    int r, c;
    uint32_t bits;
} SMOL_Q[] = {
    {0, 0, 0xbdc54000}, {1, 5, 0xbe98d000}, {31, 100, 0x3dca8000}, {32, 7, 0xbd2b4000},
    {63, 575, 0xbd7ae000}, {64, 1, 0x3de6c000}, {300, 300, 0xbd9cc000}, {575, 575, 0xbe830000},
};

static void test_smollm2(void **state) {
    (void)state;
    const char *path = getenv("LLMCC_SMOLLM2_GGUF");
    if (path == NULL || path[0] == '\0') skip();
    LoadedModel m;
    LlmError err = {{0}};
    if (model_load(path, &m, &err) != LLM_OK) fail_msg("%s", err.msg);
    const ModelDesc *d = &m.desc;
    assert_int_equal(d->n_layers, 30);
    assert_int_equal(d->hidden_size, 576);
    assert_int_equal(d->n_heads, 9);
    assert_int_equal(d->n_kv_heads, 3);
    assert_int_equal(d->vocab_size, 49152);
    assert_true(d->rope_theta == 100000.0f);
    assert_true(d->rms_eps == 1e-5f);
    assert_int_equal(d->tie_embeddings, 1);
    const TensorInfo *q = tensor_table_find(&m.tensors, "model.layers.0.self_attn.q_proj.weight");
    assert_non_null(q);
    float *w = malloc(sizeof(float) * 576 * 576);
    assert_int_equal(tensor_read_f32(q, w, &err), LLM_OK);
    for (size_t i = 0; i < sizeof SMOL_Q / sizeof SMOL_Q[0]; i++) {
        uint32_t u;
        memcpy(&u, &w[SMOL_Q[i].r * 576 + SMOL_Q[i].c], 4);
        assert_int_equal(u, SMOL_Q[i].bits);
    }
    free(w);
    loaded_model_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_llama),         cmocka_unit_test(test_metadata_values),
        cmocka_unit_test(test_corrupted),          cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_smollm2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
