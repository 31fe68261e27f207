/* verify.c - structural checks run after the frontend and after every pass.
 * A failure here is a compiler bug, but it is reported as an error naming
 * the node, the pass (added by the caller) and the broken rule, so that a
 * user who hits one can file it. */
#include <string.h>

#include "ir/ir.h"

static int check_weight(const IrGraph *g, const IrNode *n, int slot, int64_t rows,
                        int64_t cols, LlmError *err) {
    int wid = n->weights[slot];
    if (wid < 0 || wid >= g->n_weights)
        return llm_errorf(err, "node %s: weight %d out of range", n->name, wid);
    const IrWeight *w = &g->weights[wid];
    if (w->rows != rows || w->cols != cols)
        return llm_errorf(err, "node %s: weight %s is [%lld, %lld], expected [%lld, %lld]",
                          n->name, w->name, (long long)w->rows, (long long)w->cols,
                          (long long)rows, (long long)cols);
    return LLM_OK;
}

static int check_same_shape(const IrNode *n, const IrNode *a, LlmError *err) {
    if (a->rows != n->rows || a->cols != n->cols)
        return llm_errorf(err, "node %s: input %s has shape [%s,%d], output [%s,%d]",
                          n->name, a->name, a->rows ? "L" : "T", a->cols,
                          n->rows ? "L" : "T", n->cols);
    return LLM_OK;
}

static int check_shapes(const IrGraph *g, const IrNode *n, LlmError *err) {
    const IrNode *a = n->n_inputs > 0 ? &g->nodes[n->inputs[0]] : NULL;
    const IrNode *b = n->n_inputs > 1 ? &g->nodes[n->inputs[1]] : NULL;
    const IrAttrs *t = &n->attrs;
    switch (n->op) {
    case IR_OP_EMBED:
        if (n->rows != IR_ROWS_TOKENS) return llm_errorf(err, "node %s: embed rows must be T", n->name);
        return check_weight(g, n, 0, g->desc.vocab_size, n->cols, err);
    case IR_OP_RMSNORM:
        if (check_same_shape(n, a, err)) return LLM_ERR;
        return check_weight(g, n, 0, 1, n->cols, err);
    case IR_OP_MATMUL:
        if (a->rows != n->rows) return llm_errorf(err, "node %s: row kind differs from input", n->name);
        if (check_weight(g, n, 0, n->cols, a->cols, err)) return LLM_ERR;
        return n->n_weights == 2 ? check_weight(g, n, 1, 1, n->cols, err) : LLM_OK;
    case IR_OP_MATMUL_SWIGLU:
        if (a->rows != n->rows) return llm_errorf(err, "node %s: row kind differs from input", n->name);
        return check_weight(g, n, 0, 2 * (int64_t)n->cols, a->cols, err);
    case IR_OP_ADD:
    case IR_OP_SWIGLU:
        if (check_same_shape(n, a, err)) return LLM_ERR;
        return check_same_shape(n, b, err);
    case IR_OP_ROPE:
        if (check_same_shape(n, a, err)) return LLM_ERR;
        if (t->n_heads <= 0 || t->head_dim <= 0 || t->head_dim % 2 || t->n_heads * t->head_dim != n->cols)
            return llm_errorf(err, "node %s: rope heads %d x dim %d != cols %d", n->name,
                              t->n_heads, t->head_dim, n->cols);
        return LLM_OK;
    case IR_OP_ATTENTION: {
        const IrNode *v = &g->nodes[n->inputs[2]];
        if (t->n_kv_heads <= 0 || t->n_heads % t->n_kv_heads || a->cols != t->n_heads * t->head_dim ||
            b->cols != t->n_kv_heads * t->head_dim || v->cols != b->cols || n->cols != a->cols ||
            t->layer < 0 || t->layer >= g->desc.n_layers)
            return llm_errorf(err, "node %s: attention shapes q %d k %d v %d heads %d/%d dim %d layer %d",
                              n->name, a->cols, b->cols, v->cols, t->n_heads, t->n_kv_heads,
                              t->head_dim, t->layer);
        return LLM_OK;
    }
    case IR_OP_SLICE_COLS:
        if (t->col_offset < 0 || t->col_offset + n->cols > a->cols || n->rows != a->rows ||
            n->row_stride != a->row_stride)
            return llm_errorf(err, "node %s: slice [%d, %d) outside %d columns", n->name,
                              t->col_offset, t->col_offset + n->cols, a->cols);
        return LLM_OK;
    case IR_OP_SELECT_ROWS:
        if (a->rows != IR_ROWS_TOKENS || n->rows != IR_ROWS_LOGITS || a->cols != n->cols)
            return llm_errorf(err, "node %s: select_rows must map [T,C] to [L,C]", n->name);
        return LLM_OK;
    case IR_OP_ADD_RMSNORM:
        if (check_same_shape(a, b, err)) return LLM_ERR;
        if (a->rows != n->rows || n->cols != 2 * a->cols)
            return llm_errorf(err, "node %s: add_rmsnorm must map [R,%d] to [R,%d], output [%s,%d]",
                              n->name, a->cols, 2 * a->cols, n->rows ? "L" : "T", n->cols);
        return check_weight(g, n, 0, 1, a->cols, err);
    case IR_OP_NORM_MATMUL:
        if (a->rows != n->rows) return llm_errorf(err, "node %s: row kind differs from input", n->name);
        if (check_weight(g, n, 0, 1, a->cols, err) || check_weight(g, n, 1, n->cols, a->cols, err))
            return LLM_ERR;
        return n->n_weights == 3 ? check_weight(g, n, 2, 1, n->cols, err) : LLM_OK;
    case IR_OP_NORM_MATMUL_SWIGLU:
        if (a->rows != n->rows) return llm_errorf(err, "node %s: row kind differs from input", n->name);
        if (check_weight(g, n, 0, 1, a->cols, err)) return LLM_ERR;
        return check_weight(g, n, 1, 2 * (int64_t)n->cols, a->cols, err);
    case IR_OP_MATMUL_ADD:
        if (a->rows != n->rows) return llm_errorf(err, "node %s: row kind differs from input", n->name);
        if (check_same_shape(n, b, err)) return LLM_ERR;
        if (check_weight(g, n, 0, n->cols, a->cols, err)) return LLM_ERR;
        return n->n_weights == 2 ? check_weight(g, n, 1, 1, n->cols, err) : LLM_OK;
    case IR_OP_COUNT: break;
    }
    return llm_errorf(err, "node %s: unknown op %d", n->name, (int)n->op);
}

