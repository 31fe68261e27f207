/* test_load_safetensors.c - safetensors headers, aliases, shards, and every
 * kind of corrupted file; messages must name file, tensor and value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/safetensors.h"
#include "test_load_common.h"

/* Writes name = u64 header length (or hdr_len_override) + header + data. */
static void write_st(const char *dir, const char *name, const char *hdr, size_t data_len,
                     uint64_t hdr_len_override) {
    Buf b = {0};
    buf_u64(&b, hdr_len_override ? hdr_len_override : strlen(hdr));
    buf_put(&b, hdr, strlen(hdr));
    for (size_t i = 0; i < data_len; i++) {
        uint8_t v = (uint8_t)i;
        buf_put(&b, &v, 1);
    }
    write_file(dir, name, b.p, b.len);
    free(b.p);
}

/* Loads dir; returns rc and cleans up everything. */
static int load_dir(const char *dir, TensorTable *tt, MappedFile **files, int *n,
                    LlmError *err) {
    memset(tt, 0, sizeof *tt);
    *files = NULL;
    *n = 0;
    return safetensors_load_dir(dir, files, n, tt, err);
}

static void free_all(TensorTable *tt, MappedFile *files, int n) {
    tensor_table_free(tt);
    for (int i = 0; i < n; i++) mapped_file_close(&files[i]);
    free(files);
}

static void test_single_with_alias(void **state) {
    (void)state;
    char dir[64];
    tmp_dir(dir);
    write_st(dir, "model.safetensors",
             "{\"__metadata__\":{\"format\":\"pt\",\"emb\":\"head\"},"
             "\"head\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
             "\"n\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[24,32]}}",
             32, 0);
    TensorTable tt;
    MappedFile *files;
    int n;
    LlmError err = {{0}};
    if (load_dir(dir, &tt, &files, &n, &err) != LLM_OK) fail_msg("%s", err.msg);
    assert_int_equal(tt.count, 3);
    const TensorInfo *h = tensor_table_find(&tt, "head"), *e = tensor_table_find(&tt, "emb");
    assert_non_null(e);
    assert_ptr_equal(h->data, e->data);
    assert_int_equal(e->shape[1], 3);
    assert_int_equal(tensor_table_find(&tt, "n")->dtype, DTYPE_BF16);
    assert_null(tensor_table_find(&tt, "format"));
    free_all(&tt, files, n);
    rm_tree(dir);
}

static void test_sharded(void **state) {
    (void)state;
    char dir[64];
    tmp_dir(dir);
    write_st(dir, "a.safetensors",
             "{\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
             "\"stale\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}", 8, 0);
    write_st(dir, "b.safetensors",
             "{\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 0);
    write_text(dir, "model.safetensors.index.json",
               "{\"metadata\":{},\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\","
               "\"stale\":\"b.safetensors\"}}");
    TensorTable tt;
    MappedFile *files;
    int n;
    LlmError err = {{0}};
    /* "stale" is in a.safetensors but the index names b: an error naming it */
    assert_int_equal(load_dir(dir, &tt, &files, &n, &err), LLM_ERR);
    assert_msg_has(err.msg, "b.safetensors", "\"stale\"", "missing");
    free_all(&tt, files, n);
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}");
    if (load_dir(dir, &tt, &files, &n, &err) != LLM_OK) fail_msg("%s", err.msg);
    assert_int_equal(n, 2);
    assert_int_equal(tt.count, 2);
    assert_non_null(strstr(tensor_table_find(&tt, "y")->file, "b.safetensors"));
    free_all(&tt, files, n);
    rm_tree(dir);
}

/* One corrupted file: header, data bytes, header-length override, needles. */
typedef struct BadCase {
    const char *hdr;   /* JSON header text */
    size_t data_len;   /* bytes of data after it */
    uint64_t hdr_len;  /* 0: the real length */
    const char *want[3]; /* substrings of the message */
} BadCase;

static const BadCase BAD[] = {
    {"{}", 0, 1000, {"header length", "1000", "past the end"}},
    {"{\"w\": [1, 2", 0, 0, {"not valid JSON", "header", "model.safetensors"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,4096]}}", 16, 0,
     {"\"w\"", "4096", "outside"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,0]}}", 16, 0,
     {"\"w\"", "[16, 0]", "end < begin"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,16]}}", 16, 0,
     {"\"w\"", "16 bytes", "need 20"}},
    {"{\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, 0,
     {"\"w\"", "\"I8\"", "unsupported dtype"}},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,4]}}", 4, 0,
     {"\"w\"", "[-4]", "shape"}},
    {"[1, 2]", 0, 0, {"model.safetensors", "header", "object"}},
};

static void test_corrupted(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char dir[64];
        tmp_dir(dir);
        write_st(dir, "model.safetensors", BAD[i].hdr, BAD[i].data_len, BAD[i].hdr_len);
        TensorTable tt;
        MappedFile *files;
        int n;
        LlmError err = {{0}};
        assert_int_equal(load_dir(dir, &tt, &files, &n, &err), LLM_ERR);
        assert_msg_has(err.msg, "model.safetensors", BAD[i].want[0], BAD[i].want[1],
                       BAD[i].want[2]);
        free_all(&tt, files, n);
        rm_tree(dir);
    }
}

static void test_truncated_and_missing(void **state) {
    (void)state;
    char dir[64];
    tmp_dir(dir);
    TensorTable tt;
    MappedFile *files;
    int n;
    LlmError err = {{0}};
    assert_int_equal(load_dir(dir, &tt, &files, &n, &err), LLM_ERR);
    assert_msg_has(err.msg, dir, "model.safetensors");
    free_all(&tt, files, n);
    write_file(dir, "model.safetensors", "\x05\x00\x00", 3);
    assert_int_equal(load_dir(dir, &tt, &files, &n, &err), LLM_ERR);
    assert_msg_has(err.msg, "model.safetensors", "truncated", "3 bytes");
    free_all(&tt, files, n);
    rm_tree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_with_alias),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_corrupted),
        cmocka_unit_test(test_truncated_and_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
