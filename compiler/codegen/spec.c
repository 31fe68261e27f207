/* spec.c - IrGraph -> Lua spec tables (see spec.h for the shape). */
#include "codegen/spec.h"

#include "codegen/pack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dtype_lower(DType t) {
    switch (t) {
    case DTYPE_F32: return "f32";
    case DTYPE_F16: return "f16";
    case DTYPE_BF16: return "bf16";
    default: LLM_BUG("dtype %d cannot be packed", (int)t);
    }
}

void spec_float_literal(float f, char *buf, size_t cap) {
    if (!isfinite(f)) LLM_BUG("non-finite constant");
    snprintf(buf, cap, "%.9gf", (double)f);
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        size_t n = strlen(buf);
        snprintf(buf + n - 1, cap - (n - 1), ".0f");
    }
}

static void set_str(lua_State *L, const char *k, const char *v) {
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, int64_t v) {
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, k);
}

/* Resolves views: pointer expression and row stride of node id's data. */
static void value_ptr(const IrGraph *g, int id, char *buf, size_t cap, int *stride) {
    int off = 0;
    while (ir_op_info(g->nodes[id].op)->is_view) {
        off += g->nodes[id].attrs.col_offset;
        id = g->nodes[id].inputs[0];
    }
    *stride = g->nodes[id].row_stride;
    if (g->nodes[id].is_output) snprintf(buf, cap, "(out_logits + %d)", off);
    else snprintf(buf, cap, "((float *)(A + %lld) + %d)", (long long)g->nodes[id].arena_offset, off);
}

static void push_inputs(lua_State *L, const IrGraph *g, const IrNode *n, char *key, size_t cap) {
    lua_createtable(L, n->n_inputs, 0);
    for (int j = 0; j < n->n_inputs; j++) {
        char ptr[128];
        int stride = 0;
        value_ptr(g, n->inputs[j], ptr, sizeof ptr, &stride);
        lua_createtable(L, 0, 3);
        set_str(L, "ptr", ptr);
        set_int(L, "cols", g->nodes[n->inputs[j]].cols);
        set_int(L, "stride", stride);
        lua_rawseti(L, -2, j + 1);
        size_t len = strlen(key);
        snprintf(key + len, cap - len, "_i%ds%d", g->nodes[n->inputs[j]].cols, stride);
    }
    lua_setfield(L, -2, "ins");
}

static void push_weights(lua_State *L, const IrGraph *g, const IrNode *n, char *key, size_t cap) {
    lua_createtable(L, n->n_weights, 0);
    for (int j = 0; j < n->n_weights; j++) {
        const IrWeight *w = &g->weights[n->weights[j]];
        char ptr[64];
        snprintf(ptr, sizeof ptr, "(W + %lld)", (long long)w->offset);
        lua_createtable(L, 0, 5);
        set_str(L, "ptr", ptr);
        set_str(L, "dtype", dtype_lower(w->dtype));
        set_str(L, "name", w->name);
        set_int(L, "rows", w->rows);
        set_int(L, "cols", w->cols);
        lua_rawseti(L, -2, j + 1);
        size_t len = strlen(key);
        snprintf(key + len, cap - len, "_w%s_%lldx%lld", dtype_lower(w->dtype),
                 (long long)w->rows, (long long)w->cols);
    }
    lua_setfield(L, -2, "w");
}

static void push_attrs(lua_State *L, const IrNode *n, char *key, size_t cap) {
    const IrAttrs *a = &n->attrs;
    char eps[32];
    spec_float_literal(a->eps, eps, sizeof eps);
    set_str(L, "eps", eps);
    set_int(L, "heads", a->n_heads);
    set_int(L, "kv_heads", a->n_kv_heads);
    set_int(L, "head_dim", a->head_dim);
    set_int(L, "layer", a->layer);
    size_t len = strlen(key);
    if (n->op == IR_OP_RMSNORM || n->op == IR_OP_ADD_RMSNORM || n->op == IR_OP_NORM_MATMUL ||
        n->op == IR_OP_NORM_MATMUL_SWIGLU)
        snprintf(key + len, cap - len, "_e%.9g", (double)a->eps);
    else if (n->op == IR_OP_ROPE || n->op == IR_OP_ATTENTION)
        snprintf(key + len, cap - len, "_h%d_%d_%d", a->n_heads, a->n_kv_heads, a->head_dim);
}

