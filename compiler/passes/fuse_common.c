/* fuse_common.c - concatenated weights and node-list rebuild helpers. */
#include <string.h>

#include "passes/fuse_common.h"

int fuse_concat_weights(IrGraph *g, const char *name, const int *ids, int n) {
    int64_t rows = 0;
    for (int i = 0; i < n; i++) {
        const IrWeight *w = &g->weights[ids[i]];
        if (w->n_parts != 1 || w->cols != g->weights[ids[0]].cols) return -1;
        rows += w->rows;
    }
    int id = ir_add_weight(g, name, rows, g->weights[ids[0]].cols, g->weights[ids[0]].is_vector);
    IrWeight *f = &g->weights[id];
    f->dtype = g->weights[ids[0]].dtype;
    f->n_parts = n;
    for (int i = 0; i < n; i++) {
        memcpy(f->parts[i], g->weights[ids[i]].parts[0], IR_NAME_MAX);
        f->part_rows[i] = g->weights[ids[i]].rows;
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
