/* test_lua_host.c - template translation, interpolation, include, and
 * errors that name the template file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/lua_host.h"

static char dir[64];

static void put(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/llmcc-lua-XXXXXX");
    if (mkdtemp(dir) == NULL) return -1;
    char sub[128];
    snprintf(sub, sizeof sub, "%s/kernels", dir);
    mkdir(sub, 0755);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *render(const char *name, LlmError *err) {
    LuaHost *h = lua_host_new(dir);
    lua_State *L = lua_host_state(h);
    lua_newtable(L);
    lua_pushinteger(L, 576);
    lua_setfield(L, -2, "hidden");
    lua_pushstring(L, "f32");
    lua_setfield(L, -2, "dtype");
    char *out = NULL;
    int rc = lua_host_render(h, name, &out, NULL, err);
    lua_host_free(h);
    return rc == LLM_OK ? out : NULL;
}

static void test_interpolation_and_code_lines(void **state) {
    (void)state;
    put("a.c.lua", "/* $(spec.dtype) */\n% for i = 1, 2 do\nint x$(i) = $(spec.hidden * i);\n% end\n");
    LlmError err = {{0}};
    char *out = render("a.c.lua", &err);
    assert_non_null(out);
    assert_string_equal(out, "/* f32 */\nint x1 = 576;\nint x2 = 1152;\n");
    free(out);
}

static void test_include_passes_args(void **state) {
    (void)state;
    put("kernels/k.c.lua", "k($(args.n))\n");
    put("b.c.lua", "$(include(\"kernels/k.c.lua\", {n = 7}))x\n");
    LlmError err = {{0}};
    char *out = render("b.c.lua", &err);
    assert_non_null(out);
    assert_string_equal(out, "k(7)\nx\n");
    free(out);
}

static void test_error_names_template_and_line(void **state) {
    (void)state;
    put("kernels/bad.c.lua", "line one\nline two\n% local x = nil + 1\n");
    put("c.c.lua", "$(include(\"kernels/bad.c.lua\"))\n");
    LlmError err = {{0}};
    assert_null(render("c.c.lua", &err));
    if (strstr(err.msg, "templates/kernels/bad.c.lua:3:") == NULL) fail_msg("got: %s", err.msg);
}

static void test_nil_interpolation_is_an_error(void **state) {
    (void)state;
    put("d.c.lua", "ok\nvalue $(spec.missing)\n");
    LlmError err = {{0}};
    assert_null(render("d.c.lua", &err));
    assert_non_null(strstr(err.msg, "templates/d.c.lua:2:"));
    assert_non_null(strstr(err.msg, "nil"));
}

static void test_missing_template(void **state) {
    (void)state;
    LlmError err = {{0}};
    assert_null(render("nope.c.lua", &err));
    assert_non_null(strstr(err.msg, "nope.c.lua"));
}

static void test_translate_keeps_lines(void **state) {
    (void)state;
    const char *t = "a\n% x = 1\nb $(x)\n";
    char *code = lua_host_translate(t, strlen(t));
    int lines = 0;
    for (char *p = code; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 4); /* 3 template lines + the return line */
    free(code);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interpolation_and_code_lines),
        cmocka_unit_test(test_include_passes_args),
        cmocka_unit_test(test_error_names_template_and_line),
        cmocka_unit_test(test_nil_interpolation_is_an_error),
        cmocka_unit_test(test_missing_template),
        cmocka_unit_test(test_translate_keeps_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
