#!/usr/bin/env bash
# Bad input at the command line: each case must exit non-zero with a one-line
# error that names the file and the field/tensor/value, and never crash
# (status >= 128 would be a signal; ASan builds abort on a leak or overflow).
# usage: test_cli_errors.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
build=$(cd "$1" && pwd)
llmcc=$build/llmcc
good=tests/fixtures/models/tinystories-656k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0

# expect NAME WANT_STATUS NEEDLE... -- CMD...
expect() {
  local name=$1 want=$2; shift 2
  local needles=()
  while [ "$1" != -- ]; do needles+=("$1"); shift; done; shift
  "$@" > "$tmp/out" 2> "$tmp/err"; local st=$?
  local ok=1
  [ $st -eq "$want" ] || ok=0
  for n in "${needles[@]}"; do grep -qF -- "$n" "$tmp/err" || ok=0; done
  if [ $ok = 1 ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL $name: status $st (want $want), stderr:"; tail -5 "$tmp/err"; fi
}

hf_copy() { rm -rf "$tmp/m"; cp -r "$good" "$tmp/m"; }

hf_copy; head -c 100 "$good/model.safetensors" > "$tmp/m/model.safetensors"
expect truncated 1 "model.safetensors" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"

hf_copy; python3 - "$tmp/m/model.safetensors" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[0:8] = struct.pack("<Q", len(b) * 2)
open(p, "wb").write(b)
PY
expect header_past_end 1 "model.safetensors" "header" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"

hf_copy; python3 - "$tmp/m/model.safetensors" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
b[8:8 + n] = b"{" + b"x" * (n - 1)
open(p, "wb").write(b)
PY
expect header_not_json 1 "model.safetensors" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"

# rewrite one tensor's header entry (keeping the header length)
st_edit() {
python3 - "$tmp/m/model.safetensors" "$1" <<'PY'
import json, struct, sys
p, what = sys.argv[1], sys.argv[2]
b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); t = h["model.layers.0.mlp.up_proj.weight"]
if what == "offsets": t["data_offsets"] = [t["data_offsets"][0], len(b) * 4]
if what == "dtype": t["dtype"] = "I64"
if what == "missing": del h["model.layers.1.self_attn.k_proj.weight"]
if what == "shape":
    k = h["model.layers.0.mlp.up_proj.weight"]; k["shape"] = [192, 256]
s = json.dumps(h, separators=(",", ":")).encode(); s += b" " * (n - len(s))
assert len(s) == n
open(p, "wb").write(b[:8] + s + b[8 + n:])
PY
}
hf_copy; st_edit offsets
expect offsets_outside 1 "model.safetensors" "model.layers.0.mlp.up_proj.weight" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"
hf_copy; st_edit dtype
expect bad_dtype 1 "model.safetensors" "model.layers.0.mlp.up_proj.weight" "I64" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"
hf_copy; st_edit missing
expect missing_tensor 1 "model.layers.1.self_attn.k_proj.weight" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"
hf_copy; st_edit shape
expect shape_vs_config 1 "model.layers.0.mlp.up_proj.weight" "[192, 256]" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"

hf_copy; sed -i 's/LlamaForCausalLM/GPTNeoXForCausalLM/' "$tmp/m/config.json"
expect unknown_arch 1 "config.json" "GPTNeoXForCausalLM" -- "$llmcc" compile "$tmp/m" -o "$tmp/x" --gen-dir "$tmp/gen"
expect zero_max_tokens 2 "--max-tokens" "0" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --max-tokens 0
expect bad_kv_dtype 1 "--kv-dtype" "f8" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --kv-dtype f8
expect bad_gemm_input 1 "--gemm-input" "triple" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --gemm-input triple
expect bad_cuda_arch 1 "--arch" "sm_75" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --target cuda --arch sm_75

printf 'GGUX\003\000\000\000' > "$tmp/bad.gguf"; head -c 64 /dev/zero >> "$tmp/bad.gguf"
expect gguf_magic 1 "bad.gguf" "magic" -- "$llmcc" compile "$tmp/bad.gguf" -o "$tmp/x" --gen-dir "$tmp/gen"
printf 'GGUF\011\000\000\000' > "$tmp/v9.gguf"; head -c 64 /dev/zero >> "$tmp/v9.gguf"
expect gguf_version 1 "v9.gguf" "9" -- "$llmcc" compile "$tmp/v9.gguf" -o "$tmp/x" --gen-dir "$tmp/gen"

expect output_unwritable 1 "/nonexistent-dir/out" -- "$llmcc" compile "$good" -o /nonexistent-dir/out --gen-dir "$tmp/gen"
expect missing_model 1 "/no/such/model" -- "$llmcc" compile /no/such/model -o "$tmp/x" --gen-dir "$tmp/gen"
expect bad_dtype_flag 2 "--dtype" "q3" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --dtype q3
expect bad_pass 1 "--disable-pass" "fuse_everything" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --disable-pass fuse_everything
expect required_pass 1 "plan_memory" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --disable-pass plan_memory
expect unknown_command 2 "frobnicate" -- "$llmcc" frobnicate
expect bad_target 1 "--target" "tpu" -- "$llmcc" compile "$good" -o "$tmp/x" --gen-dir "$tmp/gen" --target tpu

# the compiled model's own argument errors
"$llmcc" compile "$good" -o "$tmp/story" --gen-dir "$tmp/gen" 2>/dev/null
expect gen_bad_temp 2 "--temperature" "-1" -- "$tmp/story" generate -p hi --temperature -1
expect gen_bad_topp 2 "--top-p" "1.5" -- "$tmp/story" generate -p hi --top-p 1.5
expect gen_missing_value 2 "-n" -- "$tmp/story" generate -p hi -n
expect gen_bad_id 1 "99999" -- "$tmp/story" generate --ids "1 99999"
expect gen_unknown_cmd 2 "frobnicate" -- "$tmp/story" frobnicate
cp "$tmp/story" "$tmp/cut"; truncate -s -100 "$tmp/cut"
expect payload_cut 1 "payload" -- "$tmp/cut" info

echo "$pass passed, $fail failed"
[ $fail = 0 ]
