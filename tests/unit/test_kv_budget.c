/* test_kv_budget.c - --kv-memory: sizes and fractions that parse, values
 * that do not (each with the message naming the flag and the value), the
 * block count a budget buys, and MemAvailable from /proc/meminfo text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kv/kv_budget.h"

static void expect_in(const char *hay, const char *needle) {
    if (strstr(hay, needle) == NULL) fail_msg("'%s' not found in '%s'", needle, hay);
}

static void expect_bytes(const char *text, size_t bytes) {
    KvBudget b;
    LlmError err = {{0}};
    if (kv_budget_parse("--kv-memory", text, &b, &err) != LLM_OK) fail_msg("%s: %s", text, err.msg);
    assert_int_equal(b.kind, KV_BUDGET_BYTES);
    assert_int_equal(b.bytes, bytes);
}

static void expect_fraction(const char *text, double fraction) {
    KvBudget b;
    LlmError err = {{0}};
    if (kv_budget_parse("--kv-memory", text, &b, &err) != LLM_OK) fail_msg("%s: %s", text, err.msg);
    assert_int_equal(b.kind, KV_BUDGET_FRACTION);
    assert_true(b.fraction == fraction);
}

/* Fails to parse; the message names the flag, the value and why. */
static void expect_bad(const char *text, const char *why) {
    KvBudget b = {.kind = KV_BUDGET_DEFAULT};
    LlmError err = {{0}};
    if (kv_budget_parse("--kv-memory", text, &b, &err) != LLM_ERR) fail_msg("'%s' parsed", text);
    assert_int_equal(b.kind, KV_BUDGET_DEFAULT); /* untouched */
    expect_in(err.msg, "--kv-memory");
    expect_in(err.msg, text);
    expect_in(err.msg, why);
}

static void test_parse_good(void **state) {
    (void)state;
    expect_bytes("512M", (size_t)512 << 20);
    expect_bytes("4GiB", (size_t)4 << 30);
    expect_bytes("2kb", 2048);
    expect_bytes("1t", (size_t)1 << 40);
    expect_bytes("1e9", 1000000000);
    expect_bytes("2.5E3", 2500);
    expect_bytes("1.5G", (size_t)3 << 29);
    expect_bytes("0.5K", 512);
    expect_bytes("1048576", 1048576);
    expect_bytes("1", 1);
    expect_bytes("1.0", 1);
    expect_bytes("18446744073709551615", SIZE_MAX); /* exact: plain digits */
    expect_fraction("0.9", 0.9);
    expect_fraction(".5", 0.5);
    expect_fraction("5e-1", 0.5);
    expect_fraction("0.999", 0.999);
}

static void test_parse_bad(void **state) {
    (void)state;
    const char *size = "expected a size like 512M or 2G";
    expect_bad("", size);
    expect_bad("abc", size);
    expect_bad("12X", "expected a size like 512M or 2G, got '12X'");
    expect_bad("12MX", size);
    expect_bad("-5M", size);
    expect_bad("+5M", size);
    expect_bad(" 5", size);
    expect_bad("5 ", size);
    expect_bad(".", size);
    expect_bad("..5", size);
    expect_bad("1.2.3", size);
    expect_bad("0x10", size);
    expect_bad("inf", size);
    expect_bad("nan", size);
    expect_bad("5e", size);
    expect_bad("e5", size);
    expect_bad("0", "must be more than 0 bytes");
    expect_bad("0K", "must be more than 0 bytes");
    expect_bad("0.0", "must be more than 0 bytes");
    expect_bad("0.0001K", "must be more than 0 bytes"); /* 0.1 byte */
    expect_bad("1.5", "not a whole number of bytes");
    expect_bad("1000.25", "not a whole number of bytes");
    expect_bad("99999999999999999999", "out of range");
    expect_bad("20000000T", "out of range");
    expect_bad("1e400", "out of range");
    expect_bad("1e30", "out of range");
    expect_bad("16777216T", "out of range"); /* 2^64 exactly */
}

static KvCacheShape shape(void) {
    KvCacheShape s = {.n_layers = 2, .n_kv_heads = 1, .head_dim = 4, .block_size = 4,
                      .max_blocks_per_seq = 8, .elem_bytes = 4}; /* 256-byte blocks */
    return s;
}

