/* ops.c - the op table: arity, weights and view-ness of each IrOp. */
#include <assert.h>

#include "ir/ir.h"

static const IrOpInfo OP_TABLE[] = {
    [IR_OP_EMBED] = {"embed", 0, 1, 1, 0},
    [IR_OP_RMSNORM] = {"rmsnorm", 1, 1, 1, 0},
    [IR_OP_MATMUL] = {"matmul", 1, 1, 2, 0},
    [IR_OP_MATMUL_SWIGLU] = {"matmul_swiglu", 1, 1, 1, 0},
    [IR_OP_ADD] = {"add", 2, 0, 0, 0},
    [IR_OP_SWIGLU] = {"swiglu", 2, 0, 0, 0},
    [IR_OP_ROPE] = {"rope", 1, 0, 0, 0},
    [IR_OP_ATTENTION] = {"attention", 3, 0, 0, 0},
    [IR_OP_SLICE_COLS] = {"slice_cols", 1, 0, 0, 1},
    [IR_OP_SELECT_ROWS] = {"select_rows", 1, 0, 0, 0},
    [IR_OP_ADD_RMSNORM] = {"add_rmsnorm", 2, 1, 1, 0},
    [IR_OP_NORM_MATMUL] = {"norm_matmul", 1, 2, 3, 0},
    [IR_OP_NORM_MATMUL_SWIGLU] = {"norm_matmul_swiglu", 1, 2, 2, 0},
    [IR_OP_MATMUL_ADD] = {"matmul_add", 2, 1, 2, 0},
};

static_assert(sizeof OP_TABLE / sizeof OP_TABLE[0] == IR_OP_COUNT,
              "OP_TABLE must have one entry per IrOp");

const IrOpInfo *ir_op_info(IrOp op) {
    if ((unsigned)op >= IR_OP_COUNT) LLM_BUG("bad op %d", (int)op);
    return &OP_TABLE[op];
}
