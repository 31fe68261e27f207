/* decoder.c - the pre-norm decoder block shared by Llama-like frontends:
 *   x = embed(tokens)
 *   per layer: x += o(attn(rope(q(n1(x))), rope(k(n1(x))), v(n1(x))))
 *              x += down(swiglu(gate(n2(x)), up(n2(x))))
 *   logits = lm_head(norm(select_rows(x)))
 * Weight names are the canonical Hugging Face names the loaders produce. */
#include <stdio.h>

#include "frontend/frontend.h"

typedef struct Dims {
    int H, I, V, nh, nkv, hd; /* hidden, inner, vocab, heads, kv heads, head dim */
} Dims;

static int weight_named(IrGraph *g, const char *name, int64_t rows, int64_t cols, int vec) {
    int id = ir_find_weight(g, name);
    return id >= 0 ? id : ir_add_weight(g, name, rows, cols, vec);
}

/* Weight "model.layers.<layer>.<suffix>" (suffix a literal), found or added. */
#define LAYER_WEIGHT(g, layer, suffix, rows, cols, vec)                                  \
    ({                                                                                   \
        char wname_[IR_NAME_MAX];                                                        \
        snprintf(wname_, sizeof wname_, "model.layers.%d." suffix, (layer));             \
        weight_named((g), wname_, (rows), (cols), (vec));                                \
    })

static int node1(IrGraph *g, IrOp op, const char *name, int in, int w, IrRows rows, int cols) {
    return ir_add_node(g, op, name, &in, 1, w >= 0 ? &w : NULL, w >= 0 ? 1 : 0, rows, cols);
}

static int proj(IrGraph *g, const FrontendDesc *fd, int l, const char *which, int in,
                int out_cols, int in_cols) {
    char wname[IR_NAME_MAX], bname[IR_NAME_MAX], nname[IR_NAME_MAX];
    snprintf(wname, sizeof wname, "model.layers.%d.self_attn.%s_proj.weight", l, which);
    snprintf(bname, sizeof bname, "model.layers.%d.self_attn.%s_proj.bias", l, which);
    snprintf(nname, sizeof nname, "l%d.attn.%s", l, which);
    int w[2] = {weight_named(g, wname, out_cols, in_cols, 0), -1};
    int nw = 1;
    if (fd->bias == FRONTEND_BIAS_QKV && which[0] != 'o') w[nw++] = weight_named(g, bname, 1, out_cols, 1);
    return ir_add_node(g, IR_OP_MATMUL, nname, &in, 1, w, nw, IR_ROWS_TOKENS, out_cols);
}

static int rope(IrGraph *g, int l, const char *which, int in, int heads, int hd) {
    char name[IR_NAME_MAX];
    snprintf(name, sizeof name, "l%d.attn.%s_rope", l, which);
    int id = node1(g, IR_OP_ROPE, name, in, -1, IR_ROWS_TOKENS, heads * hd);
    g->nodes[id].attrs.n_heads = heads;
    g->nodes[id].attrs.head_dim = hd;
    g->nodes[id].attrs.layer = l;
    return id;
}

static int norm(IrGraph *g, const char *name, int in, int w, IrRows rows, int cols) {
    int id = node1(g, IR_OP_RMSNORM, name, in, w, rows, cols);
    g->nodes[id].attrs.eps = g->desc.rms_eps;
    return id;
}

