#!/usr/bin/env bash
# Build the same model fused and unfused; both must give the same greedy tokens; compare speed.
set -euo pipefail
model=${1:-tests/fixtures/models/tinystories-656k}
build/llmcc compile "$model" -o fused
build/llmcc compile "$model" -o unfused --no-fuse
for m in fused unfused; do
  echo "== $m"; ./$m generate -p "Once upon a time" -n 100 --temperature 0 --print-ids | tail -1
done
