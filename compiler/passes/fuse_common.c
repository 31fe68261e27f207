/* fuse_common.c - concatenated weights and node-list rebuild helpers. */
#include <string.h>

#include "passes/fuse_common.h"

/* Matrices concatenate along rows; vectors (biases) along their length. */
static int64_t part_size(const IrWeight *w) { return w->is_vector ? w->cols : w->rows; }

int fuse_concat_weights(IrGraph *g, const char *name, const int *ids, int n) {
    int64_t total = 0;
    int vec = g->weights[ids[0]].is_vector;
    for (int i = 0; i < n; i++) {
        const IrWeight *w = &g->weights[ids[i]];
        if (w->n_parts != 1 || w->is_vector != vec) LLM_BUG("cannot concatenate %s", w->name);
        if (!vec && w->cols != g->weights[ids[0]].cols) LLM_BUG("column mismatch in %s", w->name);
        total += part_size(w);
    }
    int id = vec ? ir_add_weight(g, name, 1, total, 1)
                 : ir_add_weight(g, name, total, g->weights[ids[0]].cols, 0);
    IrWeight *f = &g->weights[id];
    f->dtype = g->weights[ids[0]].dtype;
    f->n_parts = n;
    for (int i = 0; i < n; i++) {
        memcpy(f->parts[i], g->weights[ids[i]].parts[0], IR_NAME_MAX);
        f->part_rows[i] = part_size(&g->weights[ids[i]]);
    }
    return id;
}

IrNode *fuse_take_nodes(IrGraph *g, int *n_old) {
    IrNode *old = g->nodes;
    *n_old = g->n_nodes;
    g->nodes = NULL;
    g->n_nodes = 0;
    g->cap_nodes = 0;
    return old;
}

int fuse_add_view(IrGraph *g, const char *name, const IrNode *like, int parent, int offset, int cols) {
    int id = ir_add_node(g, IR_OP_SLICE_COLS, name, &parent, 1, NULL, 0, like->rows, cols);
    g->nodes[id].attrs.col_offset = offset;
    g->nodes[id].attrs.layer = like->attrs.layer;
    g->nodes[id].row_stride = g->nodes[parent].row_stride;
    return id;
}
