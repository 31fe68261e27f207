#!/usr/bin/env bash
# run_lab.sh - builds and runs the cuda kernel lab (tests/gpu/lab_main.cu).
#
# usage: tests/gpu/run_lab.sh [BUILD_DIR] [SEED] [CASE_FILTER]
#        LAB_COMPILE_ONLY=1 tests/gpu/run_lab.sh [BUILD_DIR]   (build, do not run)
# Needs nvcc, gcc and a GPU; nothing else from the project's dependencies:
# the rendered kernels live in tests/gpu/lab-src/ (committed). When
# BUILD_DIR holds render_kernels (a normal cmake build, which needs Lua),
# they are re-rendered first. Compiles for the device's arch (nvidia-smi
# compute_cap), else sm_90 + sm_80; .cu files with warnings as errors.
# Prints one line per check, a table of timed kernels, "N passed, M failed";
# exit status non-zero on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-gpu-lab}
SEED=${2:-0x1234abcd}
FILTER=${3:-}
SRC=$ROOT/tests/gpu/lab-src
mkdir -p "$BUILD/gpu-lab"
OUT=$BUILD/gpu-lab
if [ -x "$BUILD/render_kernels" ]; then
  "$BUILD/render_kernels" "$ROOT" "$SRC"
fi
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
GEN=""
if command -v nvidia-smi > /dev/null 2>&1; then
  CAP=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .' || true)
  if [ -n "$CAP" ]; then GEN="-gencode arch=compute_${CAP},code=sm_${CAP}"; fi
fi
[ -n "$GEN" ] || GEN="-gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=sm_80"
echo "nvcc: $NVCC ($GEN)"
NVFLAGS="-O3 -std=c++17 $GEN -I$ROOT/runtime -I$SRC -Xcompiler -Wall,-Wextra -Werror all-warnings"
CFLAGS="-O2 -std=c11 -D_GNU_SOURCE -I$ROOT/runtime -Wall -Wextra"
if gcc -march=native -E - < /dev/null > /dev/null 2>&1; then CFLAGS="$CFLAGS -march=native"; fi
T0=$(date +%s)
pids=()
"$NVCC" $NVFLAGS -c "$SRC/lab_cuda.cu" -o "$OUT/lab_cuda.o" & pids+=($!)
"$NVCC" $NVFLAGS -c "$ROOT/runtime/gpu/gpu_sample.cu" -o "$OUT/gpu_sample.o" & pids+=($!)
"$NVCC" $NVFLAGS -c "$ROOT/runtime/gpu/gemm.cu" -o "$OUT/gemm.o" & pids+=($!)
"$NVCC" $NVFLAGS -c "$ROOT/tests/gpu/lab_main.cu" -o "$OUT/lab_main.o" & pids+=($!)
gcc $CFLAGS -c "$SRC/lab_cpu.c" -o "$OUT/lab_cpu.o" & pids+=($!)
gcc $CFLAGS -c "$ROOT/runtime/base/threadpool.c" -o "$OUT/threadpool.o" & pids+=($!)
gcc $CFLAGS -c "$ROOT/runtime/base/error.c" -o "$OUT/error.o" & pids+=($!)
gcc $CFLAGS -c "$ROOT/runtime/sample/sampler.c" -o "$OUT/sampler.o" & pids+=($!)
gcc $CFLAGS -c "$ROOT/runtime/sample/rng.c" -o "$OUT/rng.o" & pids+=($!)
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
if [ "$fail" != 0 ]; then echo "run_lab: compile failed"; exit 2; fi
"$NVCC" $GEN -o "$OUT/lab" "$OUT/lab_main.o" "$OUT/lab_cuda.o" "$OUT/gpu_sample.o" "$OUT/gemm.o" "$OUT/lab_cpu.o" \
  "$OUT/threadpool.o" "$OUT/error.o" "$OUT/sampler.o" "$OUT/rng.o" -lcublas -lcublasLt -lpthread -lm
echo "built in $(( $(date +%s) - T0 )) s"
# LAB_COMPILE_ONLY=1: stop here (a machine with nvcc but no GPU checks that
# the lab and gpu_sample.cu compile and link).
if [ "${LAB_COMPILE_ONLY:-0}" = 1 ]; then echo "compile only: $OUT/lab"; exit 0; fi
"$OUT/lab" "$SEED" $FILTER
