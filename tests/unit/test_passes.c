/* test_passes.c - each pass: what it rewrites, that the verifier accepts
 * the result, and the pass manager's switches. Numerical equivalence of the
 * fused and unfused graphs is shown end to end (tests/e2e: the --no-fuse
 * build gives the same tokens). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/pass.h"
#include "ir_test_model.h"

static void build(IrGraph *g, const char *arch) {
    ModelDesc d = ir_test_desc(arch, 0);
    LlmError err = {{0}};
    assert_int_equal(frontend_build(&d, 8, 16, g, &err), LLM_OK);
}

static int count_op(const IrGraph *g, IrOp op) {
    int n = 0;
    for (int i = 0; i < g->n_nodes; i++) n += g->nodes[i].op == op;
    return n;
}

static void test_fuse_qkv(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    int before = count_op(&g, IR_OP_MATMUL);
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_qkv(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_MATMUL), before - 2 * 2);
    assert_int_equal(count_op(&g, IR_OP_SLICE_COLS), 3 * 2);
    int w = ir_find_weight(&g, "model.layers.1.self_attn.qkv_proj.weight");
    assert_true(w >= 0);
    assert_int_equal(g.weights[w].n_parts, 3);
    assert_int_equal(g.weights[w].rows, 16 + 8 + 8);
    assert_string_equal(g.weights[w].parts[1], "model.layers.1.self_attn.k_proj.weight");
    int k = ir_find_node(&g, "l1.attn.k");
    assert_int_equal(g.nodes[k].attrs.col_offset, 16);
    assert_int_equal(g.nodes[k].row_stride, 32);
    ir_graph_free(&g);
}

static void test_fuse_qkv_with_bias(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "qwen2");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_qkv(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    int b = ir_find_weight(&g, "model.layers.0.self_attn.qkv_proj.bias");
    assert_true(b >= 0);
    assert_int_equal(g.weights[b].cols, 32);
    assert_int_equal(g.weights[b].n_parts, 3);
    ir_graph_free(&g);
}

static void test_fuse_gate_up(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_gate_up(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_SWIGLU), 0);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_SWIGLU), 2);
    int w = ir_find_weight(&g, "model.layers.0.mlp.gate_up_proj.weight");
    assert_int_equal(g.weights[w].rows, 48);
    assert_int_equal(ir_find_weight(&g, "model.layers.0.mlp.gate_proj.weight"), -1);
    ir_graph_free(&g);
}

static void test_convert_weights(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "qwen2");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_BF16};
    assert_int_equal(pass_convert_weights(&g, &po, &err), LLM_OK);
    assert_int_equal(g.weights[ir_find_weight(&g, "model.embed_tokens.weight")].dtype, DTYPE_BF16);
    assert_int_equal(g.weights[ir_find_weight(&g, "model.norm.weight")].dtype, DTYPE_F32);
    assert_int_equal(g.weights[ir_find_weight(&g, "model.layers.0.self_attn.q_proj.bias")].dtype, DTYPE_F32);
    po.weight_dtype = DTYPE_Q4_K;
    assert_int_equal(pass_convert_weights(&g, &po, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "Q4_K"));
    ir_graph_free(&g);
}

/* Two adds per layer; the three followed by a norm fuse (the last layer's
 * mlp residual feeds select_rows). Node count +1 per fusion (two views),
 * kernels -1. */
