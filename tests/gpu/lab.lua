-- tests/gpu/lab.lua: the kernel lab's cases. Run by render_kernels (which
-- provides `include` and the global LAB_OUT, the output folder). For every
-- case it renders the cpu template and the cuda template of the same node
-- (hand-built `args`, and a `spec` with the program fields they read) and
-- writes, in fixed order:
--   LAB_OUT/lab_cpu.c    cpu kernels + extern wrappers lab_cpu_<i>
--   LAB_OUT/lab_cuda.cu  cuda kernels + extern wrappers lab_cuda_<i>
--   LAB_OUT/lab_cases.h  the case table the harness (lab_main.cu) iterates
local cases = {}
local function add(c) cases[#cases + 1] = c end

-- Tolerances on ||out - ref|| / ||ref|| (see lab_main.cu's header):
local TOL_EXACT = 0.0   -- copies and conversions (embed, select_rows, add)
local TOL_ELEM = 2e-6   -- one libm call per element (swiglu expf, rope sinf/cosf)
local TOL_NORM = 2e-6   -- rmsnorm, add_rmsnorm (double sum; only the final float ops round)
local TOL_DOT = 1e-5    -- float32 dot products in another order (matmul, attention)
local TOL_GEMM = 5e-5   -- more than 8 rows with 16-bit weights: cuBLAS on activations split
                        -- into two 16-bit halves (~2^-17 relative each) (kernels/cuda/proj.cu.lua)
local TOL_SINGLE = 1e-2 -- --gemm-input single: activations rounded to bf16 (2^-9) before the product
local function tol_proj(dt, rows) return (rows > 8 and dt ~= "f32") and TOL_GEMM or TOL_DOT end

-- matmul(name, dtype, K, N, T, opts)
local function mm(name, dt, K, N, T, o)
  o = o or {}
  add{op = "matmul", name = name, dtype = dt, K = K, N = N, T = T, L = o.L or 1, rowsL = o.L ~= nil,
      xs = o.xs or K, ys = o.ys or N, bias = o.bias, time = o.time, tol = tol_proj(dt, o.L or T)}
end
-- the fused projections: norm_matmul / norm_matmul_swiglu (gain, matrix,
-- bias) and matmul_add (x and a residual of stride o.rs)
local function nmm(name, dt, K, N, T, o)
  o = o or {}
  add{op = o.swiglu and "norm_matmul_swiglu" or "norm_matmul", name = name, dtype = dt, K = K, N = N, T = T,
      L = o.L or 1, rowsL = o.L ~= nil, xs = o.xs or K, ys = o.ys or N, bias = o.bias, time = o.time,
      tol = o.single and TOL_SINGLE or tol_proj(dt, o.L or T), single = o.single, yb = o.yb}
end
local function mma(name, dt, K, N, T, o)
  o = o or {}
  add{op = "matmul_add", name = name, dtype = dt, K = K, N = N, T = T, L = 1, xs = o.xs or K, ys = o.ys or N,
      rs = o.rs or N, bias = o.bias, time = o.time, tol = o.single and TOL_SINGLE or tol_proj(dt, T),
      single = o.single, xb = o.xb}
end
local function mmsw(name, dt, K, N, T, o)
  o = o or {}
  add{op = "matmul_swiglu", name = name, dtype = dt, K = K, N = N, T = T, L = 1, xs = o.xs or K, ys = o.ys or N,
      time = o.time, tol = tol_proj(dt, T)}
end
local function attn(name, nh, nkv, hd, T, ctx, mode, o)
  o = o or {}
  add{op = "attention", name = name, heads = nh, kv_heads = nkv, head_dim = hd, T = T, L = 1, ctx = ctx,
      mode = mode, bs = o.bs or 16, time = o.time, tol = TOL_DOT, layer = o.layer or 1,
      dtype = o.kvbf and "bf16" or nil}
end

-- GEMV: Llama-3.1-8B (bf16, timed at T = 1), then prefill tiles and tails.
mm("8B.qkv", "bf16", 4096, 6144, 1, {time = true})
mm("8B.o", "bf16", 4096, 4096, 1, {time = true})
mm("8B.down", "bf16", 14336, 4096, 1, {time = true})
mm("8B.lm_head", "bf16", 4096, 128256, 1, {L = 1, time = true})
mmsw("8B.gate_up", "bf16", 4096, 14336, 1, {time = true})
mm("8B.o.f16", "f16", 4096, 4096, 1, {time = true})
mm("8B.o.f32", "f32", 4096, 4096, 1, {time = true})
mmsw("8B.gate_up.f16", "f16", 4096, 14336, 1, {time = true})
mm("8B.qkv.T3", "bf16", 4096, 6144, 3)
mm("8B.qkv.T16", "bf16", 4096, 6144, 16, {time = true})
mm("8B.down.T64", "bf16", 14336, 4096, 64, {time = true})
mmsw("8B.gate_up.T16", "bf16", 4096, 14336, 16)
mm("8B.lm_head.L2", "bf16", 4096, 128256, 3, {L = 2})
-- Llama-3.2-1B
mm("1B.qkv", "bf16", 2048, 3072, 1, {time = true})
mm("1B.down", "bf16", 8192, 2048, 1, {time = true})
mmsw("1B.gate_up", "bf16", 2048, 8192, 1, {time = true})
mm("1B.lm_head", "bf16", 2048, 128256, 1, {L = 1, time = true})
mm("1B.o.T64.f32", "f32", 2048, 2048, 64)
-- SmolLM2-135M
mm("smol.qkv", "bf16", 576, 960, 1)
mm("smol.down.T16.f16", "f16", 1536, 576, 16)
mmsw("smol.gate_up.T3", "bf16", 576, 1536, 3)
mm("smol.lm_head", "f32", 576, 49152, 1, {L = 1})
-- TinyStories and tails (K % 8 != 0, odd strides: scalar path; bias)
mm("tiny.qkv.T3", "f32", 128, 384, 3)
mmsw("tiny.gate_up.T64", "f16", 128, 384, 64)
mm("tail.K100.bias", "bf16", 100, 37, 3, {bias = true})
mm("tail.K129.f32", "f32", 129, 65, 1)
mm("tail.K200.stride203", "f16", 200, 33, 16, {xs = 203, ys = 35})
mm("tail.K4104.bias.T1", "bf16", 4104, 257, 1, {bias = true})
mmsw("tail.K100.T3", "bf16", 100, 37, 3, {xs = 101})
mmsw("tail.K264.f32.T16", "f32", 264, 45, 16)

-- Fused projections (fuse_norm_matmul, fuse_matmul_add), decode shapes timed.
nmm("8B.norm_qkv", "bf16", 4096, 6144, 1, {time = true})
nmm("8B.norm_gate_up", "bf16", 4096, 14336, 1, {swiglu = true, time = true})
mma("8B.o_add", "bf16", 4096, 4096, 1, {time = true})
mma("8B.down_add", "bf16", 14336, 4096, 1, {time = true})
nmm("8B.norm_lm_head", "bf16", 4096, 128256, 1, {L = 1, time = true})
nmm("1B.norm_qkv", "bf16", 2048, 3072, 1, {time = true})
mma("1B.o_add", "bf16", 2048, 2048, 1, {time = true})
nmm("8B.norm_qkv.T16", "bf16", 4096, 6144, 16)
nmm("8B.norm_gate_up.T9", "bf16", 4096, 14336, 9, {swiglu = true})
mma("8B.down_add.T64", "bf16", 14336, 4096, 64)
nmm("qwen.norm_qkv.bias.T3", "bf16", 3584, 4608, 3, {bias = true})
nmm("smol.norm_qkv.f32.T16", "f32", 576, 960, 16)
nmm("tail.K100.norm.L2", "f16", 100, 37, 3, {L = 2, xs = 101, ys = 39, bias = true})
nmm("tail.K264.normsw.f32.T5", "f32", 264, 45, 5, {swiglu = true, xs = 268})
nmm("8B.norm_qkv.T64.single", "bf16", 4096, 6144, 64, {single = true, time = true})
nmm("8B.norm_gate_up.T64.single", "bf16", 4096, 14336, 64, {swiglu = true, single = true, time = true})
nmm("8B.norm_gate_up.T64", "bf16", 4096, 14336, 64, {swiglu = true, time = true})
-- serving batches (issue 5): 256 decode rows, and a 2048-row prefill step
nmm("8B.norm_qkv.T256.single", "bf16", 4096, 6144, 256, {single = true, time = true})
nmm("8B.norm_gate_up.T256.single", "bf16", 4096, 14336, 256, {swiglu = true, single = true, time = true})
mma("8B.o_add.T256.single", "bf16", 4096, 4096, 256, {single = true, time = true})
mma("8B.down_add.T256.single", "bf16", 14336, 4096, 256, {single = true, time = true})
nmm("8B.norm_gate_up.T2048.single", "bf16", 4096, 14336, 2048, {swiglu = true, single = true, time = true})
-- the bf16 hand-off (compiler/codegen/spec.c bf16_handoff): gate/up writes
-- bf16 rows, down reads them; the wrapper widens / rounds around the kernel
-- (untimed: the conversions would be in the time)
nmm("8B.norm_gate_up.T256.yb", "bf16", 4096, 14336, 256, {swiglu = true, single = true, yb = true})
nmm("1B.norm_gate_up.T9.yb", "bf16", 2048, 8192, 9, {swiglu = true, single = true, yb = true})
mma("8B.down_add.T256.xb", "bf16", 14336, 4096, 256, {single = true, xb = true})
mma("1B.down_add.T9.xb", "bf16", 8192, 2048, 9, {single = true, xb = true})
mma("tail.K200.add.stride", "f16", 200, 33, 16, {xs = 203, ys = 35, rs = 37, bias = true})
mma("tiny.add.f32.T3", "f32", 128, 128, 3)

-- Attention: decode (one sequence per token) and prefill (one sequence,
-- consecutive positions); GQA ratios 1, 3, 4, 8; layer 1 of a 2-layer pool.
attn("8B.dec.ctx1000", 32, 8, 128, 1, 1000, "decode", {time = true})
attn("8B.dec.ctx8192", 32, 8, 128, 1, 8192, "decode", {time = true})
attn("8B.dec.T4", 32, 8, 128, 4, 3000, "decode")
attn("8B.pre.T64", 32, 8, 128, 64, 200, "prefill")
attn("1B.dec.T3", 32, 8, 64, 3, 700, "decode", {layer = 0})
attn("1B.pre.T16", 32, 8, 64, 16, 16, "prefill")
attn("smol.pre.T16.g3", 9, 3, 64, 16, 40, "prefill")
attn("gqa8.dec.T2", 32, 4, 64, 2, 333, "decode", {bs = 32})
attn("tiny.g1.pre.T3", 8, 8, 16, 3, 3, "prefill")
attn("tiny.g1.dec.T1", 8, 8, 16, 1, 1, "decode")
attn("hd20.pre.T3", 4, 2, 20, 3, 50, "prefill")
-- bf16 KV cache (--kv-dtype bf16; dtype of an attention case = its KV dtype)
attn("8B.dec.ctx1000.kvbf16", 32, 8, 128, 1, 1000, "decode", {time = true, kvbf = true})
attn("8B.dec.T64.kvbf16", 32, 8, 128, 64, 300, "decode", {time = true, kvbf = true})
attn("8B.dec.T64", 32, 8, 128, 64, 300, "decode", {time = true})
attn("8B.dec.T256.kvbf16", 32, 8, 128, 256, 384, "decode", {time = true, kvbf = true})
attn("8B.pre.T64.kvbf16", 32, 8, 128, 64, 200, "prefill", {kvbf = true})
attn("8B.dec.T8.ctx3000.kvbf16", 32, 8, 128, 8, 3000, "decode", {time = true, kvbf = true}) -- 4 splits
attn("gqa8.dec.T16.kvbf16", 32, 4, 64, 16, 333, "decode", {bs = 32, kvbf = true})
attn("qwen7.dec.T32.kvbf16", 28, 4, 128, 32, 500, "decode", {kvbf = true})
attn("hd20.pre.T3.kvbf16", 4, 2, 20, 3, 50, "prefill", {kvbf = true})
-- serving steps: decode tokens between prompt chunks (query tiles, _kt)
attn("8B.mix.T1024.kvbf16", 32, 8, 128, 1024, 256, "mixed", {time = true, kvbf = true})
attn("8B.pre.T1024.kvbf16", 32, 8, 128, 1024, 1024, "prefill", {time = true, kvbf = true})
attn("qwen7.mix.T300.kvbf16", 28, 4, 128, 300, 200, "mixed", {kvbf = true})
attn("1B.mix.T200.kvbf16", 32, 8, 64, 200, 150, "mixed", {kvbf = true, layer = 0})
attn("g1.mix.T100.kvbf16", 8, 8, 32, 100, 90, "mixed", {kvbf = true})
-- the staged kernel's scalar products (head_dim not in k-steps of 16, or above 128): the
-- step's own rows of a prompt chunk staged by the decode kernel
attn("hd24.mix.T100.kvbf16", 8, 4, 24, 100, 90, "mixed", {kvbf = true})
attn("hd256.mix.T40.kvbf16", 8, 4, 256, 40, 300, "mixed", {kvbf = true})
attn("hd256.dec.T16.kvbf16", 8, 2, 256, 16, 700, "decode", {kvbf = true})

-- Elementwise and small ops.
local function op(t) add(t) end
op{op = "rmsnorm", name = "rms.4096.T1", cols = 4096, T = 1, L = 1, xs = 4096, ys = 4096, time = true, tol = TOL_NORM}
op{op = "rmsnorm", name = "rms.4096.T3", cols = 4096, T = 3, L = 1, xs = 4096, ys = 4096, tol = TOL_NORM}
op{op = "rmsnorm", name = "rms.576.T64", cols = 576, T = 64, L = 1, xs = 576, ys = 576, tol = TOL_NORM}
op{op = "rmsnorm", name = "rms.100.L2", cols = 100, T = 5, L = 2, rowsL = true, xs = 103, ys = 101, tol = TOL_NORM}
op{op = "add", name = "add.4096.T1", cols = 4096, T = 1, L = 1, xs = 4096, xs2 = 4096, ys = 4096, time = true, tol = TOL_EXACT}
op{op = "add", name = "add.577.T16", cols = 577, T = 16, L = 1, xs = 580, xs2 = 577, ys = 579, tol = TOL_EXACT}
op{op = "swiglu", name = "swiglu.14336.T2", cols = 14336, T = 2, L = 1, xs = 14336, xs2 = 14336, ys = 14336, tol = TOL_ELEM}
op{op = "swiglu", name = "swiglu.100.T3", cols = 100, T = 3, L = 1, xs = 200, xs2 = 101, ys = 100, tol = TOL_ELEM}
op{op = "rope", name = "rope.8B.q.T3", heads = 32, head_dim = 128, T = 3, L = 1, xs = 6144, ys = 4096, theta = 500000.0, tol = TOL_ELEM, time = true}
op{op = "rope", name = "rope.8B.q.T600", heads = 32, head_dim = 128, T = 600, L = 1, xs = 6144, ys = 4096, theta = 500000.0, tol = TOL_ELEM}
op{op = "rope", name = "rope.smol.k.T64", heads = 3, head_dim = 64, T = 64, L = 1, xs = 960, ys = 192, theta = 100000.0, tol = TOL_ELEM}
op{op = "rope", name = "rope.tiny.T16", heads = 8, head_dim = 16, T = 16, L = 1, xs = 384, ys = 128, theta = 10000.0, tol = TOL_ELEM}
-- q and k roped together (fuse_rope_qk): heads = nh + nkv over a view of qkv.
op{op = "rope", name = "rope.8B.qk.T1", heads = 40, head_dim = 128, T = 1, L = 1, xs = 6144, ys = 5120, theta = 500000.0, tol = TOL_ELEM, time = true}
op{op = "rope", name = "rope.tiny.qk.T16", heads = 12, head_dim = 16, T = 16, L = 1, xs = 256, ys = 192, theta = 10000.0, tol = TOL_ELEM}
-- residual add + RMSNorm (fuse_add_rmsnorm): output [R, 2C] = sum | norm.
op{op = "add_rmsnorm", name = "addrms.4096.T1", cols = 4096, T = 1, L = 1, xs = 8192, xs2 = 4096, ys = 8192, time = true, tol = TOL_NORM}
op{op = "add_rmsnorm", name = "addrms.2048.T3", cols = 2048, T = 3, L = 1, xs = 4096, xs2 = 2048, ys = 4096, tol = TOL_NORM}
op{op = "add_rmsnorm", name = "addrms.576.T64.ys", cols = 576, T = 64, L = 1, xs = 1152, xs2 = 577, ys = 1160, tol = TOL_NORM}
op{op = "embed", name = "embed.8B.bf16.T3", dtype = "bf16", vocab = 128256, H = 4096, T = 3, L = 1, ys = 4096, tol = TOL_EXACT}
op{op = "embed", name = "embed.f32.T5", dtype = "f32", vocab = 1000, H = 100, T = 5, L = 1, ys = 103, tol = TOL_EXACT}
op{op = "embed", name = "embed.f16.T64", dtype = "f16", vocab = 49152, H = 576, T = 64, L = 1, ys = 576, tol = TOL_EXACT}
op{op = "select_rows", name = "select.4096.T5.L2", cols = 4096, T = 5, L = 2, xs = 4096, ys = 4096, tol = TOL_EXACT}
op{op = "select_rows", name = "select.576.T64.L64", cols = 576, T = 64, L = 64, xs = 577, ys = 576, tol = TOL_EXACT}

-- ---- rendering ----------------------------------------------------------
local function flit(x) -- float32-round-tripping C literal
  local s = string.format("%.9g", x)
  if not s:find("[%.e]") then s = s .. ".0" end
  return s .. "f"
end

local OPS = {embed = 0, rmsnorm = 1, matmul = 2, matmul_swiglu = 3, add = 4, swiglu = 5, rope = 6,
             attention = 7, select_rows = 8, add_rmsnorm = 9, norm_matmul = 10, norm_matmul_swiglu = 11,
             matmul_add = 12}
local DT = {f32 = 0, bf16 = 1, f16 = 2}

local cpu = {[[/* Generated by tests/gpu/render_kernels from tests/gpu/lab.lua. Do not edit. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/program.h"
#include "base/threadpool.h"
]], include("kernels/cpu/common.c.lua")}
local cu = {[[/* Generated by tests/gpu/render_kernels from tests/gpu/lab.lua. Do not edit. */
#include "gpu/cuda_ctx.h"
/* lab_main.cu: the bf16 hand-off cases' conversions around the kernel */
void lab_rows_to_bf16(const LlmCudaCtx *c, const float *x, int xs, void *dst, int rows, int k);
void lab_rows_widen(const LlmCudaCtx *c, float *y, int ys, void *tmp, int rows, int n);
]]}
local tab = {[[/* Generated by tests/gpu/render_kernels from tests/gpu/lab.lua. Do not edit. */
]]}
local rows_tab = {}

for i, c in ipairs(cases) do
  local kname = string.format("lab%02d_%s", i, c.op)
  local n = {kernel = kname, op = c.op, rows = c.rowsL and "L" or "T", layer = c.layer or 0, eps = "1e-05f",
             heads = c.heads or 0, kv_heads = c.kv_heads or 0, head_dim = c.head_dim or 0, ins = {}, w = {},
             y_bf16 = c.yb or false, x_bf16 = c.xb or false}
  local prog = {block_size = c.bs or 16, max_blocks_per_seq = 1, vocab = 1000, max_tokens = math.max(64, c.T),
                kv_dtype = (c.op == "attention" and c.dtype == "bf16") and "bf16" or "f32",
                gemm_input = c.single and "single" or "split"}
  local rope = {half = 1, inv_freq = {"1.0f"}}
  local wrows, wcols, nin, incols, instr = 0, 0, 1, {0, 0, 0}, {0, 0, 0}
  if c.op == "matmul" or c.op == "matmul_swiglu" then
    local rowsW = c.op == "matmul" and c.N or 2 * c.N
    n.cols, n.out_stride = c.N, c.ys
    n.ins[1] = {cols = c.K, stride = c.xs}
    n.w[1] = {dtype = c.dtype, rows = rowsW, cols = c.K}
    if c.bias then n.w[2] = {dtype = "f32", rows = 1, cols = c.N} end
    wrows, wcols, incols[1], instr[1] = rowsW, c.K, c.K, c.xs
  elseif c.op == "norm_matmul" or c.op == "norm_matmul_swiglu" then
    local rowsW = c.op == "norm_matmul" and c.N or 2 * c.N
    n.cols, n.out_stride = c.N, c.ys
    n.ins[1] = {cols = c.K, stride = c.xs}
    n.w[1] = {dtype = "f32", rows = 1, cols = c.K}
    n.w[2] = {dtype = c.dtype, rows = rowsW, cols = c.K}
    if c.bias then n.w[3] = {dtype = "f32", rows = 1, cols = c.N} end
    wrows, wcols, incols[1], instr[1] = rowsW, c.K, c.K, c.xs
  elseif c.op == "matmul_add" then
    n.cols, n.out_stride = c.N, c.ys
    n.ins = {{cols = c.K, stride = c.xs}, {cols = c.N, stride = c.rs}}
    n.w[1] = {dtype = c.dtype, rows = c.N, cols = c.K}
    if c.bias then n.w[2] = {dtype = "f32", rows = 1, cols = c.N} end
    nin, incols, instr = 2, {c.K, c.N, 0}, {c.xs, c.rs, 0}
    wrows, wcols = c.N, c.K
  elseif c.op == "attention" then
    local hd, nh, nkv = c.head_dim, c.heads, c.kv_heads
    local qs = (nh + 2 * nkv) * hd
    n.cols, n.out_stride = nh * hd, nh * hd
    n.ins = {{cols = nh * hd, stride = qs}, {cols = nkv * hd, stride = qs}, {cols = nkv * hd, stride = qs}}
    prog.max_blocks_per_seq = (c.ctx + prog.block_size - 1) // prog.block_size
    nin, incols, instr = 3, {nh * hd, nkv * hd, nkv * hd}, {qs, qs, qs}
  elseif c.op == "rope" then
    local half = c.head_dim // 2
    n.cols, n.out_stride = c.heads * c.head_dim, c.ys
    n.ins[1] = {cols = c.heads * c.head_dim, stride = c.xs}
    rope = {half = half, inv_freq = {}}
    for k = 0, half - 1 do
      rope.inv_freq[k + 1] = flit(1.0 / (c.theta ^ ((2 * k) / c.head_dim)))
    end
    incols[1], instr[1] = c.heads * c.head_dim, c.xs
  elseif c.op == "embed" then
    n.cols, n.out_stride = c.H, c.ys
    n.w[1] = {dtype = c.dtype, rows = c.vocab, cols = c.H}
    wrows, wcols, nin = c.vocab, c.H, 0
  elseif c.op == "rmsnorm" then
    n.cols, n.out_stride = c.cols, c.ys
    n.ins[1] = {cols = c.cols, stride = c.xs}
    n.w[1] = {dtype = "f32", rows = 1, cols = c.cols}
    wrows, wcols, incols[1], instr[1] = 1, c.cols, c.cols, c.xs
  elseif c.op == "add_rmsnorm" then
    n.cols, n.out_stride = 2 * c.cols, c.ys
    n.ins = {{cols = c.cols, stride = c.xs}, {cols = c.cols, stride = c.xs2}}
    n.w[1] = {dtype = "f32", rows = 1, cols = c.cols}
    nin, incols, instr = 2, {c.cols, c.cols, 0}, {c.xs, c.xs2, 0}
    wrows, wcols = 1, c.cols
  elseif c.op == "add" or c.op == "swiglu" then
    n.cols, n.out_stride = c.cols, c.ys
    n.ins = {{cols = c.cols, stride = c.xs}, {cols = c.cols, stride = c.xs2}}
    nin, incols, instr = 2, {c.cols, c.cols, 0}, {c.xs, c.xs2, 0}
  elseif c.op == "select_rows" then
    n.rows, c.rowsL = "L", true
    n.cols, n.out_stride = c.cols, c.ys
    n.ins[1] = {cols = c.cols, stride = c.xs}
    incols[1], instr[1] = c.cols, c.xs
  end
  spec = {program = prog, rope = rope}
  local rope_decl_c, rope_decl_cu = "", ""
  if c.op == "rope" then
    rope_decl_c = string.format("static const float lab_rope_%02d[%d] = {%s};\n", i, rope.half, table.concat(rope.inv_freq, ", "))
    rope_decl_cu = string.format("__constant__ float lab_rope_%02d[%d] = {%s};\n", i, rope.half, table.concat(rope.inv_freq, ", "))
  end
  local sig = "int layer, const float *x0, const float *x1, const float *x2, float *y, const void *w0, const void *w1, const void *w2, void *scratch"
  local call = "layer, x0, x1, x2, y, w0, w1, w2, scratch)"
  cpu[#cpu + 1] = string.format("\n/* ===== case %d: %s (%s) ===== */\n%s#define rope_inv_freq lab_rope_%02d\n", i, c.name, c.op, rope_decl_c, i)
  cpu[#cpu + 1] = include("kernels/cpu/" .. c.op .. ".c.lua", n)
  cpu[#cpu + 1] = string.format("#undef rope_inv_freq\nvoid lab_cpu_%02d(const LlmForwardCtx *ctx, const LlmBatch *b, %s);\nvoid lab_cpu_%02d(const LlmForwardCtx *ctx, const LlmBatch *b, %s) {\n    %s(ctx, b, %s;\n}\n", i, sig, i, sig, kname, call)
  cu[#cu + 1] = string.format("\n/* ===== case %d: %s (%s) ===== */\n%s#define rope_inv_freq lab_rope_%02d\n", i, c.name, c.op, rope_decl_cu, i)
  cu[#cu + 1] = include("kernels/cuda/" .. c.op .. ".cu.lua", n)
  local pre, post = "", ""
  if c.xb then -- x as the SwiGLU projection before would hand it over: bf16 rows (stride K) in scratch's x area
    pre = string.format("    if (T > 8) {\n        lab_rows_to_bf16(c, x0, %d, scratch, T, %d);\n        x0 = (const float *)scratch;\n    }\n", c.xs, c.K)
  end
  if c.yb then -- y's bf16 rows (stride N) widened to float32 for the comparison
    post = string.format("    if (T > 8) lab_rows_widen(c, y, %d, scratch, T, %d);\n", c.ys, c.N)
  end
  cu[#cu + 1] = string.format("#undef rope_inv_freq\nvoid lab_cuda_%02d(const LlmCudaCtx *c, int T, int L, %s) {\n%s    %s(c, T, L, %s;\n%s}\n", i, sig, pre, kname, call, post)
  tab[#tab + 1] = string.format("LAB_DECL(%02d)\n", i)
  rows_tab[#rows_tab + 1] = string.format(
    '    {"%s", %d, %d, %d, %d, %d, %d, %d, %d, {%d, %d, %d}, {%d, %d, %d}, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %s, lab_cpu_%02d, lab_cuda_%02d},\n',
    c.name, OPS[c.op], DT[c.dtype or "f32"], c.T, c.L, c.rowsL and 1 or 0, n.cols, n.out_stride, nin,
    incols[1], incols[2], incols[3], instr[1], instr[2], instr[3], wrows, wcols, c.bias and 1 or 0,
    n.heads, n.kv_heads, n.head_dim, prog.block_size, prog.max_blocks_per_seq, c.ctx or 0,
    c.mode == "prefill" and 1 or c.mode == "mixed" and 2 or 0, n.layer, c.time and 1 or 0, c.op == "attention" and 2 or 1,
    string.format("%.1e", c.tol), i, i)
end
tab[#tab + 1] = "static const LabCase LAB_CASES[] = {\n" .. table.concat(rows_tab) .. "};\n"

local function write(name, parts)
  local f = assert(io.open(LAB_OUT .. "/" .. name, "w"))
  f:write(table.concat(parts))
  f:close()
end
write("lab_cpu.c", cpu)
write("lab_cuda.cu", cu)
write("lab_cases.h", tab)
print(string.format("rendered %d cases into %s", #cases, LAB_OUT))
