/* lua_host.c - template translation and rendering on an embedded Lua. */
#include "codegen/lua_host.h"

#include <lauxlib.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapped_file.h"

struct LuaHost {
    lua_State *L; /* owns every Lua value */
    char *root;   /* template folder */
};

typedef struct Buf {
    char *data; /* NUL-terminated */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
} Buf;

static void buf_put(Buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap) b->cap = b->cap ? b->cap * 2 : 1024;
        b->data = llm_xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Emits a Lua string literal for text[0..n). */
static void put_literal(Buf *b, const char *s, size_t n) {
    buf_puts(b, "\"");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '"') buf_put(b, "\\", 1);
        if (c == '\r') continue;
        buf_put(b, &c, 1);
    }
    buf_puts(b, "\"");
}

/* End of a $( ... ) expression starting at s[i] == '(' ; n if unbalanced. */
static size_t match_paren(const char *s, size_t i, size_t n) {
    int depth = 0;
    for (; i < n; i++) {
        if (s[i] == '(') depth++;
        if (s[i] == ')' && --depth == 0) return i;
    }
    return n;
}

static void translate_text_line(Buf *b, const char *s, size_t n) {
    buf_puts(b, "_emit(");
    size_t start = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '$' || s[i + 1] != '(') continue;
        size_t end = match_paren(s, i + 1, n);
        if (end == n) break; /* unbalanced: leave as text */
        put_literal(b, s + start, i - start);
        buf_puts(b, ", _str(");
        buf_put(b, s + i + 2, end - i - 2);
        buf_puts(b, "), ");
        start = end + 1;
        i = end;
    }
    put_literal(b, s + start, n - start);
    buf_puts(b, ", \"\\n\") ");
}

char *lua_host_translate(const char *text, size_t len) {
    Buf b = {0};
    buf_puts(&b, "local _parts = {} local function _emit(...) for _, s in ipairs({...}) do "
                 "_parts[#_parts + 1] = s end end ");
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        const char *line = text + pos;
        size_t k = 0;
        while (k < n && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k < n && line[k] == '%') buf_put(&b, line + k + 1, n - k - 1);
        else translate_text_line(&b, line, n);
        buf_puts(&b, "\n");
        pos += n + (nl ? 1 : 0);
    }
    buf_puts(&b, "return table.concat(_parts)\n");
    return b.data;
}

/* _str(v): tostring for strings and integers; nil and floats are errors
 * (floats must arrive pre-formatted so output is exact and stable). */
static int l_str(lua_State *L) {
    if (lua_type(L, 1) == LUA_TSTRING) {
        lua_settop(L, 1);
        return 1;
    }
    if (lua_isinteger(L, 1)) {
        lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, 1));
        return 1;
    }
    if (lua_isboolean(L, 1)) {
        lua_pushstring(L, lua_toboolean(L, 1) ? "1" : "0");
        return 1;
    }
    return luaL_error(L, "template interpolates a %s (only strings and integers)",
                      luaL_typename(L, 1));
}

/* Loads and runs template rel (relative to root) with `args` = value at
 * stack index args_idx; leaves the rendered string on the stack. */
static int render_at(lua_State *L, const char *root, const char *rel, int args_idx) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *text = NULL;
    size_t len = 0;
    LlmError e;
    if (file_read_all(path, &text, &len, &e) != LLM_OK) return luaL_error(L, "%s", e.msg);
    char *code = lua_host_translate(text, len);
    free(text);
    char chunk[600];
    snprintf(chunk, sizeof chunk, "@templates/%s", rel);
    int rc = luaL_loadbuffer(L, code, strlen(code), chunk);
    free(code);
    if (rc != LUA_OK) return lua_error(L);
    lua_newtable(L); /* _ENV: args + fallback to globals */
    lua_pushvalue(L, args_idx);
    lua_setfield(L, -2, "args");
    lua_newtable(L);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setupvalue(L, -2, 1);
    lua_call(L, 0, 1);
    return 1;
}

static int l_include(lua_State *L) {
    const char *rel = luaL_checkstring(L, 1);
    if (lua_isnone(L, 2)) lua_pushnil(L);
    lua_settop(L, 2);
    const char *root = lua_tostring(L, lua_upvalueindex(1));
    return render_at(L, root, rel, 2);
}

LuaHost *lua_host_new(const char *root) {
    LuaHost *h = llm_xcalloc(1, sizeof *h);
    h->L = luaL_newstate();
    if (h->L == NULL) LLM_BUG("cannot create a Lua state");
    luaL_openlibs(h->L);
    h->root = llm_xstrdup(root);
    lua_pushcfunction(h->L, l_str);
    lua_setglobal(h->L, "_str");
    lua_pushstring(h->L, root);
    lua_pushcclosure(h->L, l_include, 1);
    lua_setglobal(h->L, "include");
    return h;
}

void lua_host_free(LuaHost *h) {
    if (h == NULL) return;
    lua_close(h->L);
    free(h->root);
    free(h);
}

lua_State *lua_host_state(LuaHost *h) { return h->L; }

static int render_protected(lua_State *L) {
    const char *root = lua_tostring(L, 1);
    const char *rel = lua_tostring(L, 2);
    lua_pushnil(L); /* args of the top template */
    return render_at(L, root, rel, lua_gettop(L));
}

int lua_host_render(LuaHost *h, const char *rel_path, char **out, size_t *out_len,
                    LlmError *err) {
    lua_State *L = h->L;
    lua_setglobal(L, "spec");
    lua_pushcfunction(L, render_protected);
    lua_pushstring(L, h->root);
    lua_pushstring(L, rel_path);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        int r = llm_errorf(err, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return r;
    }
    size_t n = 0;
    const char *s = lua_tolstring(L, -1, &n);
    if (s == NULL) {
        lua_pop(L, 1);
        return llm_errorf(err, "templates/%s: did not return text", rel_path);
    }
    *out = llm_xmalloc(n + 1);
    memcpy(*out, s, n + 1);
    if (out_len) *out_len = n;
    lua_pop(L, 1);
    return LLM_OK;
}
