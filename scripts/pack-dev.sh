#!/usr/bin/env bash
# Builds llmcc (Release, with the cuda target) and copies what a GPU host
# needs to run it into .dev/ (git-ignored): llmcc, libllmcc_rt.a,
# libllmcc_gpu.a and the static jansson, PCRE2, utf8proc, xxHash and libevent archives that
# compiled models link. tests/gpu/env.sh points llmcc at them there.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-dev -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build-dev -j"$(nproc)" --target llmcc llmcc_rt llmcc_gpu > /dev/null
rm -rf .dev && mkdir .dev
cp build-dev/llmcc build-dev/libllmcc_rt.a build-dev/libllmcc_gpu.a .dev/
for a in libjansson.a libpcre2-8.a libutf8proc.a libxxhash.a libevent_extra.a libevent_core.a; do cp "/usr/lib/x86_64-linux-gnu/$a" .dev/; done
du -sh .dev