static int check_node(const IrGraph *g, int i, LlmError *err) {
    const IrNode *n = &g->nodes[i];
    const IrOpInfo *info = ir_op_info(n->op);
    if (n->n_inputs != info->n_inputs)
        return llm_errorf(err, "node %s: op %s takes %d inputs, has %d", n->name, info->name,
                          info->n_inputs, n->n_inputs);
    if (n->n_weights < info->min_weights || n->n_weights > info->max_weights)
        return llm_errorf(err, "node %s: op %s takes %d..%d weights, has %d", n->name,
                          info->name, info->min_weights, info->max_weights, n->n_weights);
    for (int j = 0; j < n->n_inputs; j++) {
        int x = n->inputs[j];
        if (x < 0 || x >= i)
            return llm_errorf(err, "node %s: input %d (id %d) is not defined before it", n->name, j, x);
        if (g->nodes[x].dead) return llm_errorf(err, "node %s: uses dead node %s", n->name, g->nodes[x].name);
    }
    if (n->cols <= 0) return llm_errorf(err, "node %s: cols %d", n->name, n->cols);
    if (!info->is_view && n->row_stride != n->cols)
        return llm_errorf(err, "node %s: row stride %d != cols %d", n->name, n->row_stride, n->cols);
    return check_shapes(g, n, err);
}

static int check_names_and_output(const IrGraph *g, LlmError *err) {
    int outputs = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const IrNode *n = &g->nodes[i];
        outputs += n->is_output;
        for (int j = 0; j < i; j++)
            if (strcmp(g->nodes[j].name, n->name) == 0)
                return llm_errorf(err, "node %s: name used twice (ids %d and %d)", n->name, j, i);
    }
    if (outputs != 1) return llm_errorf(err, "graph has %d output nodes, expected 1", outputs);
    for (int i = 0; i < g->n_nodes; i++) {
        const IrNode *n = &g->nodes[i];
        if (n->is_output && (n->rows != IR_ROWS_LOGITS || n->cols != g->desc.vocab_size))
            return llm_errorf(err, "output node %s must be [L, %d]", n->name, g->desc.vocab_size);
    }
    return LLM_OK;
}

int ir_verify(const IrGraph *g, LlmError *err) {
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) return llm_errorf(err, "node %s: dead node left in graph", g->nodes[i].name);
        if (check_node(g, i, err)) return LLM_ERR;
    }
    for (int i = 0; i < g->n_weights; i++) {
        const IrWeight *w = &g->weights[i];
        int64_t rows = 0;
        for (int p = 0; p < w->n_parts; p++) rows += w->part_rows[p];
        if (w->n_parts < 1 || w->n_parts > IR_MAX_PARTS || rows != (w->is_vector ? w->cols : w->rows))
            return llm_errorf(err, "weight %s: parts cover %lld rows of %lld", w->name,
                              (long long)rows, (long long)w->rows);
    }
    return check_names_and_output(g, err);
}