static void test_fuse_add_rmsnorm(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    int nodes = g.n_nodes;
    assert_int_equal(count_op(&g, IR_OP_ADD), 4);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 5);
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_add_rmsnorm(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_ADD), 1);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 2); /* l0.attn_norm, final_norm */
    assert_int_equal(count_op(&g, IR_OP_ADD_RMSNORM), 3);
    assert_int_equal(count_op(&g, IR_OP_SLICE_COLS), 6);
    assert_int_equal(g.n_nodes, nodes + 3);
    int f = ir_find_node(&g, "l0.mlp.residual.add_norm");
    assert_true(f >= 0);
    assert_int_equal(g.nodes[f].cols, 32);
    assert_true(g.nodes[f].attrs.eps == 1e-5f);
    assert_string_equal(g.weights[g.nodes[f].weights[0]].name, "model.layers.1.input_layernorm.weight");
    int s = ir_find_node(&g, "l0.mlp.residual"), h = ir_find_node(&g, "l1.attn_norm");
    assert_int_equal(g.nodes[s].op, IR_OP_SLICE_COLS);
    assert_int_equal(g.nodes[s].inputs[0], f);
    assert_int_equal(g.nodes[s].attrs.col_offset, 0);
    assert_int_equal(g.nodes[h].inputs[0], f);
    assert_int_equal(g.nodes[h].attrs.col_offset, 16);
    assert_int_equal(g.nodes[h].row_stride, 32);
    /* the residual view feeds the next fused add */
    int f2 = ir_find_node(&g, "l1.attn.residual.add_norm");
    assert_int_equal(g.nodes[f2].inputs[0], s);
    assert_int_equal(g.nodes[ir_find_node(&g, "l1.mlp.residual")].op, IR_OP_ADD);
    ir_graph_free(&g);
}

/* After fuse_qkv: one rope per layer over q and k; without it, nothing. */
static void test_fuse_rope_qk(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    int nodes = g.n_nodes;
    assert_int_equal(pass_fuse_rope_qk(&g, &po, &err), LLM_OK);
    assert_int_equal(g.n_nodes, nodes);
    assert_int_equal(count_op(&g, IR_OP_ROPE), 4);
    assert_int_equal(pass_fuse_qkv(&g, &po, &err), LLM_OK);
    nodes = g.n_nodes;
    assert_int_equal(pass_fuse_rope_qk(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(g.n_nodes, nodes); /* q, k views + 2 ropes -> qk view, rope, 2 views */
    assert_int_equal(count_op(&g, IR_OP_ROPE), 2);
    int r = ir_find_node(&g, "l1.attn.qk_rope");
    assert_true(r >= 0);
    assert_int_equal(g.nodes[r].attrs.n_heads, 4 + 2);
    assert_int_equal(g.nodes[r].attrs.head_dim, 4);
    assert_int_equal(g.nodes[r].cols, 24);
    const IrNode *in = &g.nodes[g.nodes[r].inputs[0]];
    assert_int_equal(in->op, IR_OP_SLICE_COLS);
    assert_int_equal(in->attrs.col_offset, 0);
    assert_int_equal(in->row_stride, 32);
    assert_int_equal(g.nodes[in->inputs[0]].op, IR_OP_MATMUL);
    int q = ir_find_node(&g, "l1.attn.q_rope"), k = ir_find_node(&g, "l1.attn.k_rope");
    assert_int_equal(g.nodes[q].op, IR_OP_SLICE_COLS);
    assert_int_equal(g.nodes[q].attrs.col_offset, 0);
    assert_int_equal(g.nodes[q].cols, 16);
    assert_int_equal(g.nodes[k].attrs.col_offset, 16);
    assert_int_equal(g.nodes[k].cols, 8);
    assert_int_equal(g.nodes[k].row_stride, 24);
    const IrNode *attn = &g.nodes[ir_find_node(&g, "l1.attn")];
    assert_int_equal(attn->inputs[0], q);
    assert_int_equal(attn->inputs[1], k);
    assert_int_equal(ir_find_node(&g, "l1.attn.q"), -1);
    ir_graph_free(&g);
}


/* fuse_matmul_add: every residual add reads a single-use projection (the o
 * and down projections of each layer): 4 adds -> 4 MATMUL_ADD under the
 * add's name, the projection's weight, the residual as input 1. */
static void test_fuse_matmul_add(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    int nodes = g.n_nodes, mm = count_op(&g, IR_OP_MATMUL);
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_ADD), 0);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_ADD), 4);
    assert_int_equal(count_op(&g, IR_OP_MATMUL), mm - 4);
    assert_int_equal(g.n_nodes, nodes - 4);
    int f = ir_find_node(&g, "l0.attn.residual");
    assert_true(f >= 0);
    assert_int_equal(g.nodes[f].op, IR_OP_MATMUL_ADD);
    assert_string_equal(g.weights[g.nodes[f].weights[0]].name, "model.layers.0.self_attn.o_proj.weight");
    assert_int_equal(g.nodes[g.nodes[f].inputs[0]].op, IR_OP_ATTENTION);
    assert_int_equal(g.nodes[f].inputs[1], ir_find_node(&g, "embed"));
    int d = ir_find_node(&g, "l0.mlp.residual");
    assert_int_equal(g.nodes[d].inputs[1], f);
    assert_int_equal(ir_find_node(&g, "l0.attn.o"), -1);
    ir_graph_free(&g);
}

