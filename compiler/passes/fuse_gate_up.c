/* fuse_gate_up.c - gate and up projections as one matmul with a SwiGLU
 * epilogue.
 *
 * Pattern: SWIGLU(MATMUL(h, Wg), MATMUL(h, Wu)), both without bias and used
 * once. Rewrite: MATMUL_SWIGLU(h, concat(Wg, Wu)) at the SWIGLU's place. The
 * [T, I] gate and up activations are never stored; each output element is
 * silu(dot(h, Wg[n])) * dot(h, Wu[n]) exactly as before. */
#include <stdio.h>
#include <stdlib.h>

#include "passes/fuse_common.h"
#include "passes/pass.h"

static int is_plain_proj(const IrGraph *g, int id) {
    const IrNode *n = &g->nodes[id];
    return n->op == IR_OP_MATMUL && n->n_weights == 1 && ir_count_uses(g, id) == 1;
}

static int fusible(const IrGraph *g, const IrNode *act) {
    int a = act->inputs[0], b = act->inputs[1];
    return act->op == IR_OP_SWIGLU && act->attrs.layer >= 0 && a != b && is_plain_proj(g, a) && is_plain_proj(g, b) &&
           g->nodes[a].inputs[0] == g->nodes[b].inputs[0];
}

static void emit_fused(IrGraph *g, const IrNode *old, int act_id, int *map) {
    const IrNode *act = &old[act_id];
    const IrNode *gate = &old[act->inputs[0]], *up = &old[act->inputs[1]];
    int layer = gate->attrs.layer >= 0 ? gate->attrs.layer : act->attrs.layer;
    char name[IR_NAME_MAX];
    int parts[2] = {gate->weights[0], up->weights[0]};
    snprintf(name, sizeof name, "model.layers.%d.mlp.gate_up_proj.weight", layer);
    int w = fuse_concat_weights(g, name, parts, 2);
    int in = map[gate->inputs[0]];
    map[act_id] = ir_add_node(g, IR_OP_MATMUL_SWIGLU, act->name, &in, 1, &w, 1, act->rows, act->cols);
    g->nodes[map[act_id]].attrs.layer = layer;
}

int pass_fuse_gate_up(IrGraph *g, const PassOptions *opt, LlmError *err) {
    (void)opt;
    (void)err;
    int n_old = g->n_nodes;
    int *role = llm_xcalloc((size_t)n_old, sizeof *role); /* 1 fused act, 2 absorbed */
    for (int i = 0; i < n_old; i++) {
        if (!fusible(g, &g->nodes[i])) continue;
        role[i] = 1;
        role[g->nodes[i].inputs[0]] = role[g->nodes[i].inputs[1]] = 2;
    }
    IrNode *old = fuse_take_nodes(g, &n_old);
    int *map = llm_xcalloc((size_t)n_old, sizeof *map);
    for (int i = 0; i < n_old; i++) {
        map[i] = -1;
        if (role[i] == 1) emit_fused(g, old, i, map);
        else if (role[i] == 0) map[i] = ir_copy_node(g, &old[i], map);
    }
    free(old);
    free(map);
    free(role);
    ir_compact(g);
    return LLM_OK;
}
