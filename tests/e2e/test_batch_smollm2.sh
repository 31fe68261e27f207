#!/usr/bin/env bash
# test_batch.sh's first parts on SmolLM2-135M (LLMCC_SMOLLM2_GGUF): 16 mixed
# requests give the same tokens together, alone, through `generate -p`,
# and with a pool of 12 blocks (9 MiB of float32 K/V) that forces
# preemption. Slow (a few minutes on two cores); skipped (77) without the
# model.
# usage: test_batch_smollm2.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
if [ -z "${LLMCC_SMOLLM2_GGUF:-}" ]; then
  echo "skip: set LLMCC_SMOLLM2_GGUF (scripts/fetch-smollm2.sh)"
  exit 77
fi
LLMCC_BATCH_MODEL=$LLMCC_SMOLLM2_GGUF LLMCC_BATCH_SMALL_KV=9M LLMCC_BATCH_PARTS=mixed \
  exec bash tests/e2e/test_batch.sh "$1"
