#!/usr/bin/env bash
# Serving throughput of a random-weight model of a real shape on a GPU host
# (scripts/pack-dev.sh filled .dev/): compiles it once for serving, then runs
# the in-process serving bench (`bench --concurrency C --requests R
# --input-len I --output-len O`) for each step token budget
# (--max-batch-tokens) named.
# usage: tests/gpu/serve_sweep.sh SHAPE C I O "BUDGETS" [COMPILE FLAGS...]
#   e.g. tests/gpu/serve_sweep.sh llama-3.1-8b 256 128 128 "256 2048" \
#          --max-tokens 2048 --max-context 1024 --gemm-input single --kv-dtype bf16
# Requests: 2C, or $REQUESTS when set. The model lands in /tmp/rand-SHAPE, the executable in
# /tmp/rand-SHAPE-serve.exe (kept for later calls); JSON results in $OUT
# when set.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/gpu/env.sh
s=$1 c=$2 il=$3 ol=$4 budgets=$5; shift 5
d=/tmp/rand-$s
[ -f "$d/config.json" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" 2>&1 | tail -1
exe=$d-serve.exe
$LLMCC compile "$d" -o "$exe" --target cuda --dtype bf16 "$@" 2>&1 | tail -1 || exit 1
rc=0
for b in $budgets; do
  echo "=== $s C=$c in=$il out=$ol --max-batch-tokens $b ($*)"
  "$exe" bench --concurrency "$c" --requests "${REQUESTS:-$((2 * c))}" --input-len "$il" --output-len "$ol" \
    --max-batch-tokens "$b" ${OUT:+--json "$OUT/serve-$s-c$c-b$b.json"} || rc=1
done
exit $rc
