#!/usr/bin/env bash
# WikiText-2 agreement: `llmcc tokenize --lines --no-bos` on the whole test
# split (tests/fixtures/eval/wiki.test.raw, one text per line, cut at "\n")
# must give exactly the ids Hugging Face gave (tests/fixtures/tok/wiki/,
# recorded by tests/fixtures/tok/make_wiki_reference.py):
#  - tinystories: the bundled model folder vs tokenizers on its tokenizer.json;
#  - smollm2: the GGUF tokenizer metadata (tests/fixtures/tok/smollm2-tokenizer.json,
#    or the GGUF itself when LLMCC_SMOLLM2_GGUF is set) vs transformers loading
#    the GGUF, except the lines in smollm2.exceptions.tsv, where llmcc follows
#    SmolLM2's tokenizer.json / llama.cpp on purpose (docs/architecture.md,
#    "Tokenizer reference"); those lines must give the ids listed there.
# usage: test_tokenize_wiki.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
llmcc=$(cd "$1" && pwd)/llmcc
wiki=tests/fixtures/eval/wiki.test.raw
ref=tests/fixtures/tok/wiki
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# check NAME PATH EXPECTED_FILE
check() {
  local name=$1 path=$2 want=$3
  if ! "$llmcc" tokenize "$path" --lines --no-bos < "$wiki" > "$tmp/got" 2> "$tmp/err"; then
    echo "FAIL $name: llmcc tokenize failed: $(head -3 "$tmp/err")"; fail=$((fail + 1)); return
  fi
  local total same
  total=$(wc -l < "$want")
  same=$(paste -d '\t' "$want" "$tmp/got" | awk -F '\t' '$1 == $2' | wc -l)
  echo "$name: $same/$total lines equal"
  if cmp -s "$want" "$tmp/got"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); diff "$want" "$tmp/got" | head -6 | cut -c1-200; fi
}

sha256sum --quiet -c <(head -1 "$ref/MANIFEST" | sed 's/ (input)$//; s|wiki.test.raw|'"$wiki"'|') ||
  { echo "FAIL: $wiki is not the file the reference was recorded from"; fail=$((fail + 1)); }

gunzip -c "$ref/tinystories.ids.gz" > "$tmp/tiny.want"
check tinystories tests/fixtures/models/tinystories-656k "$tmp/tiny.want"

# transformers' ids with the documented exceptions substituted
gunzip -c "$ref/smollm2.ids.gz" > "$tmp/smol.hf"
awk -F '\t' 'NR == FNR { exc[$1] = $2; n++; next } (FNR in exc) { print exc[FNR]; next } { print }
             END { print n + 0 " documented exceptions" > "/dev/stderr" }' \
  "$ref/smollm2.exceptions.tsv" "$tmp/smol.hf" > "$tmp/smol.want"
check smollm2-json tests/fixtures/tok/smollm2-tokenizer.json "$tmp/smol.want"
if [ -n "${LLMCC_SMOLLM2_GGUF:-}" ]; then
  check smollm2-gguf "$LLMCC_SMOLLM2_GGUF" "$tmp/smol.want"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