/* Turns the key into a C identifier. */
static void sanitize(char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            *s = '_';
}

/* The matrix weight of a projection node (norm ops carry the gain first). */
static const IrWeight *proj_matrix(const IrGraph *g, const IrNode *n) {
    const int norm = n->op == IR_OP_NORM_MATMUL || n->op == IR_OP_NORM_MATMUL_SWIGLU;
    return n->n_weights > norm ? &g->weights[n->weights[norm]] : NULL;
}

/* bf16 hand-off (cuda target, --gemm-input single): when a step has many
 * tokens, a SwiGLU projection with bf16 weights writes its output as bf16
 * rows (stride = its columns) straight into the x of the one projection
 * that reads it (matmul / matmul_add, bf16 weights), which then skips its
 * own float32 -> bf16 pass: the same rounding, one pass and half the bytes
 * fewer. Returns the consumer's node id, or -1 where the hand-off does not
 * apply (any other target or mode, a second reader, a view, the logits). */
static int bf16_handoff(const IrGraph *g, const SpecProgram *p, int id) {
    const IrNode *n = &g->nodes[id];
    if (p == NULL || p->target == NULL || strcmp(p->target, "cuda") != 0 || p->gemm_input == NULL ||
        strcmp(p->gemm_input, "single") != 0)
        return -1;
    if ((n->op != IR_OP_MATMUL_SWIGLU && n->op != IR_OP_NORM_MATMUL_SWIGLU) || n->is_output ||
        n->row_stride != n->cols)
        return -1;
    const IrWeight *w = proj_matrix(g, n);
    if (w == NULL || w->dtype != DTYPE_BF16) return -1;
    int consumer = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        const IrNode *m = &g->nodes[i];
        if (m->dead) continue;
        for (int j = 0; j < m->n_inputs; j++) {
            if (m->inputs[j] != id) continue;
            if (consumer >= 0 || j != 0 || (m->op != IR_OP_MATMUL && m->op != IR_OP_MATMUL_ADD)) return -1;
            consumer = i;
        }
    }
    if (consumer < 0) return -1;
    const IrWeight *cw = proj_matrix(g, &g->nodes[consumer]);
    if (cw == NULL || cw->dtype != DTYPE_BF16 || cw->cols != n->cols) return -1;
    return consumer;
}

/* 1 when node id's x (input 0) arrives as bf16 rows from a hand-off. */
static int bf16_handoff_in(const IrGraph *g, const SpecProgram *p, int id) {
    const IrNode *n = &g->nodes[id];
    return n->n_inputs > 0 && bf16_handoff(g, p, n->inputs[0]) == id;
}

static void push_node(lua_State *L, const IrGraph *g, const SpecProgram *p, int id, char *key, size_t cap) {
    const IrNode *n = &g->nodes[id];
    char out[128];
    int stride = 0;
    value_ptr(g, id, out, sizeof out, &stride);
    lua_createtable(L, 0, 16);
    set_int(L, "id", id);
    set_str(L, "name", n->name);
    set_str(L, "op", ir_op_info(n->op)->name);
    set_str(L, "rows", n->rows == IR_ROWS_TOKENS ? "T" : "L");
    set_int(L, "cols", n->cols);
    set_str(L, "out", out);
    set_int(L, "out_stride", stride);
    char scratch[64] = "NULL";
    if (n->scratch_offset >= 0) snprintf(scratch, sizeof scratch, "((void *)(A + %lld))", (long long)n->scratch_offset);
    set_str(L, "scratch", scratch);
    snprintf(key, cap, "k_%s_%s%d_s%d", ir_op_info(n->op)->name, n->rows == IR_ROWS_TOKENS ? "T" : "L",
             n->cols, stride);
    push_inputs(L, g, n, key, cap);
    push_weights(L, g, n, key, cap);
    push_attrs(L, n, key, cap);
    const int hb = bf16_handoff(g, p, id) >= 0, xb = bf16_handoff_in(g, p, id);
    lua_pushboolean(L, hb);
    lua_setfield(L, -2, "y_bf16");
    lua_pushboolean(L, xb);
    lua_setfield(L, -2, "x_bf16");
    if (hb || xb) {
        size_t len = strlen(key);
        snprintf(key + len, cap - len, "%s%s", hb ? "_yb" : "", xb ? "_xb" : "");
    }
    sanitize(key);
    set_str(L, "kernel", key);
}

