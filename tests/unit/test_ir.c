/* test_ir.c - graph building through the frontend, the verifier's rules,
 * and the printer's stability. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/pass.h"
#include "ir_test_model.h"

static ModelDesc tiny_desc(const char *arch) { return ir_test_desc(arch, 1); }

static void test_frontend_llama_builds_valid_graph(void **state) {
    (void)state;
    ModelDesc d = tiny_desc("llama");
    IrGraph g;
    LlmError err = {{0}};
    assert_int_equal(frontend_build(&d, 8, 16, &g, &err), LLM_OK);
    /* embed + 2 layers x 15 nodes + select + norm + head */
    assert_int_equal(g.n_nodes, 1 + 2 * 15 + 3);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    int head = ir_find_node(&g, "lm_head");
    assert_true(head >= 0 && g.nodes[head].is_output);
    /* tied: the head reads the embedding weight */
    assert_int_equal(g.nodes[head].weights[0], g.nodes[ir_find_node(&g, "embed")].weights[0]);
    assert_float_equal(g.rope.inv_freq[1], 0.01f, 1e-9);
    ir_graph_free(&g);
}

static void test_frontend_qwen2_has_biases(void **state) {
    (void)state;
    ModelDesc d = tiny_desc("qwen2");
    d.tie_embeddings = 0;
    IrGraph g;
    LlmError err = {{0}};
    assert_int_equal(frontend_build(&d, 8, 16, &g, &err), LLM_OK);
    int q = ir_find_node(&g, "l0.attn.q"), o = ir_find_node(&g, "l0.attn.o");
    assert_int_equal(g.nodes[q].n_weights, 2);
    assert_int_equal(g.nodes[o].n_weights, 1);
    assert_true(ir_find_weight(&g, "lm_head.weight") >= 0);
    ir_graph_free(&g);
}

static void test_frontend_unknown_arch(void **state) {
    (void)state;
    ModelDesc d = tiny_desc("gpt_neox");
    IrGraph g;
    LlmError err = {{0}};
    assert_int_equal(frontend_build(&d, 8, 16, &g, &err), LLM_ERR);
    assert_non_null(strstr(err.msg, "\"gpt_neox\""));
    assert_non_null(strstr(err.msg, "llama"));
}

static void build(IrGraph *g) {
    ModelDesc d = tiny_desc("llama");
    LlmError err = {{0}};
    assert_int_equal(frontend_build(&d, 8, 16, g, &err), LLM_OK);
}

static void expect_verify_error(IrGraph *g, const char *needle) {
    LlmError err = {{0}};
    assert_int_equal(ir_verify(g, &err), LLM_ERR);
    if (strstr(err.msg, needle) == NULL) fail_msg("message \"%s\" lacks \"%s\"", err.msg, needle);
    ir_graph_free(g);
}

static void test_verify_rejects_bad_arity(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    g.nodes[ir_find_node(&g, "l0.attn.residual")].n_inputs = 1;
    expect_verify_error(&g, "l0.attn.residual");
}

static void test_verify_rejects_shape_mismatch(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    g.nodes[ir_find_node(&g, "l1.mlp.down")].cols = 15;
    expect_verify_error(&g, "l1.mlp.down");
}

static void test_verify_rejects_use_before_def(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    int n = ir_find_node(&g, "l0.attn_norm");
    g.nodes[n].inputs[0] = n + 3;
    expect_verify_error(&g, "not defined before");
}

static void test_verify_rejects_two_outputs(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    g.nodes[ir_find_node(&g, "final_norm")].is_output = 1;
    expect_verify_error(&g, "2 output nodes");
}

static void test_verify_rejects_bad_weight_shape(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    g.weights[ir_find_weight(&g, "model.layers.0.self_attn.k_proj.weight")].rows = 7;
    expect_verify_error(&g, "k_proj");
}

