#!/usr/bin/env bash
# The cuda target without a GPU (CI): llmcc renders and nvcc-compiles the
# bundled model for sm_90 (f32), sm_80 (bf16) and sm_90 (bf16, --gemm-input
# single, whose SwiGLU projections hand bf16 rows to the down projections)
# into one executable each;
# generated code is deterministic; the executable, run where no GPU is
# usable, fails with a clear message and exit 1, never a crash. Kernels run
# on a GPU host only (tests/gpu/). Exit 77 (skipped) when llmcc was built
# without nvcc.
# usage: test_cuda_build.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
build=$(cd "$1" && pwd)
model=tests/fixtures/models/tinystories-656k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile "$model" -o "$tmp/x" --target cuda --emit-only --gen-dir "$tmp/probe" 2> "$tmp/probe.err"
if grep -q "built without nvcc" "$tmp/probe.err"; then echo "skipped: llmcc built without nvcc"; exit 77; fi
"$build/llmcc" compile "$model" -o "$tmp/sm90" --target cuda --gen-dir "$tmp/g90" 2> "$tmp/c90"
check "sm_90 f32 build" '[ -x "$tmp/sm90" ] || { cat "$tmp/c90"; head -30 "$tmp/g90/build.log"; false; }'
"$build/llmcc" compile "$model" -o "$tmp/sm80" --target cuda --arch sm_80 --dtype bf16 --gen-dir "$tmp/g80" 2> "$tmp/c80"
check "sm_80 bf16 build" '[ -x "$tmp/sm80" ] || { cat "$tmp/c80"; head -30 "$tmp/g80/build.log"; false; }'
# --gemm-input single: the SwiGLU projection hands bf16 rows to the down projection
# (compiler/codegen/spec.c bf16_handoff: kernels named _yb / _xb), every layer
"$build/llmcc" compile "$model" -o "$tmp/single" --target cuda --dtype bf16 --gemm-input single --kv-dtype bf16 \
  --gen-dir "$tmp/gs" 2> "$tmp/cs"
check "sm_90 bf16 --gemm-input single build" '[ -x "$tmp/single" ] || { cat "$tmp/cs"; head -30 "$tmp/gs/build.log"; false; }'
layers=$(grep -c 'mlp\.down_proj\.weight' "$tmp/gs/ir.txt")
check "bf16 hand-off in every layer" '[ "$layers" -gt 0 ] && [ "$(grep -c "^    k_norm_matmul_swiglu_[A-Za-z0-9_]*_yb(" "$tmp/gs/model.cu")" = "$layers" ] &&
  [ "$(grep -c "^    k_matmul_add_[A-Za-z0-9_]*_xb(" "$tmp/gs/model.cu")" = "$layers" ] ||
  { echo "layers $layers"; grep -n "_yb(\|_xb(" "$tmp/gs/model.cu" | head; false; }'
check "no hand-off without --gemm-input single" '! grep -q "_yb\|_xb" "$tmp/g90/model.cu" "$tmp/g80/model.cu"'
"$build/llmcc" compile "$model" -o "$tmp/sm90" --target cuda --emit-only --gen-dir "$tmp/again" 2>/dev/null
check "deterministic model.cu" 'cmp -s "$tmp/g90/model.cu" "$tmp/again/model.cu"'
check "generated code names its template" 'grep -q "templates/program/cuda/model.cu.lua" "$tmp/g90/model.cu"'
if ! nvidia-smi > /dev/null 2>&1; then
  "$tmp/sm90" info > /dev/null 2> "$tmp/err"; st=$?
  check "no GPU: exit 1 with a message" '[ $st = 1 ] && grep -q "no CUDA GPU found" "$tmp/err"'
fi
"$build/llmcc" compile "$model" -o "$tmp/x" --target cuda --arch sm_70 2> "$tmp/err"; st=$?
check "unsupported --arch" '[ $st = 1 ] && grep -q "sm_70" "$tmp/err"'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