static void test_blocks(void **state) {
    (void)state;
    KvCacheShape s = shape();
    size_t per = kv_cache_block_bytes(&s);
    assert_int_equal(per, 256);
    LlmError err = {{0}};
    int n = 0;
    KvBudget def = {.kind = KV_BUDGET_DEFAULT};
    assert_int_equal(kv_budget_blocks(&def, &s, 4, 0, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 8);
    KvBudget bytes = {.kind = KV_BUDGET_BYTES, .bytes = per * 5 + 1};
    assert_int_equal(kv_budget_blocks(&bytes, &s, 1, 0, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 5);
    bytes.bytes = per * 100; /* a byte budget is not capped */
    assert_int_equal(kv_budget_blocks(&bytes, &s, 1, 0, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 100);
    bytes.bytes = per - 1;
    assert_int_equal(kv_budget_blocks(&bytes, &s, 1, 0, "--kv-memory", &n, &err), LLM_ERR);
    expect_in(err.msg, "--kv-memory 255: too small for one KV block of 256 bytes");
    KvBudget half = {.kind = KV_BUDGET_FRACTION, .fraction = 0.5};
    assert_int_equal(kv_budget_blocks(&half, &s, 4, per * 10 + 100, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 5);
    assert_int_equal(kv_budget_blocks(&half, &s, 2, per * 1000, "--kv-memory", &n, &err), LLM_OK);
    assert_int_equal(n, 16); /* capped at 2 sequences x 8 blocks */
    assert_int_equal(kv_budget_blocks(&half, &s, 1, 0, "--kv-memory", &n, &err), LLM_ERR);
    expect_in(err.msg, "--kv-memory 0.5: a fraction needs to know the free memory");
    assert_int_equal(kv_budget_blocks(&half, &s, 1, per, "--kv-memory", &n, &err), LLM_ERR);
    expect_in(err.msg, "--kv-memory 0.5: 0.5 of the 0.0 MiB free is 128 bytes, too small for one "
                       "KV block of 256 bytes");
    s.block_size = 0;
    assert_int_equal(kv_budget_blocks(&half, &s, 1, per, "--kv-memory", &n, &err), LLM_ERR);
    expect_in(err.msg, "block size overflows or is zero");
}

static void test_meminfo(void **state) {
    (void)state;
    size_t bytes = 0;
    LlmError err = {{0}};
    const char *good = "MemTotal:       32768 kB\nMemFree:         1024 kB\n"
                       "MemAvailable:   12345 kB\nBuffers:          100 kB\n";
    assert_int_equal(kv_budget_parse_meminfo(good, "meminfo", &bytes, &err), LLM_OK);
    assert_int_equal(bytes, (size_t)12345 * 1024);
    assert_int_equal(kv_budget_parse_meminfo("MemAvailable: 7 kB", "m", &bytes, &err), LLM_OK);
    assert_int_equal(bytes, 7 * 1024);
    assert_int_equal(kv_budget_parse_meminfo("MemTotal: 5 kB\nMemFree: 4 kB\n", "/proc/meminfo",
                                             &bytes, &err), LLM_ERR);
    expect_in(err.msg, "/proc/meminfo: no MemAvailable line");
    assert_int_equal(kv_budget_parse_meminfo("XMemAvailable: 5 kB\n", "m", &bytes, &err), LLM_ERR);
    expect_in(err.msg, "no MemAvailable line");
    assert_int_equal(kv_budget_parse_meminfo("MemAvailable: lots kB\n", "m", &bytes, &err), LLM_ERR);
    expect_in(err.msg, "m: cannot read the MemAvailable line 'MemAvailable: lots kB'");
    assert_int_equal(kv_budget_parse_meminfo("MemAvailable: 5 MB\n", "m", &bytes, &err), LLM_ERR);
    expect_in(err.msg, "cannot read the MemAvailable line");
    assert_int_equal(kv_budget_parse_meminfo("MemAvailable: 99999999999999999999 kB\n", "m", &bytes,
                                             &err), LLM_ERR);
    expect_in(err.msg, "cannot read the MemAvailable line");
    /* this host (Linux) */
    assert_int_equal(kv_budget_host_available(&bytes, &err), LLM_OK);
    assert_true(bytes > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_meminfo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
