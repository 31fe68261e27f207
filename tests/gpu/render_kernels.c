/* render_kernels.c - renders the kernel lab's sources (tests/gpu/README.md).
 *
 * usage: render_kernels REPO_ROOT OUT_DIR
 * Runs tests/gpu/lab.lua inside the compiler's template host (the same
 * `include` and template syntax as codegen), which renders the cpu and
 * cuda template of every lab case with hand-built spec/args tables and
 * writes OUT_DIR/lab_cpu.c, lab_cuda.cu and lab_cases.h. Deterministic:
 * same templates, same output bytes.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#include "codegen/lua_host.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s REPO_ROOT OUT_DIR\n", argv[0]);
        return 2;
    }
    char templates[4096], script[4096];
    snprintf(templates, sizeof templates, "%s/templates", argv[1]);
    snprintf(script, sizeof script, "%s/tests/gpu/lab.lua", argv[1]);
    LuaHost *h = lua_host_new(templates);
    lua_State *L = lua_host_state(h);
    lua_pushstring(L, argv[2]);
    lua_setglobal(L, "LAB_OUT");
    int rc = 0;
    if (luaL_dofile(L, script) != LUA_OK) {
        fprintf(stderr, "render_kernels: %s\n", lua_tostring(L, -1));
        rc = 1;
    }
    lua_host_free(h);
    return rc;
}
