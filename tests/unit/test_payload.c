/* test_payload.c - payload_append / payload_open round trip, footer
 * corruption, and payload_weight_hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/payload.h"

/* Creates a temp file holding prefix_len bytes of 0x7f; returns its path. */
static char *make_prefix_file(size_t prefix_len) {
    char *path = strdup("/tmp/llmcc_test_payload_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(prefix_len + 1);
    memset(buf, 0x7f, prefix_len);
    assert_int_equal(write(fd, buf, prefix_len), (ssize_t)prefix_len);
    free(buf);
    close(fd);
    return path;
}

static void round_trip(size_t prefix_len, size_t weights_size) {
    char *path = make_prefix_file(prefix_len);
    uint8_t *w = malloc(weights_size + 1);
    for (size_t i = 0; i < weights_size; i++) w[i] = (uint8_t)(i * 31 + 7);
    const char *tok = "{\"format\":\"hf\"}";
    const char *man = "{\"arch\":\"llama\"}";
    LlmError err = {{0}};
    assert_int_equal(payload_append(path, w, weights_size, tok, strlen(tok), man, strlen(man),
                                     &err), LLM_OK);
    Payload p;
    int rc = payload_open(&p, path, &err);
    if (rc != LLM_OK) fail_msg("%s", err.msg);
    assert_int_equal(p.weights_size, weights_size);
    assert_int_equal(((uintptr_t)p.weights) % PAYLOAD_ALIGN, 0);
    assert_memory_equal(p.weights, w, weights_size);
    assert_int_equal(p.tokenizer_size, strlen(tok));
    assert_memory_equal(p.tokenizer, tok, strlen(tok));
    assert_int_equal(p.manifest_size, strlen(man));
    assert_memory_equal(p.manifest, man, strlen(man));
    /* the executable prefix is untouched */
    for (size_t i = 0; i < prefix_len; i++) assert_int_equal(p.file.data[i], 0x7f);
    payload_close(&p);
    free(w);
    unlink(path);
    free(path);
}

static void test_round_trip(void **state) {
    (void)state;
    round_trip(1000, 123);
    round_trip(4096, 4096);
    round_trip(0, 0);
    round_trip(5000, 1);
}

/* Overwrites 8 bytes at offset from the end of the file. */
static void patch_from_end(const char *path, long from_end, uint64_t value) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, -from_end, SEEK_END), 0);
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(value >> (8 * i));
    assert_int_equal(fwrite(b, 1, 8, f), 8);
    fclose(f);
}

static void expect_open_error(const char *path, const char *needle) {
    Payload p;
    LlmError err = {{0}};
    assert_int_equal(payload_open(&p, path, &err), LLM_ERR);
    if (strstr(err.msg, needle) == NULL) fail_msg("message '%s' lacks '%s'", err.msg, needle);
    assert_non_null(strstr(err.msg, path));
}

static void test_corrupt_footer(void **state) {
    (void)state;
    char *path = make_prefix_file(100);
    const uint8_t w[16] = {1, 2, 3};
    LlmError err = {{0}};
    assert_int_equal(payload_append(path, w, sizeof w, "t", 1, "m", 1, &err), LLM_OK);
    patch_from_end(path, 48 - 16, 1u << 30); /* weights_size far too big */
    expect_open_error(path, "weights 1073741824");
    patch_from_end(path, 48 - 16, 16);
    patch_from_end(path, 48 - 8, 4095); /* misaligned offset */
    expect_open_error(path, "payload_offset 4095");
    patch_from_end(path, 48 - 8, 4096);
    patch_from_end(path, 48, 0x4141414141414141ull); /* bad magic */
    expect_open_error(path, "magic");
    unlink(path);
    free(path);
}

static void test_no_payload(void **state) {
    (void)state;
    char *path = make_prefix_file(10);
    expect_open_error(path, "smaller than the 48-byte footer");
    unlink(path);
    free(path);
    Payload p;
    LlmError err = {{0}};
    assert_int_equal(payload_open(&p, "/nonexistent/llmcc", &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/llmcc"));
    assert_int_equal(payload_append("/nonexistent/dir/x", NULL, 0, "", 0, "", 0, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x"));
}

static void test_weight_hash(void **state) {
    (void)state;
    uint8_t a[20] = {0};
    a[0] = 1;
    a[8] = 1;                                    /* two equal words cancel */
    assert_int_equal(payload_weight_hash(a, 16), 16);
    a[16] = 0xff;                                /* tail word is zero-padded */
    assert_int_equal(payload_weight_hash(a, 17), 0xffu ^ 17u);
    assert_int_not_equal(payload_weight_hash(a, 24 - 4), payload_weight_hash(a, 16));
    assert_int_equal(payload_weight_hash(NULL, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_corrupt_footer),
        cmocka_unit_test(test_no_payload),
        cmocka_unit_test(test_weight_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