static int attention_block(IrGraph *g, const FrontendDesc *fd, const Dims *d, int l, int x) {
    char name[IR_NAME_MAX];
    snprintf(name, sizeof name, "l%d.attn_norm", l);
    int h = norm(g, name, x, LAYER_WEIGHT(g, l, "input_layernorm.weight", 1, d->H, 1),
                 IR_ROWS_TOKENS, d->H);
    int q = proj(g, fd, l, "q", h, d->nh * d->hd, d->H);
    int k = proj(g, fd, l, "k", h, d->nkv * d->hd, d->H);
    int v = proj(g, fd, l, "v", h, d->nkv * d->hd, d->H);
    int in[3] = {rope(g, l, "q", q, d->nh, d->hd), rope(g, l, "k", k, d->nkv, d->hd), v};
    snprintf(name, sizeof name, "l%d.attn", l);
    int a = ir_add_node(g, IR_OP_ATTENTION, name, in, 3, NULL, 0, IR_ROWS_TOKENS, d->nh * d->hd);
    IrAttrs *t = &g->nodes[a].attrs;
    t->layer = l;
    t->n_heads = d->nh;
    t->n_kv_heads = d->nkv;
    t->head_dim = d->hd;
    int o = proj(g, fd, l, "o", a, d->H, d->nh * d->hd);
    snprintf(name, sizeof name, "l%d.attn.residual", l);
    int add_in[2] = {x, o};
    return ir_add_node(g, IR_OP_ADD, name, add_in, 2, NULL, 0, IR_ROWS_TOKENS, d->H);
}

static int mlp_block(IrGraph *g, const Dims *d, int l, int x) {
    char name[IR_NAME_MAX];
    snprintf(name, sizeof name, "l%d.mlp_norm", l);
    int h = norm(g, name, x,
                 LAYER_WEIGHT(g, l, "post_attention_layernorm.weight", 1, d->H, 1),
                 IR_ROWS_TOKENS, d->H);
    snprintf(name, sizeof name, "l%d.mlp.gate", l);
    int gt = node1(g, IR_OP_MATMUL, name, h, LAYER_WEIGHT(g, l, "mlp.gate_proj.weight", d->I, d->H, 0),
                   IR_ROWS_TOKENS, d->I);
    snprintf(name, sizeof name, "l%d.mlp.up", l);
    int up = node1(g, IR_OP_MATMUL, name, h, LAYER_WEIGHT(g, l, "mlp.up_proj.weight", d->I, d->H, 0),
                   IR_ROWS_TOKENS, d->I);
    snprintf(name, sizeof name, "l%d.mlp.act", l);
    int act_in[2] = {gt, up};
    int act = ir_add_node(g, IR_OP_SWIGLU, name, act_in, 2, NULL, 0, IR_ROWS_TOKENS, d->I);
    g->nodes[act].attrs.layer = l;
    snprintf(name, sizeof name, "l%d.mlp.down", l);
    int dn = node1(g, IR_OP_MATMUL, name, act, LAYER_WEIGHT(g, l, "mlp.down_proj.weight", d->H, d->I, 0),
                   IR_ROWS_TOKENS, d->H);
    snprintf(name, sizeof name, "l%d.mlp.residual", l);
    int add_in[2] = {x, dn};
    return ir_add_node(g, IR_OP_ADD, name, add_in, 2, NULL, 0, IR_ROWS_TOKENS, d->H);
}

int decoder_build(const FrontendDesc *fd, IrGraph *g, LlmError *err) {
    const ModelDesc *m = &g->desc;
    Dims d = {m->hidden_size, m->intermediate_size, m->vocab_size, m->n_heads, m->n_kv_heads, m->head_dim};
    if (d.hd % 2 != 0) return llm_errorf(err, "head_dim %d: rotary embedding needs an even head_dim", d.hd);
    int emb = weight_named(g, "model.embed_tokens.weight", d.V, d.H, 0);
    int x = ir_add_node(g, IR_OP_EMBED, "embed", NULL, 0, &emb, 1, IR_ROWS_TOKENS, d.H);
    for (int l = 0; l < m->n_layers; l++) {
        x = attention_block(g, fd, &d, l, x);
        x = mlp_block(g, &d, l, x);
    }
    int sel = node1(g, IR_OP_SELECT_ROWS, "select_logits", x, -1, IR_ROWS_LOGITS, d.H);
    int fn = norm(g, "final_norm", sel, weight_named(g, "model.norm.weight", 1, d.H, 1), IR_ROWS_LOGITS, d.H);
    int head = m->tie_embeddings ? emb : weight_named(g, "lm_head.weight", d.V, d.H, 0);
    int out = node1(g, IR_OP_MATMUL, "lm_head", fn, head, IR_ROWS_LOGITS, d.V);
    g->nodes[out].is_output = 1;
    return ir_verify(g, err);
}
