#!/usr/bin/env bash
# Compile the bundled TinyStories-656K model and tell a story (run from the repo root after scripts/setup.sh).
set -euo pipefail
build/llmcc compile tests/fixtures/models/tinystories-656k -o story
./story generate -p "Once upon a time, there was a little dog named Max." -n 150 --temperature 0.8 --top-p 0.9 --seed 7