/* The fused projection ops: gain, matrix and residual shapes are checked. */
static void test_verify_fused_projections(void **state) {
    (void)state;
    IrGraph g;
    build(&g);
    LlmError err = {{0}};
    PassOptions po = {DTYPE_F32};
    assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
    assert_int_equal(pass_fuse_norm_matmul(&g, &po, &err), LLM_OK);
    assert_int_equal(ir_verify(&g, &err), LLM_OK);
    char *p = ir_print(&g);
    assert_non_null(strstr(p, "= norm_matmul(%"));
    assert_non_null(strstr(p, "= matmul_add(%"));
    free(p);
    int lm = ir_find_node(&g, "lm_head");
    g.nodes[lm].weights[0] = g.nodes[lm].weights[1]; /* matrix where the gain belongs */
    expect_verify_error(&g, "lm_head");
    build(&g);
    assert_int_equal(pass_fuse_matmul_add(&g, &po, &err), LLM_OK);
    int r = ir_find_node(&g, "l1.mlp.residual");
    g.nodes[r].inputs[1] = ir_find_node(&g, "l1.mlp.act"); /* residual of the wrong width */
    expect_verify_error(&g, "l1.mlp.residual");
}

static void test_print_is_stable(void **state) {
    (void)state;
    IrGraph a, b;
    build(&a);
    build(&b);
    char *pa = ir_print(&a), *pb = ir_print(&b);
    assert_string_equal(pa, pb);
    assert_non_null(strstr(pa, "%0 embed = embed(w0) [T, 16]"));
    assert_non_null(strstr(pa, "attention(%"));
    assert_non_null(strstr(pa, "-> logits"));
    free(pa);
    free(pb);
    ir_graph_free(&a);
    ir_graph_free(&b);
}

static void test_op_table_names(void **state) {
    (void)state;
    for (int op = 0; op < IR_OP_COUNT; op++) assert_non_null(ir_op_info((IrOp)op)->name);
    assert_string_equal(ir_op_info(IR_OP_MATMUL_SWIGLU)->name, "matmul_swiglu");
    assert_true(ir_op_info(IR_OP_SLICE_COLS)->is_view);
}

static void test_rope_llama3_scaling(void **state) {
    (void)state;
    ModelDesc d = tiny_desc("llama");
    d.head_dim = 64;
    d.n_heads = 1;
    d.n_kv_heads = 1;
    d.hidden_size = 64;
    d.rope_theta = 500000.0f;
    d.rope_scaling = ROPE_SCALING_LLAMA3;
    d.rope_factor = 8.0f;
    d.rope_low_freq_factor = 1.0f;
    d.rope_high_freq_factor = 4.0f;
    d.rope_original_context = 8192;
    IrRope plain, scaled;
    ModelDesc d0 = d;
    d0.rope_scaling = ROPE_SCALING_NONE;
    rope_compute_inv_freq(&d0, &plain);
    rope_compute_inv_freq(&d, &scaled);
    assert_float_equal(scaled.inv_freq[0], plain.inv_freq[0], 0); /* high frequency kept */
    assert_float_equal(scaled.inv_freq[31], plain.inv_freq[31] / 8.0f, 1e-12); /* low divided */
    free(plain.inv_freq);
    free(scaled.inv_freq);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frontend_llama_builds_valid_graph),
        cmocka_unit_test(test_frontend_qwen2_has_biases),
        cmocka_unit_test(test_frontend_unknown_arch),
        cmocka_unit_test(test_verify_rejects_bad_arity),
        cmocka_unit_test(test_verify_rejects_shape_mismatch),
        cmocka_unit_test(test_verify_rejects_use_before_def),
        cmocka_unit_test(test_verify_rejects_two_outputs),
        cmocka_unit_test(test_verify_rejects_bad_weight_shape),
        cmocka_unit_test(test_verify_fused_projections), cmocka_unit_test(test_print_is_stable),
        cmocka_unit_test(test_op_table_names),
        cmocka_unit_test(test_rope_llama3_scaling),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