/* C string literal for s, one source line per text line; bytes outside
 * printable ASCII become three-digit octal escapes. */
static char *c_string_literal(const char *s) {
    size_t cap = strlen(s) * 4 + 16, len = 0;
    char *out = llm_xmalloc(cap);
    out[len++] = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '\n') {
            memcpy(out + len, "\\n\"\n    \"", 9);
            len += 9;
        } else if (*c == '"' || *c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)*c;
        } else if (*c < 0x20 || *c >= 0x7f) {
            len += (size_t)snprintf(out + len, cap - len, "\\%03o", *c);
        } else {
            out[len++] = (char)*c;
        }
        if (len + 16 > cap) out = llm_xrealloc(out, cap *= 2);
    }
    out[len++] = '"';
    out[len] = '\0';
    return out;
}

static void push_program(lua_State *L, const IrGraph *g, const SpecProgram *p) {
    const ModelDesc *d = &g->desc;
    lua_createtable(L, 0, 24);
    set_str(L, "target", p->target);
    set_str(L, "arch", p->arch);
    set_int(L, "pdl", p->pdl);
    set_str(L, "kv_dtype", p->kv_dtype ? p->kv_dtype : "f32");
    set_str(L, "gemm_input", p->gemm_input ? p->gemm_input : "split");
    set_int(L, "kv_elem_bytes", p->kv_dtype && strcmp(p->kv_dtype, "bf16") == 0 ? 2 : 4);
    set_str(L, "name", p->name);
    set_str(L, "arch_name", d->arch);
    set_int(L, "vocab", d->vocab_size);
    set_int(L, "hidden", d->hidden_size);
    set_int(L, "layers", d->n_layers);
    set_int(L, "heads", d->n_heads);
    set_int(L, "kv_heads", d->n_kv_heads);
    set_int(L, "head_dim", d->head_dim);
    set_int(L, "max_context", p->max_context);
    set_int(L, "max_tokens", g->max_tokens);
    set_int(L, "block_size", g->block_size);
    set_int(L, "max_blocks_per_seq", (p->max_context + g->block_size - 1) / g->block_size);
    set_int(L, "arena_bytes", g->arena_bytes);
    set_int(L, "weight_bytes", p->weight_bytes);
    set_int(L, "decode_bytes", pack_decode_bytes(g));
    char hash[32];
    snprintf(hash, sizeof hash, "0x%016llxULL", (unsigned long long)p->weight_hash);
    set_str(L, "weight_hash", hash);
    char *lit = c_string_literal(p->manifest_json);
    lua_pushstring(L, lit);
    lua_setfield(L, -2, "manifest_c");
    free(lit);
    lua_setfield(L, -2, "program");
}

static void push_rope(lua_State *L, const IrGraph *g) {
    int half = g->rope.head_dim / 2;
    lua_createtable(L, 0, 2);
    set_int(L, "half", half);
    lua_createtable(L, half, 0);
    for (int i = 0; i < half; i++) {
        char lit[48];
        spec_float_literal(g->rope.inv_freq[i], lit, sizeof lit);
        lua_pushstring(L, lit);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "inv_freq");
    lua_setfield(L, -2, "rope");
}

void spec_push(lua_State *L, const IrGraph *g, const SpecProgram *p) {
    lua_createtable(L, 0, 4);
    push_program(L, g, p);
    push_rope(L, g);
    lua_newtable(L); /* nodes */
    lua_newtable(L); /* kernels */
    lua_newtable(L); /* seen kernel names */
    int n_nodes = 0, n_kernels = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (ir_op_info(g->nodes[i].op)->is_view) continue;
        char key[512];
        push_node(L, g, p, i, key, sizeof key);
        lua_getfield(L, -2, key);
        int seen = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (!seen) {
            lua_pushboolean(L, 1);
            lua_setfield(L, -3, key);
            lua_createtable(L, 0, 3);
            set_str(L, "name", key);
            set_str(L, "op", ir_op_info(g->nodes[i].op)->name);
            lua_pushvalue(L, -2);
            lua_setfield(L, -2, "node");
            lua_rawseti(L, -4, ++n_kernels);
        }
        lua_rawseti(L, -4, ++n_nodes);
    }
    lua_pop(L, 1);
    lua_setfield(L, -3, "kernels");
    lua_setfield(L, -2, "nodes");
}
