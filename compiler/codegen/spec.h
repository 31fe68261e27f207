/* spec.h - the plain Lua tables that templates render from.
 *
 * spec = {
 *   program = {target, arch, dtype, name, vocab, hidden, layers, heads,
 *              kv_heads, head_dim, max_context, max_tokens, block_size,
 *              max_blocks_per_seq, arena_bytes, weight_bytes, weight_hash,
 *              manifest_c (a C string literal)},
 *   rope = {half = n, inv_freq = {"<float literal>", ...}},
 *   kernels = { {name, op, node = <first node entry using it>}, ... }  -- unique, in first-use order
 *   nodes = { {id, name, op, kernel, layer, rows ("T"|"L"), cols, out, out_stride,
 *              ins = {{ptr, cols, stride}, ...}, w = {{ptr, dtype, rows, cols}, ...},
 *              eps, heads, kv_heads, head_dim}, ... }        -- views omitted
 * }
 * Every number a kernel bakes in is part of its kernel name, so two nodes
 * share a kernel exactly when their code would be identical. Floats are
 * pre-formatted C literals ("%.9g" + "f"), which round-trip float32.
 */
#ifndef LLMCC_CODEGEN_SPEC_H
#define LLMCC_CODEGEN_SPEC_H

#include <lua.h>
#include <stdint.h>

#include "ir/ir.h"

typedef struct SpecProgram {
    const char *target;        /* "cpu" */
    const char *name;          /* model name (output file stem) */
    const char *manifest_json; /* embedded verbatim */
    int64_t weight_bytes;      /* packed blob size */
    uint64_t weight_hash;      /* payload_weight_hash of the blob */
    int max_context;           /* context the runtime allows */
    const char *arch;          /* -march (cpu) or sm_XX (cuda) the code is built for */
    int pdl;                   /* cuda: programmatic dependent launch 0 off, 1 wait, 2 early */
    const char *kv_dtype;      /* "f32" or "bf16": KV cache elements */
    const char *gemm_input;    /* "split" or "single": activations into a cuda tensor-core product */
} SpecProgram;

/* Pushes the spec table for g onto L's stack. */
void spec_push(lua_State *L, const IrGraph *g, const SpecProgram *p);

/* Formats f as a C float literal that round-trips ("1e-06f"). */
void spec_float_literal(float f, char *buf, size_t cap);

#endif
