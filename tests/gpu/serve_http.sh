#!/usr/bin/env bash
# Serving through HTTP against serving in process, on a GPU host
# (scripts/pack-dev.sh filled .dev/): compiles a random-weight model of SHAPE
# once (kept as /tmp/rand-SHAPE-http.exe), then for each concurrency C starts
# `serve --port 0 --max-seqs MAXSEQS`, loads it with `bench --url` (streaming
# completions, R requests, I input / O output tokens, EOS ignored), stops it,
# and runs the in-process `bench --concurrency C` with the same load, so the
# two can be compared line by line. JSON results go to $OUT when set.
# usage: tests/gpu/serve_http.sh SHAPE "CONCURRENCIES" R I O MAXSEQS [COMPILE FLAGS...]
#   R = 0: 2 x C requests
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/gpu/env.sh
s=$1 cs=$2 r=$3 il=$4 ol=$5 ms=$6; shift 6
d=/tmp/rand-$s
[ -f "$d/config.json" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" 2>&1 | tail -1
exe=$d-http.exe
[ -x "$exe" ] || $LLMCC compile "$d" -o "$exe" --target cuda --dtype bf16 "$@" 2>&1 | tail -1
rc=0
for c in $cs; do
  n=$r; [ "$n" = 0 ] && n=$((2 * c))
  log=$(mktemp)
  "$exe" serve --port 0 --max-seqs "$ms" 2> "$log" &
  pid=$!
  url=
  for _ in $(seq 1 600); do
    url=$(grep -o 'http://[0-9.:]*' "$log" | head -1); [ -n "$url" ] && break; sleep 0.1
  done
  [ -n "$url" ] || { echo "serve did not start:"; cat "$log"; kill $pid; exit 1; }
  echo "=== $s over HTTP: C=$c, $n requests, $il in / $ol out"
  "$exe" bench --url "$url" --concurrency "$c" --requests "$n" --input-len "$il" --output-len "$ol" \
    ${OUT:+--json "$OUT/http-$s-c$c.json"} || rc=1
  curl -s "$url/metrics" | grep -E "^llmcc_(kv_blocks_used|requests_total)" | head -4
  kill -TERM $pid; wait $pid; tail -1 "$log"; rm -f "$log"
  echo "=== $s in process: C=$c, $n requests, $il in / $ol out"
  "$exe" bench --concurrency "$c" --requests "$n" --input-len "$il" --output-len "$ol" --max-seqs "$ms" \
    ${OUT:+--json "$OUT/inproc-$s-c$c.json"} || rc=1
done
exit $rc
