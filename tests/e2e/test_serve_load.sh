#!/usr/bin/env bash
# `serve` under load on the compiled bundled model (cpu target):
#  - CLIENTS concurrent streaming clients send REQUESTS completions of 8
#    tokens (default 64 and 2000; LLMCC_SERVE_LOAD="16 200" for a smaller
#    run) while a raw client keeps a stream open and never reads it: every
#    request succeeds (status 200, SSE ending in [DONE], finish_reason
#    length, usage), and afterwards no KV block is used;
#  - with --max-stream-buffer 65536, a client that never reads a long stream
#    (about 8 MB of chunks) is cut off: its request is cancelled, its blocks
#    freed, and the server answers the next request;
#  - SIGTERM then exits 0.
# usage: test_serve_load.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
build=$(cd "$1" && pwd)
read -r clients requests <<< "${LLMCC_SERVE_LOAD:-64 2000}"
chk="python3 tests/e2e/serve_check.py"
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile tests/fixtures/models/tinystories-656k -o "$tmp/story" --gen-dir "$tmp/gen" \
  2> "$tmp/compile.log" || { cat "$tmp/compile.log"; exit 1; }
"$tmp/story" serve --port 0 --max-stream-buffer 65536 > "$tmp/serve.out" 2> "$tmp/serve.err" &
pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/serve.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start:"; cat "$tmp/serve.err"; exit 1; }

check "load_${clients}_clients_${requests}_requests" '$chk load $port $clients $requests'
check slow_reader_cut_off '$chk slow-reader $port'
check served_after_slow_reader '[ "$(curl -s -o /dev/null -w "%{http_code}" -d "{\"prompt\": \"Hi\", \"max_tokens\": 2}" "http://127.0.0.1:$port/v1/completions")" = 200 ]'
kill -TERM $pid; wait $pid; st=$?; pid=""
check sigterm_exit_0 '[ $st = 0 ] && grep -q "serve: stopped" "$tmp/serve.err"'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
