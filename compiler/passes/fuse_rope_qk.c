/* fuse_rope_qk.c - one ROPE over q and k of a layer.
 *
 * Pattern (after fuse_qkv): ATTENTION(ROPE(q), ROPE(k), v) where q and k are
 * SLICE_COLS views of the same value, k's columns right after q's, both ropes
 * with the same head_dim and used only by that attention. Rewrite, at the
 * first rope's place: qk = SLICE_COLS(parent, q.offset, q.cols + k.cols),
 * r = ROPE(qk) with heads = nh + nkv, and the old ropes become views
 * SLICE_COLS(r, 0, q.cols) and SLICE_COLS(r, q.cols, k.cols). Numerics are
 * unchanged: RoPE is per head and every head gets the same angles from the
 * token's position, so each output element is the same float expression of
 * the same inputs as before; only the launch count drops. */
#include <stdio.h>
#include <stdlib.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

/* 1 if ATTENTION node attn reads two ropes of adjacent views of one value. */
static int fusible(const IrGraph *g, const IrNode *attn) {
    if (attn->op != IR_OP_ATTENTION) return 0;
    int rq = attn->inputs[0], rk = attn->inputs[1];
    const IrNode *q = &g->nodes[rq], *k = &g->nodes[rk];
    if (rq == rk || q->op != IR_OP_ROPE || k->op != IR_OP_ROPE) return 0;
    if (ir_count_uses(g, rq) != 1 || ir_count_uses(g, rk) != 1) return 0;
    if (q->attrs.head_dim != k->attrs.head_dim || q->rows != k->rows) return 0;
    const IrNode *qv = &g->nodes[q->inputs[0]], *kv = &g->nodes[k->inputs[0]];
    return qv->op == IR_OP_SLICE_COLS && kv->op == IR_OP_SLICE_COLS &&
           qv->inputs[0] == kv->inputs[0] && kv->attrs.col_offset == qv->attrs.col_offset + qv->cols;
}

static void emit_fused(IrGraph *g, const IrNode *old, int rq, int rk, int *map) {
    const IrNode *q = &old[rq], *k = &old[rk], *qv = &old[q->inputs[0]];
    char name[IR_NAME_MAX];
    int layer = q->attrs.layer;
    if (layer >= 0) snprintf(name, sizeof name, "l%d.attn.qk", layer);
    else snprintf(name, sizeof name, "%.80s.qk", q->name);
    int view = fuse_add_view(g, name, qv, map[qv->inputs[0]], qv->attrs.col_offset, q->cols + k->cols);
    if (layer >= 0) snprintf(name, sizeof name, "l%d.attn.qk_rope", layer);
    else snprintf(name, sizeof name, "%.80s.qk_rope", q->name);
    int r = ir_add_node(g, IR_OP_ROPE, name, &view, 1, NULL, 0, q->rows, q->cols + k->cols);
    g->nodes[r].attrs = q->attrs;
    g->nodes[r].attrs.n_heads = q->attrs.n_heads + k->attrs.n_heads;
    map[rq] = fuse_add_view(g, q->name, q, r, 0, q->cols);
    map[rk] = fuse_add_view(g, k->name, k, r, q->cols, k->cols);
}

int pass_fuse_rope_qk(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    int *attn_of = llm_xcalloc((size_t)n_old, sizeof *attn_of); /* first rope -> attention + 1 */
    int *absorbed = llm_xcalloc((size_t)n_old, sizeof *absorbed);
    for (int i = 0; i < n_old; i++) {
        if (!fusible(g, &g->nodes[i])) continue;
        int rq = g->nodes[i].inputs[0], rk = g->nodes[i].inputs[1];
        int first = rq < rk ? rq : rk;
        attn_of[first] = i + 1;
        absorbed[rq == first ? rk : rq] = 1;
        for (int j = 0; j < 2; j++) {
            int v = g->nodes[g->nodes[i].inputs[j]].inputs[0];
            if (ir_count_uses(g, v) == 1) absorbed[v] = 1;
        }
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        const IrNode *attn = attn_of[i] ? &old[attn_of[i] - 1] : NULL;
        if (attn) emit_fused(g, old, attn->inputs[0], attn->inputs[1], map);
        else if (!absorbed[i]) map[i] = ir_copy_node(g, &old[i], map);
    }
    free(old);
    free(map);
    free(attn_of);
    free(absorbed);
    ir_compact(g);
    return LLM_OK;
}
