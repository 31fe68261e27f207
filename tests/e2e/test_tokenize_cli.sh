#!/usr/bin/env bash
# `llmcc tokenize` at the command line: BOS policy, the three ways of cutting
# the input, encode/decode round trips, and bad input (exit 1 with a message
# naming the file or value; usage errors exit 2; never a signal).
# usage: test_tokenize_cli.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
llmcc=$(cd "$1" && pwd)/llmcc
tiny=tests/fixtures/models/tinystories-656k
smol=tests/fixtures/tok/smollm2-tokenizer.json
gpt2=tests/fixtures/tok/vocab/ggml-vocab-gpt-2.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# expect NAME WANT_STATUS NEEDLE... -- CMD...   (stdin from $tmp/in)
expect() {
  local name=$1 want=$2; shift 2
  local needles=()
  while [ "$1" != -- ]; do needles+=("$1"); shift; done; shift
  "$@" < "$tmp/in" > "$tmp/out" 2> "$tmp/err"; local st=$?
  local ok=1
  [ $st -eq "$want" ] || ok=0
  for n in "${needles[@]}"; do grep -qF -- "$n" "$tmp/err" || ok=0; done
  if [ $ok = 1 ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL $name: status $st (want $want), stderr:"; tail -3 "$tmp/err"; fi
}
# same STDOUT_WANT NAME -- checks the last command's stdout
same() {
  if [ "$(cat "$tmp/out")" = "$1" ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL $2: stdout '$(head -c 200 "$tmp/out")', want '$1'"; fi
}

printf 'Once upon a time' > "$tmp/in"
expect bos_default 0 -- "$llmcc" tokenize "$tiny"
same "1 $("$llmcc" tokenize "$tiny" --no-bos < "$tmp/in")" bos_default_ids
expect no_bos_gguf 0 -- "$llmcc" tokenize "$smol"
[ "$(cut -d' ' -f1 "$tmp/out")" != 0 ] && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL smollm2 added BOS"; }

printf 'Hello world\n\nline three\n' > "$tmp/in"
expect lines 0 -- "$llmcc" tokenize "$gpt2" --lines
same "$(printf '15496 995\n\n1370 1115')" lines_ids
cp "$tmp/out" "$tmp/in"
expect lines_decode 0 -- "$llmcc" tokenize "$gpt2" --decode --lines
same "$(printf 'Hello world\n\nline three')" lines_round_trip
printf 'a\nSEP\n\nSEP\nb c\nSEP\n' > "$tmp/in"
cp "$tmp/in" "$tmp/orig"
expect split 0 -- "$llmcc" tokenize "$smol" --no-bos --split SEP
cp "$tmp/out" "$tmp/in"
expect split_decode 0 -- "$llmcc" tokenize "$smol" --decode --split SEP
cmp -s "$tmp/out" "$tmp/orig" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL split round trip"; }
printf 'caf\xc3\xa9 \xf0\x9f\x98\x80 <|im_start|>user\n' > "$tmp/in"
cp "$tmp/in" "$tmp/orig"
expect whole 0 -- "$llmcc" tokenize "$smol"
cp "$tmp/out" "$tmp/in"
expect whole_decode 0 -- "$llmcc" tokenize "$smol" --decode
cmp -s "$tmp/out" "$tmp/orig" && pass=$((pass+1)) || { fail=$((fail+1)); echo "FAIL whole round trip"; }
expect bench 0 "MB/s" -- "$llmcc" tokenize "$smol" --bench

: > "$tmp/in"
expect missing_file 1 "$tmp/nope.gguf" "no such file" -- "$llmcc" tokenize "$tmp/nope.gguf"
printf '{"format": "gguf", "meta": ' > "$tmp/bad.json"
expect bad_json 1 "$tmp/bad.json" -- "$llmcc" tokenize "$tmp/bad.json"
printf '{"hello": 1}' > "$tmp/notok.json"
expect not_tokenizer_json 1 "$tmp/notok.json" "not a tokenizer description" -- "$llmcc" tokenize "$tmp/notok.json"
head -c 200 "$gpt2" > "$tmp/trunc.gguf"
expect truncated_gguf 1 "$tmp/trunc.gguf" -- "$llmcc" tokenize "$tmp/trunc.gguf"
mkdir "$tmp/empty_dir"
expect dir_no_tokenizer 1 "tokenizer.json" -- "$llmcc" tokenize "$tmp/empty_dir"
printf '15496 abc 995\n' > "$tmp/in"
expect id_not_integer 1 "line 1" '"abc" is not a token id' -- "$llmcc" tokenize "$gpt2" --decode
printf '1\n15496 50257\n' > "$tmp/in"
expect id_out_of_range 1 "line 2" "token id 50257 is out of range" "50257 tokens" -- "$llmcc" tokenize "$gpt2" --decode
printf -- '-1\n' > "$tmp/in"
expect id_negative 1 "token id -1 is out of range" -- "$llmcc" tokenize "$gpt2" --decode
printf '99999999999999999999\n' > "$tmp/in"
expect id_huge 1 "is not a token id" -- "$llmcc" tokenize "$gpt2" --decode
expect no_path 2 "needs a PATH" -- "$llmcc" tokenize
expect bad_option 2 "--frobnicate" -- "$llmcc" tokenize "$gpt2" --frobnicate
expect split_no_value 2 "--split" -- "$llmcc" tokenize "$gpt2" --split
expect two_paths 2 "one PATH" -- "$llmcc" tokenize "$gpt2" "$gpt2"

# hand-made GGUF v3: no tensors, no general.* or architecture keys
mkgguf() {
  python3 - "$@" <<'PY'
import struct, sys
out, with_tok = sys.argv[1], sys.argv[2] == "1"
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
def kv_str(k, v): return s(k) + struct.pack("<I", 8) + s(v)
def kv_arr(k, vs): return s(k) + struct.pack("<IIQ", 9, 8, len(vs)) + b"".join(s(v) for v in vs)
kvs = [kv_str("tokenizer.ggml.model", "gpt2"), kv_arr("tokenizer.ggml.tokens", ["a", "b", "ab"]),
       kv_arr("tokenizer.ggml.merges", ["a b"])] if with_tok else [kv_str("general.name", "x")]
open(out, "wb").write(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs))
PY
}
mkgguf "$tmp/tok_only.gguf" 1
printf 'abba' > "$tmp/in"
expect gguf_tokenizer_only 0 -- "$llmcc" tokenize "$tmp/tok_only.gguf"
same "2 1 0" gguf_tokenizer_only_ids
mkgguf "$tmp/no_tok.gguf" 0
expect gguf_without_tokenizer 1 "$tmp/no_tok.gguf" "tokenizer.ggml.model" -- "$llmcc" tokenize "$tmp/no_tok.gguf"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
