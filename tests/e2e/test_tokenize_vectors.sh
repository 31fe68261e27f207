#!/usr/bin/env bash
# llama.cpp's tokenizer test vectors through `llmcc tokenize`: for each
# vocab-only GGUF in tests/fixtures/tok/vocab/, encode NAME.gguf.inp (texts
# separated by "\n__ggml_vocab_test__\n", no BOS) and compare line by line
# with NAME.gguf.out (llama.cpp writes a space before every id; stripped).
# Also checks that decoding the ids gives the .inp file back byte for byte
# (all texts are valid UTF-8 the vocabularies can represent).
# usage: test_tokenize_vectors.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
llmcc=$(cd "$1" && pwd)/llmcc
dir=tests/fixtures/tok/vocab
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
for gguf in "$dir"/ggml-vocab-*.gguf; do
  name=$(basename "$gguf" .gguf)
  if ! "$llmcc" tokenize "$gguf" --no-bos --split __ggml_vocab_test__ \
       < "$gguf.inp" > "$tmp/got" 2> "$tmp/err"; then
    echo "FAIL $name: llmcc tokenize exited $?: $(head -3 "$tmp/err")"
    fail=$((fail + 1)); continue
  fi
  sed 's/^ //' "$gguf.out" > "$tmp/want"
  n=$(wc -l < "$tmp/want")
  ok=$(paste -d '\t' "$tmp/want" "$tmp/got" | awk -F '\t' '$1 == $2' | wc -l)
  echo "$name: $ok/$n vectors"
  if [ "$ok" -eq "$n" ] && [ "$(wc -l < "$tmp/got")" -eq "$n" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); diff "$tmp/want" "$tmp/got" | head -10; fi
  if "$llmcc" tokenize "$gguf" --decode --split __ggml_vocab_test__ < "$tmp/got" > "$tmp/dec" &&
     cmp -s "$tmp/dec" "$gguf.inp"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL $name: decode does not give the .inp file back"
    cmp "$tmp/dec" "$gguf.inp" | head -3; fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
