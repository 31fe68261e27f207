/* manifest.h - the JSON a compiled model carries and `info` prints. */
#ifndef LLMCC_CODEGEN_MANIFEST_H
#define LLMCC_CODEGEN_MANIFEST_H

#include "codegen/compile.h"
#include "ir/ir.h"
#include "load/model_load.h"
#include "passes/pass.h"

/* Returns malloc'd, indented JSON: llmcc version, target, source path and
 * format, arch and hyper-parameters, dtype, passes (name, on/off), weights
 * (count, bytes), memory plan, generation defaults. No timestamps: output
 * is a pure function of the inputs. */
char *manifest_build(const LoadedModel *m, const IrGraph *g, const CompileOptions *o,
                     const PassRecord *records, int n_records, int64_t weight_bytes);

#endif
