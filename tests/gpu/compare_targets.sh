#!/usr/bin/env bash
# The cuda build against the cpu build of the same model and dtype (same
# maths, other summation order): greedy ids for 3 prompts x N tokens must be
# identical, and logits of 16 positions within 1e-4 relative.
# usage: compare_targets.sh MODEL DTYPE [N]      (on a GPU host; env.sh sourced)
set -uo pipefail
model=$1 dtype=$2 n=${3:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$LLMCC compile "$model" -o "$tmp/cpu" --dtype "$dtype" --gen-dir "$tmp/gcpu" 2> "$tmp/c1" || { tail "$tmp/c1"; exit 1; }
$LLMCC compile "$model" -o "$tmp/gpu" --target cuda ${CUDA_FLAGS:-} --dtype "$dtype" --gen-dir "$tmp/ggpu" 2> "$tmp/c2" || { tail "$tmp/c2"; cat "$tmp/ggpu/build.log" | head -30; exit 1; }
pass=0; fail=0
for ids in "1 80 147 201 282 215 286 598 629 10" "1 2 3 4 5 6 7 8" "7 100 1000 33 12"; do
  "$tmp/cpu" generate --ids "$ids" --no-bos -n "$n" --temperature 0 --ignore-eos --print-ids 2>/dev/null | grep '^ids:' > "$tmp/a"
  "$tmp/gpu" generate --ids "$ids" --no-bos -n "$n" --temperature 0 --ignore-eos --print-ids 2> "$tmp/gerr" | grep '^ids:' > "$tmp/b"
  if cmp -s "$tmp/a" "$tmp/b" && [ -s "$tmp/a" ]; then pass=$((pass+1)); else
    fail=$((fail+1)); echo "FAIL ids differ for prompt [$ids]"; head -c 300 "$tmp/a"; echo; head -c 300 "$tmp/b"; echo; tail -3 "$tmp/gerr"; fi
done
ids16=$(seq 1 16 | awk '{printf "%d ", ($1*37)%1000+3}')
"$tmp/cpu" generate --ids "$ids16" --no-bos -n 0 --dump-logits "$tmp/la" 2>/dev/null
"$tmp/gpu" generate --ids "$ids16" --no-bos -n 0 --dump-logits "$tmp/lb" 2>/dev/null
if python3 - "$tmp/la" "$tmp/lb" <<'PY'
import sys, numpy as np
a = np.fromfile(sys.argv[1], "<f4"); b = np.fromfile(sys.argv[2], "<f4")
ok = a.size == b.size and a.size > 0
err = float(np.abs(a - b).max() / np.abs(a).max()) if ok else float("inf")
print(f"logits: {a.size} values, max relative error cuda vs cpu {err:.2e}")
sys.exit(0 if ok and err <= 1e-4 else 1)
PY
then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL logits"; fi
"$tmp/gpu" info | grep -E "device|target" | head -3
echo "$(basename "$model") $dtype: $pass passed, $fail failed"
[ $fail = 0 ]
