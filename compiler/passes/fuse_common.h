/* fuse_common.h - helpers shared by the fusion passes: concatenated
 * weights and the node-list rebuild with an id map. */
#ifndef LLMCC_PASSES_FUSE_COMMON_H
#define LLMCC_PASSES_FUSE_COMMON_H

#include "ir/ir.h"

/* Adds a weight that concatenates weights ids[0..n-1] (each a single stored
 * tensor): matrices along rows, vectors along their length. Returns its id. */
int fuse_concat_weights(IrGraph *g, const char *name, const int *ids, int n);

/* Appends a SLICE_COLS view named name: columns offset..offset+cols-1 of
 * parent, rows and layer as in like, the parent's row stride. */
int fuse_add_view(IrGraph *g, const char *name, const IrNode *like, int parent, int offset, int cols);

/* Takes the node list out of g so a pass can rebuild it; returns the old
 * array (caller frees) and sets *n_old. map must hold n_old ints. */
IrNode *fuse_take_nodes(IrGraph *g, int *n_old);

#endif
