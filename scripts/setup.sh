#!/usr/bin/env bash
# The main job on a fresh machine: install dependencies, build llmcc,
# compile the bundled TinyStories-656K model into ONE executable (./story)
# and run it to print a story.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" > /dev/null
build/llmcc compile tests/fixtures/models/tinystories-656k -o story
./story info | head -20
./story generate -p "One day, a little girl named Lily" -n 150 --temperature 0.7 --top-p 0.9 --seed 42