/* A projection with a second user, or one feeding two adds, stays. */
static void test_fuse_matmul_add_skips_shared(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    int o = ir_find_node(&g, "l0.attn.o");
    int in[2] = {o, o};
    int extra = ir_add_node(&g, IR_OP_ADD, "extra", in, 2, NULL, 0, IR_ROWS_TOKENS, g.nodes[o].cols);
    ir_move_before(&g, extra, ir_find_node(&g, "l0.attn.residual"));
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_ADD), 3);
    assert_true(ir_find_node(&g, "l0.attn.o") >= 0);
    assert_int_equal(g.nodes[ir_find_node(&g, "l0.attn.residual")].op, IR_OP_ADD);
    ir_graph_free(&g);
}

/* fuse_norm_matmul after qkv/gate_up/matmul_add: every RMSNorm feeds one
 * projection (qkv, gate_up, lm_head), so none is left; weights are gain
 * then matrix (then bias, for qwen2's qkv). */
static void test_fuse_norm_matmul(void **state) {
    (void)state;
    const char *archs[] = {"llama", "qwen2"};
    for (int a = 0; a < 2; a++) {
        IrGraph g;
        build(&g, archs[a]);
        LlmError err = {{0}};
        PassOptions po = {DTYPE_F32};
        assert_int_equal(pass_fuse_qkv(&g, &po, &err), LLM_OK);
        assert_int_equal(pass_fuse_gate_up(&g, &po, &err), LLM_OK);
        assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
        assert_int_equal(pass_fuse_norm_matmul(&g, &po, &err), LLM_OK);
        assert_int_equal(ir_verify(&g, &err), LLM_OK);
        assert_int_equal(count_op(&g, IR_OP_RMSNORM), 0);
        assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL), 3);
        assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL_SWIGLU), 2);
        int q = ir_find_node(&g, "l1.attn.qkv");
        assert_int_equal(g.nodes[q].op, IR_OP_NORM_MATMUL);
        assert_int_equal(g.nodes[q].n_weights, a == 1 ? 3 : 2);
        assert_string_equal(g.weights[g.nodes[q].weights[0]].name, "model.layers.1.input_layernorm.weight");
        assert_true(g.nodes[q].attrs.eps == 1e-5f);
        int lm = ir_find_node(&g, "lm_head");
        assert_int_equal(g.nodes[lm].op, IR_OP_NORM_MATMUL);
        assert_int_equal(g.nodes[lm].is_output, 1);
        assert_int_equal(g.nodes[g.nodes[lm].inputs[0]].op, IR_OP_SELECT_ROWS);
        ir_graph_free(&g);
    }
}

/* A norm read by two projections (unfused q, k, v) stays a separate node. */
static void test_fuse_norm_matmul_skips_shared(void **state) {
    (void)state;
    IrGraph g;
    build(&g, "llama");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_norm_matmul(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 4); /* 2 per layer: q/k/v and gate/up read them */
    assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL), 1); /* lm_head */
    ir_graph_free(&g);
}

