/* print.c - stable text dump of a graph, one line per weight and node.
 * The format is what golden snapshots compare; change it deliberately. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef struct StrBuf {
    char *data; /* NUL-terminated */
    size_t len; /* bytes before the NUL */
    size_t cap; /* allocated bytes */
} StrBuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(StrBuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (sb->len + (size_t)n + 1 > sb->cap) {
        while (sb->len + (size_t)n + 1 > sb->cap) sb->cap = sb->cap ? sb->cap * 2 : 4096;
        sb->data = llm_xrealloc(sb->data, sb->cap);
    }
    va_start(ap, fmt);
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

static void print_weight(StrBuf *sb, const IrWeight *w, int id) {
    sb_printf(sb, "w%d %s %s [%lld, %lld]", id, w->name, dtype_name(w->dtype),
              (long long)w->rows, (long long)w->cols);
    if (w->n_parts > 1) {
        sb_printf(sb, " = concat(");
        for (int p = 0; p < w->n_parts; p++) sb_printf(sb, "%s%s", p ? ", " : "", w->parts[p]);
        sb_printf(sb, ")");
    }
    if (w->offset >= 0) sb_printf(sb, " @%lld", (long long)w->offset);
    sb_printf(sb, "\n");
}

static void print_attrs(StrBuf *sb, const IrNode *n) {
    const IrAttrs *a = &n->attrs;
    switch (n->op) {
    case IR_OP_RMSNORM:
    case IR_OP_ADD_RMSNORM:
    case IR_OP_NORM_MATMUL:
    case IR_OP_NORM_MATMUL_SWIGLU: sb_printf(sb, " eps=%.9g", (double)a->eps); break;
    case IR_OP_ROPE: sb_printf(sb, " heads=%d dim=%d", a->n_heads, a->head_dim); break;
    case IR_OP_ATTENTION:
        sb_printf(sb, " layer=%d heads=%d kv_heads=%d dim=%d", a->layer, a->n_heads,
                  a->n_kv_heads, a->head_dim);
        break;
    case IR_OP_SLICE_COLS: sb_printf(sb, " offset=%d stride=%d", a->col_offset, n->row_stride); break;
    default: break;
    }
}

static void print_node(StrBuf *sb, const IrGraph *g, const IrNode *n, int id) {
    sb_printf(sb, "%%%d %s = %s(", id, n->name, ir_op_info(n->op)->name);
    for (int j = 0; j < n->n_inputs; j++) sb_printf(sb, "%s%%%d", j ? ", " : "", n->inputs[j]);
    for (int j = 0; j < n->n_weights; j++)
        sb_printf(sb, "%sw%d", (j || n->n_inputs) ? ", " : "", n->weights[j]);
    sb_printf(sb, ") [%s, %d]", n->rows == IR_ROWS_TOKENS ? "T" : "L", n->cols);
    print_attrs(sb, n);
    if (n->is_output) sb_printf(sb, " -> logits");
    else if (n->arena_offset >= 0) sb_printf(sb, " @%lld", (long long)n->arena_offset);
    if (n->scratch_offset >= 0) sb_printf(sb, " scratch@%lld", (long long)n->scratch_offset);
    sb_printf(sb, "\n");
    (void)g;
}

char *ir_print(const IrGraph *g) {
    StrBuf sb = {0};
    const ModelDesc *d = &g->desc;
    sb_printf(&sb, "graph %s: vocab=%d hidden=%d layers=%d heads=%d kv_heads=%d head_dim=%d "
              "max_tokens=%d block_size=%d\n", d->arch, d->vocab_size, d->hidden_size,
              d->n_layers, d->n_heads, d->n_kv_heads, d->head_dim, g->max_tokens, g->block_size);
    for (int i = 0; i < g->n_weights; i++) print_weight(&sb, &g->weights[i], i);
    for (int i = 0; i < g->n_nodes; i++) print_node(&sb, g, &g->nodes[i], i);
    if (g->arena_bytes > 0) sb_printf(&sb, "arena %lld bytes\n", (long long)g->arena_bytes);
    if (sb.data == NULL) sb_printf(&sb, "%s", "");
    return sb.data;
}
