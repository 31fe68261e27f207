/* ir.h - the graph of one forward step over a batch of tokens.
 *
 * A graph is a list of nodes in execution order (every input precedes its
 * user). Each node produces one float32 activation of shape [rows, cols]
 * where rows is symbolic: IR_ROWS_TOKENS (T, the tokens of the step, at most
 * max_tokens) or IR_ROWS_LOGITS (L, the rows whose logits are wanted, L <= T).
 * cols is a compile-time constant. A view node (IR_OP_SLICE_COLS) owns no
 * memory: it is a column window of its input with the input's row stride.
 * Weights live in a separate table; a weight may be the row-wise
 * concatenation of several stored tensors (that is how fusion passes merge
 * projections without copying anything until packing).
 *
 * Op shapes (R = rows, [N,K] weights are row-major as in PyTorch Linear):
 *   EMBED        ()                 w: E[V,H]       -> [T,H]   rows of E by token id
 *   RMSNORM      (x[R,C])           w: g[C]         -> [R,C]   x/rms(x)*g, attr eps
 *   MATMUL       (x[R,K])           w: W[N,K] (b[N])-> [R,N]   x W^T (+ b)
 *   MATMUL_SWIGLU(x[R,K])           w: W[2N,K]      -> [R,N]   silu(x Wg^T) * (x Wu^T),
 *                                                               Wg = rows 0..N-1, Wu = rows N..2N-1
 *   ADD          (a[R,C], b[R,C])                   -> [R,C]
 *   SWIGLU       (g[R,C], u[R,C])                   -> [R,C]   silu(g) * u
 *   ROPE         (x[T,h*d])                         -> [T,h*d] rotate-half RoPE at batch positions
 *   ATTENTION    (q[T,nh*d], k[T,nkv*d], v[T,nkv*d])-> [T,nh*d] writes k,v to the paged cache
 *                                                               of attr layer, then causal attention
 *   SLICE_COLS   (x[R,C])                           -> [R,w]   view: columns off..off+w-1
 *   SELECT_ROWS  (x[T,C])                           -> [L,C]   rows batch.logit_rows
 *   ADD_RMSNORM  (a[R,C], b[R,C])   w: g[C]         -> [R,2C]  columns 0..C-1: s = a + b,
 *                                                               C..2C-1: rmsnorm(s)*g, attr eps
 *   NORM_MATMUL  (x[R,K])           w: g[K], W[N,K] (b[N])
 *                                                   -> [R,N]   (rmsnorm(x)*g) W^T (+ b), attr eps
 *   NORM_MATMUL_SWIGLU (x[R,K])     w: g[K], W[2N,K]-> [R,N]   MATMUL_SWIGLU of rmsnorm(x)*g
 *   MATMUL_ADD   (x[R,K], r[R,N])   w: W[N,K] (b[N])-> [R,N]   r + (x W^T (+ b)): a projection
 *                                                               and the residual add after it
 * A node may also ask for scratch: ir_scratch_row_bytes(n) bytes per row
 * (max_tokens rows) that plan_memory reserves for the node's own launch
 * only (scratch_offset), e.g. the normalised input of NORM_MATMUL.
 * The node flagged as output writes batch.logits ([L, vocab]).
 */
#ifndef LLMCC_IR_IR_H
#define LLMCC_IR_IR_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "load/model_desc.h"
#include "load/tensor.h"

typedef enum IrOp {
    IR_OP_EMBED,
    IR_OP_RMSNORM,
    IR_OP_MATMUL,
    IR_OP_MATMUL_SWIGLU,
    IR_OP_ADD,
    IR_OP_SWIGLU,
    IR_OP_ROPE,
    IR_OP_ATTENTION,
    IR_OP_SLICE_COLS,
    IR_OP_SELECT_ROWS,
    IR_OP_ADD_RMSNORM,
    IR_OP_NORM_MATMUL,
    IR_OP_NORM_MATMUL_SWIGLU,
    IR_OP_MATMUL_ADD,
    IR_OP_COUNT
} IrOp;

typedef enum IrRows {
    IR_ROWS_TOKENS, /* T: tokens in the step */
    IR_ROWS_LOGITS, /* L: logits rows of the step */
} IrRows;

#define IR_MAX_INPUTS 3
#define IR_MAX_WEIGHTS 3
#define IR_MAX_PARTS 3
#define IR_NAME_MAX 96

/* Static facts about one op, indexed by IrOp (kept in step by a
 * static_assert in ops.c). */
typedef struct IrOpInfo {
    const char *name;   /* stable lower-case name used in dumps and templates */
    int n_inputs;       /* exact number of activation inputs */
    int min_weights;    /* weights required */
    int max_weights;    /* weights allowed (bias is optional) */
    int is_view;        /* 1: output aliases input 0 */
} IrOpInfo;

const IrOpInfo *ir_op_info(IrOp op);

