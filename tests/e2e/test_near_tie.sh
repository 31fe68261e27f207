#!/usr/bin/env bash
# Reduced-precision builds against the float32 build on the cpu target
# (tests/e2e/near_tie.py): SmolLM2-135M-Instruct in bf16 and f16, 3 prompts
# x 100 greedy tokens: equal until the first near-tie, where the f32 top-2
# gap is within twice the largest logit difference. (TinyStories-656K's
# weights are bf16-exact, so its bf16 build equals f32 bit for bit and is not
# a test of anything.) Needs LLMCC_SMOLLM2_GGUF (scripts/fetch-smollm2.sh);
# skipped (77) without it.
set -euo pipefail
build=$1
gguf=${LLMCC_SMOLLM2_GGUF:-}
if [ -z "$gguf" ] || [ ! -f "$gguf" ]; then echo "skipped: no LLMCC_SMOLLM2_GGUF"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/llmcc" compile "$gguf" -o "$tmp/f32" --gen-dir "$tmp/g1" 2> /dev/null
for dt in bf16 f16; do
  "$build/llmcc" compile "$gguf" -o "$tmp/$dt" --dtype $dt --gen-dir "$tmp/g-$dt" 2> /dev/null
  echo "== $dt vs f32"
  python3 tests/e2e/near_tie.py --ref "$tmp/f32" --test "$tmp/$dt" --n 100
done
