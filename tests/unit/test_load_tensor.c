/* test_load_tensor.c - dtype tables, tensor table, and bit-exact decoding.
 *
 * Expected values come from gguf-py's numpy dequantize (gguf/quants.py) on
 * the same pseudo-random blocks (LCG below, f16 scales forced into a normal
 * range), compared as an FNV-1a hash of the float32 bits plus a few values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/tensor.h"
#include "test_load_common.h"

static void lcg_bytes(uint8_t *out, size_t n, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (uint8_t)(s >> 56);
    }
}

static uint64_t fnv_f32(const float *v, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    const uint8_t *p = (const uint8_t *)v;
    for (size_t i = 0; i < 4 * n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* One quantized case: 4 blocks, offsets of f16 scale fields to tame. */
typedef struct QuantCase {
    DType dtype;         /* block type */
    int f16_offsets[2];  /* f16 fields inside a block; -1 unused */
    uint64_t hash;       /* FNV-1a of the gguf-py result */
    uint32_t sample[5];  /* bits at elements 0, 1, 17, 100, last */
} QuantCase;

static const QuantCase CASES[] = {
    {DTYPE_Q8_0, {0, -1}, 0xde110d540fa47ca8ull,
     {0xbcd54800, 0xbd18da00, 0x3da38400, 0xbbcd5000, 0x3c6f8800}},
    {DTYPE_Q4_0, {0, -1}, 0xbf194bd906945f5eull,
     {0xbbaaa000, 0xbb2aa000, 0x3b8e3000, 0x0, 0xbbcdbc00}},
    {DTYPE_Q4_1, {0, 2}, 0x7fcb25ee5b0013a4ull,
     {0x3af72000, 0x3c498400, 0x3bcbf800, 0x3b6bf800, 0x384e0000}},
    {DTYPE_Q4_K, {0, 2}, 0x27082dd600750bdaull,
     {0x3e23ba80, 0x3e8484c0, 0x3e01f580, 0x3e0b5cc0, 0xbd852300}},
    {DTYPE_Q6_K, {208, -1}, 0x94e75146fb6eb503ull,
     {0x3f368c80, 0xbfdc9470, 0x3d93df00, 0xbfda3540, 0xbf6dce20}},
};

static void test_quant_blocks_match_gguf_py(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        const QuantCase *qc = &CASES[c];
        size_t bb = dtype_block_bytes(qc->dtype), be = (size_t)dtype_block_elems(qc->dtype);
        uint8_t *raw = malloc(4 * bb);
        lcg_bytes(raw, 4 * bb, 12345);
        for (size_t k = 0; k < 4; k++)
            for (int j = 0; j < 2; j++)
                if (qc->f16_offsets[j] >= 0) {
                    uint8_t *hi = raw + k * bb + (size_t)qc->f16_offsets[j] + 1;
                    *hi = (uint8_t)((*hi & 0x83) | 0x10);
                }
        TensorInfo t = {.name = "t", .dtype = qc->dtype, .n_dims = 1,
                        .shape = {(int64_t)(4 * be), 1, 1, 1}, .data = raw, .n_bytes = 4 * bb};
        float *y = malloc(sizeof(float) * 4 * be);
        LlmError err = {{0}};
        assert_int_equal(tensor_read_f32(&t, y, &err), LLM_OK);
        size_t idx[5] = {0, 1, 17, 100, 4 * be - 1};
        for (int i = 0; i < 5; i++) assert_int_equal(bits(y[idx[i]]), qc->sample[i]);
        if (fnv_f32(y, 4 * be) != qc->hash) fail_msg("%s: hash differs", dtype_name(qc->dtype));
        free(y);
        free(raw);
    }
}

static void test_f16_bf16_all_values(void **state) {
    (void)state;
    uint8_t *raw = malloc(2 * 65536);
    for (uint32_t i = 0; i < 65536; i++) {
        raw[2 * i] = (uint8_t)i;
        raw[2 * i + 1] = (uint8_t)(i >> 8);
    }
    float *y = malloc(sizeof(float) * 65536);
    TensorInfo t = {.name = "h", .dtype = DTYPE_F16, .n_dims = 1, .shape = {65536, 1, 1, 1},
                    .data = raw, .n_bytes = 2 * 65536};
    LlmError err = {{0}};
    assert_int_equal(tensor_read_f32(&t, y, &err), LLM_OK);
    assert_true(fnv_f32(y, 65536) == 0xb0659868ec053145ull); /* numpy astype(float32) */
    assert_int_equal(bits(y[0x7c01]), 0x7f802000);
    assert_int_equal(bits(y[0x0001]), 0x33800000); /* smallest subnormal: 2^-24 */
    assert_int_equal(bits(y[0x83ff]), 0xb87fc000);
    t.dtype = DTYPE_BF16;
    assert_int_equal(tensor_read_f32(&t, y, &err), LLM_OK);
    assert_true(fnv_f32(y, 65536) == 0x43a13836c4ca3b25ull);
    free(y);
    free(raw);
}

