/* fuse_qkv.c - one matmul for the q, k and v projections of a layer.
 *
 * Pattern: ATTENTION(ROPE(MATMUL(h, Wq[,bq])), ROPE(MATMUL(h, Wk[,bk])),
 * MATMUL(h, Wv[,bv])), each projection used once, biases all present or all
 * absent. Rewrite: qkv = MATMUL(h, concat(Wq,Wk,Wv)[, concat(b)]) and three
 * SLICE_COLS views that replace the projections. The fused node sits where
 * the q projection was. Numerics are unchanged: each output column is the
 * same dot product as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

typedef struct QkvGroup {
    int q, k, v; /* old node ids of the projections */
} QkvGroup;

static int proj_of(const IrGraph *g, int id, int via_rope) {
    if (via_rope) {
        if (g->nodes[id].op != IR_OP_ROPE) return -1;
        id = g->nodes[id].inputs[0];
    }
    return g->nodes[id].op == IR_OP_MATMUL && ir_count_uses(g, id) == 1 ? id : -1;
}

static int find_group(const IrGraph *g, const IrNode *attn, QkvGroup *grp) {
    grp->q = proj_of(g, attn->inputs[0], 1);
    grp->k = proj_of(g, attn->inputs[1], 1);
    grp->v = proj_of(g, attn->inputs[2], 0);
    if (grp->q < 0 || grp->k < 0 || grp->v < 0) return 0;
    const IrNode *q = &g->nodes[grp->q], *k = &g->nodes[grp->k], *v = &g->nodes[grp->v];
    if (q->inputs[0] != k->inputs[0] || q->inputs[0] != v->inputs[0]) return 0;
    if (q->n_weights != k->n_weights || q->n_weights != v->n_weights) return 0;
    return grp->q < grp->k && grp->q < grp->v;
}

static void emit_fused(IrGraph *g, const IrNode *old, const QkvGroup *grp, int *map, int layer) {
    const IrNode *q = &old[grp->q], *k = &old[grp->k], *v = &old[grp->v];
    char name[IR_NAME_MAX];
    int w[2], nw = 0, parts[3] = {q->weights[0], k->weights[0], v->weights[0]};
    snprintf(name, sizeof name, "model.layers.%d.self_attn.qkv_proj.weight", layer);
    w[nw++] = fuse_concat_weights(g, name, parts, 3);
    if (q->n_weights == 2) {
        int bparts[3] = {q->weights[1], k->weights[1], v->weights[1]};
        snprintf(name, sizeof name, "model.layers.%d.self_attn.qkv_proj.bias", layer);
        w[nw++] = fuse_concat_weights(g, name, bparts, 3);
    }
    snprintf(name, sizeof name, "l%d.attn.qkv", layer);
    int in = map[q->inputs[0]];
    int fused = ir_add_node(g, IR_OP_MATMUL, name, &in, 1, w, nw, q->rows, q->cols + k->cols + v->cols);
    g->nodes[fused].attrs.layer = layer;
    map[grp->q] = fuse_add_view(g, q->name, q, fused, 0, q->cols);
    map[grp->k] = fuse_add_view(g, k->name, k, fused, q->cols, k->cols);
    map[grp->v] = fuse_add_view(g, v->name, v, fused, q->cols + k->cols, v->cols);
}

int pass_fuse_qkv(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    QkvGroup *groups = llm_xcalloc((size_t)n_old, sizeof *groups);
    int *role = llm_xcalloc((size_t)n_old, sizeof *role); /* 1 q (with group), 2 k/v */
    int *layer_of = llm_xcalloc((size_t)n_old, sizeof *layer_of);
    for (int i = 0; i < n_old; i++) {
        QkvGroup grp;
        if (g->nodes[i].op != IR_OP_ATTENTION || !find_group(g, &g->nodes[i], &grp)) continue;
        groups[grp.q] = grp;
        role[grp.q] = 1;
        role[grp.k] = role[grp.v] = 2;
        layer_of[grp.q] = g->nodes[i].attrs.layer;
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        if (role[i] == 1) emit_fused(g, old, &groups[i], map, layer_of[i]);
        else if (role[i] == 0) map[i] = ir_copy_node(g, &old[i], map);
    }
    free(old);
    free(map);
    free(groups);
    free(role);
    free(layer_of);
    ir_compact(g);
    return LLM_OK;
}
