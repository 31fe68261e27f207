/* lua_host.h - the embedded Lua 5.4 that renders templates.
 *
 * Template syntax (every file under templates/): a line whose first non-blank
 * character is '%' is Lua code; every other line is output text in which
 * $(expr) is replaced by tostring(expr) (nil is an error). Translation keeps
 * line numbers, and each template is loaded under the chunk name
 * "templates/<path>", so errors read "templates/kernels/x.c.lua:42: ...".
 * Inside a template: `spec` (the table codegen built), `args` (what the
 * includer passed) and include(path, args) -> rendered string.
 */
#ifndef LLMCC_CODEGEN_LUA_HOST_H
#define LLMCC_CODEGEN_LUA_HOST_H

#include <lua.h>

#include "base/error.h"

typedef struct LuaHost LuaHost;

/* root: folder holding the templates (the repo's templates/). */
LuaHost *lua_host_new(const char *root);
void lua_host_free(LuaHost *h);
lua_State *lua_host_state(LuaHost *h);

/* Translates template text into Lua source (caller frees). Exposed for
 * the unit tests. */
char *lua_host_translate(const char *text, size_t len);

/* Renders rel_path with global `spec` set from the value on top of the Lua
 * stack (popped). *out is malloc'd. */
int lua_host_render(LuaHost *h, const char *rel_path, char **out, size_t *out_len,
                    LlmError *err);

#endif