static int root(const IrGraph *g, int id) {
    while (ir_op_info(g->nodes[id].op)->is_view) id = g->nodes[id].inputs[0];
    return id;
}

/* No two buffers that are live at the same node overlap. */
static void check_plan(const IrGraph *g) {
    int n = g->n_nodes;
    int *last = calloc((size_t)n, sizeof *last);
    for (int i = 0; i < n; i++) last[i] = i;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < g->nodes[i].n_inputs; j++) {
            int r = root(g, g->nodes[i].inputs[j]);
            if (last[r] < i) last[r] = i;
        }
    for (int a = 0; a < n; a++) {
        const IrNode *x = &g->nodes[a];
        if (x->arena_offset < 0) continue;
        assert_int_equal(x->arena_offset % 64, 0);
        int64_t xs = g->max_tokens * ir_row_bytes(x);
        assert_true(x->arena_offset + xs <= g->arena_bytes);
        for (int b = a + 1; b < n; b++) {
            const IrNode *y = &g->nodes[b];
            if (y->arena_offset < 0 || b > last[a]) continue;
            int64_t ys = g->max_tokens * ir_row_bytes(y);
            int disjoint = x->arena_offset + xs <= y->arena_offset || y->arena_offset + ys <= x->arena_offset;
            if (!disjoint) fail_msg("%s and %s overlap", x->name, y->name);
        }
    }
    /* scratch: inside the arena, clear of every buffer live at its node */
    for (int i = 0; i < n; i++) {
        const IrNode *s = &g->nodes[i];
        int64_t sb = g->max_tokens * ir_scratch_row_bytes(g, s);
        if (sb == 0) {
            assert_int_equal(s->scratch_offset, -1);
            continue;
        }
        assert_true(s->scratch_offset >= 0 && s->scratch_offset % 64 == 0);
        assert_true(s->scratch_offset + sb <= g->arena_bytes);
        for (int a = 0; a <= i; a++) {
            const IrNode *x = &g->nodes[a];
            if (x->arena_offset < 0 || last[a] < i) continue;
            int64_t xs = g->max_tokens * ir_row_bytes(x);
            if (!(x->arena_offset + xs <= s->scratch_offset || s->scratch_offset + sb <= x->arena_offset))
                fail_msg("scratch of %s overlaps %s", s->name, x->name);
        }
    }
    free(last);
}

static void test_plan_memory(void **state) {
    (void)state;
    for (int fused = 0; fused < 2; fused++) {
        IrGraph g;
        build(&g, "llama");
        LlmError err = {{0}};
        PassOptions po = {DTYPE_F32};
        if (fused) {
            assert_int_equal(pass_fuse_qkv(&g, &po, &err), LLM_OK);
            assert_int_equal(pass_fuse_gate_up(&g, &po, &err), LLM_OK);
            assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
            assert_int_equal(pass_fuse_add_rmsnorm(&g, &po, &err), LLM_OK);
            assert_int_equal(pass_fuse_norm_matmul(&g, &po, &err), LLM_OK);
            assert_int_equal(pass_fuse_rope_qk(&g, &po, &err), LLM_OK);
        }
        assert_int_equal(pass_plan_memory(&g, &po, &err), LLM_OK);
        check_plan(&g);
        /* reuse: far less than one buffer per node */
        assert_true(g.arena_bytes < (int64_t)g.n_nodes * 8 * 16 * 4);
        assert_int_equal(g.nodes[ir_find_node(&g, "lm_head")].arena_offset, -1);
        ir_graph_free(&g);
    }
}

