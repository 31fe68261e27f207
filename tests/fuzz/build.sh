#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang, ASan and UBSan into
# build-fuzz/ (run from the repository root; see tests/fuzz/README.md).
set -euo pipefail
out=${1:-build-fuzz}
mkdir -p "$out/corpus-encode" "$out/corpus-decoder"
cc=${CC:-clang}
flags=(-g -O1 -std=c11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 -DUTF8PROC_STATIC
       -DLLMCC_FIXTURES="\"$PWD/tests/fixtures\"" -Iruntime -Icompiler)
srcs=(runtime/tok/*.c runtime/base/error.c runtime/base/mapped_file.c compiler/load/*.c)
libs=(-ljansson -lpcre2-8 -lutf8proc -lm -lpthread)
for t in fuzz_tok_encode fuzz_tok_decoder; do
  "$cc" "${flags[@]}" "tests/fuzz/$t.c" "${srcs[@]}" "${libs[@]}" -o "$out/$t"
done
# seeds: the llama.cpp test texts
cp tests/fixtures/tok/vocab/*.inp "$out/corpus-encode/" 2>/dev/null || true