/* Op attributes; which fields mean something depends on the op. */
typedef struct IrAttrs {
    float eps;          /* RMSNORM, ADD_RMSNORM, NORM_MATMUL*: epsilon */
    int layer;          /* ATTENTION: KV cache layer; others: layer or -1 */
    int n_heads;        /* ROPE, ATTENTION: heads in the input */
    int n_kv_heads;     /* ATTENTION: key/value heads */
    int head_dim;       /* ROPE, ATTENTION */
    int col_offset;     /* SLICE_COLS: first column of the window */
} IrAttrs;

typedef struct IrNode {
    IrOp op;
    char name[IR_NAME_MAX]; /* unique, stable: "l3.attn.q" */
    int inputs[IR_MAX_INPUTS];   /* node ids, n_inputs of them */
    int n_inputs;
    int weights[IR_MAX_WEIGHTS]; /* weight ids in the order of the op table above */
    int n_weights;
    IrRows rows;            /* symbolic row count */
    int cols;               /* output columns */
    int row_stride;         /* elements between rows of the output */
    IrAttrs attrs;
    int dead;               /* 1: removed by a pass, dropped by ir_compact */
    int is_output;          /* 1: writes batch.logits */
    int64_t arena_offset;   /* bytes into the arena; -1 until planned/for views+output */
    int64_t scratch_offset; /* bytes into the arena of the node's scratch; -1 if none */
} IrNode;

typedef struct IrWeight {
    char name[IR_NAME_MAX];      /* canonical name; fused ones get a new name */
    int64_t rows;                /* N (1 for vectors) */
    int64_t cols;                /* K, or C for vectors */
    int is_vector;               /* 1: a [cols] vector (norm gain, bias) */
    DType dtype;                 /* dtype in the packed blob */
    int n_parts;                 /* stored tensors concatenated along rows */
    char parts[IR_MAX_PARTS][IR_NAME_MAX]; /* their names in the tensor table */
    int64_t part_rows[IR_MAX_PARTS];       /* rows each part contributes
                                              (elements, for vectors) */
    int64_t offset;              /* bytes into the weight blob; -1 until packed */
    int dead;                    /* 1: no longer used */
} IrWeight;

/* Rotary embedding parameters shared by every ROPE node. */
typedef struct IrRope {
    int head_dim;       /* rotated dimensions per head (all of it) */
    float *inv_freq;    /* [head_dim/2] float32, after scaling */
} IrRope;

typedef struct IrGraph {
    IrNode *nodes;      /* [n_nodes] in execution order */
    int n_nodes, cap_nodes;
    IrWeight *weights;  /* [n_weights] */
    int n_weights, cap_weights;
    ModelDesc desc;     /* hyper-parameters the graph was built from */
    IrRope rope;
    int max_tokens;     /* T bound for one step */
    int block_size;     /* KV tokens per block */
    int64_t arena_bytes; /* set by plan_memory */
} IrGraph;

void ir_graph_init(IrGraph *g, const ModelDesc *desc, int max_tokens, int block_size);
void ir_graph_free(IrGraph *g);

/* Builders. Return the new id. */
int ir_add_weight(IrGraph *g, const char *name, int64_t rows, int64_t cols, int is_vector);
int ir_add_node(IrGraph *g, IrOp op, const char *name, const int *inputs, int n_inputs,
                const int *weights, int n_weights, IrRows rows, int cols);
/* Finds a weight by name; -1 if absent. */
int ir_find_weight(const IrGraph *g, const char *name);
int ir_find_node(const IrGraph *g, const char *name);

/* Redirects every use of node `from` to node `to`. */
void ir_replace_uses(IrGraph *g, int from, int to);
/* Number of live nodes using node id. */
int ir_count_uses(const IrGraph *g, int id);
/* Drops dead nodes and unused weights, renumbering ids. */
void ir_compact(IrGraph *g);
/* Moves node `id` (appended last) to sit right before node `before`. */
void ir_move_before(IrGraph *g, int id, int before);

/* Appends a copy of src (name, op, attrs, flags) whose inputs are mapped
 * through map[old id] -> new id. Returns the new id. Used by passes that
 * rebuild the node list. */
int ir_copy_node(IrGraph *g, const IrNode *src, const int *map);

/* Structural checks: arity from the op table, shape rules above, inputs
 * defined before use, weight shapes, one output. err names node and rule. */
int ir_verify(const IrGraph *g, LlmError *err);

/* Stable text form (the golden snapshots use it). Caller frees. */
char *ir_print(const IrGraph *g);

/* Bytes of one row of a value (float32). */
int64_t ir_row_bytes(const IrNode *n);
/* Bytes of scratch per row the node's kernels may use (0: none), for every
 * projection: K floats (the normalised input of NORM_MATMUL* on the cpu;
 * the input converted for a tensor-core product on cuda, two 16-bit rows
 * per row) and 2 x (rows of W) floats (that product's two halves, before
 * the epilogue). Targets that run the node as one fused kernel leave it
 * unused. */
int64_t ir_scratch_row_bytes(const IrGraph *g, const IrNode *n);

#endif