/* Runs the whole pipeline with pass `off` (or none) switched off. */
static void run_without(IrGraph *g, const char *off, PassRecord *rec) {
    int n = 0;
    pass_pipeline(&n);
    int enabled[16];
    for (int i = 0; i < n; i++) enabled[i] = 1;
    if (off) enabled[pass_find(off)] = 0;
    build(g, "llama");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(passes_run(g, &po, enabled, rec, &err), LLM_OK);
    if (off) assert_int_equal(rec[pass_find(off)].enabled, 0);
}

static void test_pipeline_switches(void **state) {
    (void)state;
    int n = 0;
    const Pass *p = pass_pipeline(&n);
    assert_true(n >= 6 && n <= 16);
    assert_string_equal(p[pass_find("plan_memory")].name, "plan_memory");
    assert_int_equal(pass_find("nope"), -1);
    assert_true(pass_find("fuse_add_rmsnorm") > pass_find("fuse_gate_up"));
    assert_true(pass_find("fuse_rope_qk") > pass_find("fuse_qkv"));
    assert_true(pass_find("fuse_rope_qk") < pass_find("convert_weights"));
    assert_int_equal(p[pass_find("fuse_add_rmsnorm")].kind, PASS_KIND_FUSION);
    assert_int_equal(p[pass_find("fuse_rope_qk")].kind, PASS_KIND_FUSION);
    IrGraph g;
    PassRecord rec[16];
    assert_true(pass_find("fuse_matmul_add") < pass_find("fuse_add_rmsnorm"));
    assert_true(pass_find("fuse_norm_matmul") > pass_find("fuse_add_rmsnorm"));
    run_without(&g, NULL, rec);
    assert_int_equal(count_op(&g, IR_OP_ADD_RMSNORM), 0);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_ADD), 4);
    assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL), 3);
    assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL_SWIGLU), 2);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 0);
    assert_int_equal(count_op(&g, IR_OP_ROPE), 2);
    ir_graph_free(&g);
    run_without(&g, "fuse_matmul_add", rec); /* then the adds fuse with the norms */
    assert_int_equal(count_op(&g, IR_OP_ADD_RMSNORM), 3);
    assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL), 2); /* l0 qkv (norm of embed), lm_head */
    ir_graph_free(&g);
    run_without(&g, "fuse_qkv", rec); /* the ropes read separate matmuls; q, k, v share a norm */
    assert_int_equal(count_op(&g, IR_OP_SLICE_COLS), 0);
    assert_int_equal(count_op(&g, IR_OP_ROPE), 4);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 2);
    assert_int_equal(count_op(&g, IR_OP_NORM_MATMUL_SWIGLU), 2);
    ir_graph_free(&g);
    run_without(&g, "fuse_norm_matmul", rec);
    assert_int_equal(count_op(&g, IR_OP_RMSNORM), 5);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_ADD), 4);
    ir_graph_free(&g);
    run_without(&g, "fuse_rope_qk", rec);
    assert_int_equal(count_op(&g, IR_OP_ROPE), 4);
    assert_int_equal(count_op(&g, IR_OP_MATMUL_ADD), 4);
    ir_graph_free(&g);
    int enabled[16];
    for (int i = 0; i < n; i++) enabled[i] = 1;
    enabled[pass_find("plan_memory")] = 0;
    build(&g, "llama");
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(passes_run(&g, &po, enabled, rec, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "plan_memory is required"));
    ir_graph_free(&g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fuse_qkv),       cmocka_unit_test(test_fuse_qkv_with_bias),
        cmocka_unit_test(test_fuse_gate_up),   cmocka_unit_test(test_convert_weights),
        cmocka_unit_test(test_fuse_add_rmsnorm), cmocka_unit_test(test_fuse_rope_qk),
        cmocka_unit_test(test_fuse_matmul_add), cmocka_unit_test(test_fuse_matmul_add_skips_shared),
        cmocka_unit_test(test_fuse_norm_matmul), cmocka_unit_test(test_fuse_norm_matmul_skips_shared),
        cmocka_unit_test(test_plan_memory),    cmocka_unit_test(test_pipeline_switches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
