#!/usr/bin/env bash
# --kv-dtype bf16 on the cpu target: the KV cache stored in bf16 (rounded to
# nearest even; every target rounds the same way). Against the f32-KV build
# of the same model: greedy tokens equal until the first near-tie
# (tests/e2e/near_tie.py), 3 prompts x 100 tokens of TinyStories-656K; and
# `info` reports the halved KV block size.
set -euo pipefail
build=$1
model=tests/fixtures/models/tinystories-656k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/llmcc" compile "$model" -o "$tmp/f32" --gen-dir "$tmp/g1" 2> /dev/null
"$build/llmcc" compile "$model" -o "$tmp/kvbf" --kv-dtype bf16 --gen-dir "$tmp/g2" 2> /dev/null
grep -q "kv_elem_bytes = 2" "$tmp/g2/model.c"
grep -q "llm_f32_to_bf16" "$tmp/g2/model.c"
python3 tests/e2e/near_tie.py --ref "$tmp/f32" --test "$tmp/kvbf" --n 100