static void test_hand_built_blocks(void **state) {
    (void)state;
    /* Q8_0: d = 0.5 (f16 0x3800), q = -4, 3 -> -2.0, 1.5 */
    uint8_t q8[34] = {0x00, 0x38};
    q8[2] = (uint8_t)(int8_t)-4;
    q8[3] = 3;
    float y[32];
    TensorInfo t = {.name = "q8", .dtype = DTYPE_Q8_0, .n_dims = 1, .shape = {32, 1, 1, 1},
                    .data = q8, .n_bytes = 34};
    assert_int_equal(tensor_read_f32(&t, y, NULL), LLM_OK);
    assert_true(y[0] == -2.0f && y[1] == 1.5f && y[2] == 0.0f);
    /* Q4_1: d = 1, m = -8: low nibble 0x3 -> -5, high nibble 0xf -> 7 */
    uint8_t q41[20] = {0x00, 0x3c, 0x00, 0xc8, 0xf3};
    t.dtype = DTYPE_Q4_1;
    t.data = q41;
    t.n_bytes = 20;
    assert_int_equal(tensor_read_f32(&t, y, NULL), LLM_OK);
    assert_true(y[0] == -5.0f && y[16] == 7.0f && y[1] == -8.0f);
}

static void test_unpermute_rope(void **state) {
    (void)state;
    /* 2 heads of dim 4 (8 rows x 1 col): GGUF row h*4 + i*2 + j holds HF
     * row h*4 + j*2 + i. Values are the GGUF row numbers. */
    float rows[8] = {0, 1, 2, 3, 4, 5, 6, 7}, y[8];
    TensorInfo t = {.name = "q", .dtype = DTYPE_F32, .n_dims = 2, .shape = {8, 1, 1, 1},
                    .data = (const uint8_t *)rows, .n_bytes = 32,
                    .xform = TENSOR_XFORM_UNPERMUTE_ROPE, .xform_heads = 2};
    assert_int_equal(tensor_read_f32(&t, y, NULL), LLM_OK);
    const float want[8] = {0, 2, 1, 3, 4, 6, 5, 7};
    for (int i = 0; i < 8; i++) assert_true(y[i] == want[i]);
    LlmError err = {{0}};
    t.xform_heads = 3;
    t.file = "m.gguf";
    assert_int_equal(tensor_read_f32(&t, y, &err), LLM_ERR);
    assert_msg_has(err.msg, "m.gguf", "\"q\"", "3 heads");
}

static void test_table_and_names(void **state) {
    (void)state;
    assert_string_equal(dtype_name(DTYPE_Q4_K), "Q4_K");
    assert_int_equal(dtype_parse("bf16"), DTYPE_BF16);
    assert_int_equal(dtype_parse("F32"), DTYPE_F32);
    assert_int_equal(dtype_parse("int3"), -1);
    assert_int_equal(dtype_block_elems(DTYPE_Q6_K), 256);
    assert_int_equal((int)dtype_block_bytes(DTYPE_Q6_K), 210);
    int64_t shape[2] = {4, 64};
    assert_int_equal((int)tensor_storage_bytes(DTYPE_Q4_0, shape, 2), 4 * 2 * 18);
    shape[1] = 33;
    assert_int_equal((int)tensor_storage_bytes(DTYPE_Q4_0, shape, 2), 0);
    TensorTable tt = {0};
    const char *names[] = {"b", "a", "d", "c", "e"};
    for (int i = 0; i < 5; i++) tensor_table_add(&tt, names[i])->n_dims = i + 1;
    tensor_table_sort(&tt);
    assert_string_equal(tt.items[0].name, "a");
    assert_int_equal(tensor_table_find(&tt, "d")->n_dims, 3);
    assert_null(tensor_table_find(&tt, "zz"));
    tensor_table_free(&tt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_blocks_match_gguf_py),
        cmocka_unit_test(test_f16_bf16_all_values),
        cmocka_unit_test(test_hand_built_blocks),
        cmocka_unit_test(test_unpermute_rope),
        cmocka_unit_test(test_table_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
