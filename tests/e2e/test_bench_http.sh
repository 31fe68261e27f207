#!/usr/bin/env bash
# `bench --url`, the HTTP load generator, on the compiled bundled model
# against tests/e2e/openai_fixture_server.py (a scripted OpenAI-compatible
# server, a test fixture only):
#  - concurrency and Poisson loads: counts, every JSON field, the requests
#    the server saw (streaming options, max_tokens, prompts that re-encode
#    to exactly --input-len tokens, lengths within the ranges), chat;
#  - events split across HTTP chunks / TCP writes and CR|LF, several tokens
#    per chunk, no usage (text re-tokenized), API key;
#  - errors: refused connection, 401 and 400 OpenAI bodies (partial and
#    total failure, exit status), malformed and truncated streams, a server
#    that does not stream, a timeout, bad URLs and bad options;
#  - then the same load against the model's own `serve` when it has one.
# No timing is asserted. usage: test_bench_http.sh BUILD_DIR (from the
# repository root).
set -uo pipefail
build=$(cd "$1" && pwd)
model=tests/fixtures/models/tinystories-656k
fixture=tests/e2e/openai_fixture_server.py
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile "$model" -o "$tmp/m" --gen-dir "$tmp/gen" 2> "$tmp/compile.log" ||
  { cat "$tmp/compile.log"; exit 1; }
m=$tmp/m

# start_fixture NAME [fixture flags...]: starts a fixture server logging to
# $tmp/NAME.log; sets $url.
start_fixture() {
  local name=$1; shift
  rm -f "$tmp/$name.port"
  python3 $fixture --port-file "$tmp/$name.port" --log "$tmp/$name.log" "$@" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$tmp/$name.port" ] && break; sleep 0.05; done
  url=http://127.0.0.1:$(cat "$tmp/$name.port")
}

# jcheck FILE PYTHON: runs PYTHON with j = the JSON of FILE.
jcheck() { python3 -c "import json, sys; j = json.load(open(sys.argv[1])); $2" "$1"; }

# ---- a concurrency load -------------------------------------------------------
start_fixture ok
"$m" bench --url "$url" --concurrency 4 --requests 12 --input-len 48 --output-len 24 \
  --json "$tmp/ok.json" > "$tmp/ok.out" 2> "$tmp/ok.err"; st=$?
check conc_runs '[ $st = 0 ]'
for want in "requests/s" "output tokens/s" "TTFT (ms)" "inter-token (ms)" "end-to-end (ms)" \
            "p50" "p99" "12 completed, 0 failed (success rate 100.0%)" "concurrency 4"; do
  check "conc prints $want" "grep -qF '$want' '$tmp/ok.out'"
done
check conc_json 'jcheck "$tmp/ok.json" "
assert j[\"mode\"] == \"http\" and j[\"endpoint\"] == \"completions\", j
assert j[\"url\"] == \"$url/v1/completions\", j[\"url\"]
assert j[\"requests\"] == 12 and j[\"concurrency\"] == 4 and j[\"request_rate\"] is None
assert j[\"completed\"] == 12 and j[\"failed\"] == 0 and j[\"success_rate\"] == 1.0
assert j[\"first_error\"] is None and j[\"errors\"] == [] and j[\"short_outputs\"] == 0
assert j[\"input_len\"] == 48 and j[\"output_len\"] == 24 and j[\"seed\"] == 0
assert j[\"mean_output_tokens\"] == 24.0
for k in (\"ttft_ms\", \"itl_ms\", \"e2e_ms\"):
    s = j[k]
    assert 0 <= s[\"p50\"] <= s[\"p90\"] <= s[\"p99\"] and s[\"mean\"] > 0, (k, s)
assert j[\"e2e_ms\"][\"mean\"] >= j[\"ttft_ms\"][\"mean\"]
assert j[\"requests_per_s\"] > 0 and j[\"output_tokens_per_s\"] > 0
assert abs(j[\"output_tokens_per_s\"] * j[\"duration_s\"] - 12 * 24) < 1e-3
"'
# the server saw 13 requests (the warm-up, with at most 4 tokens, then 12)
check conc_server_saw 'python3 - "$tmp/ok.log" "$tmp/ok.json" <<"PY"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
j = json.load(open(sys.argv[2]))
assert len(reqs) == 13, len(reqs)
assert reqs[0]["body"]["max_tokens"] == 4
for r in reqs:
    b = r["body"]
    assert r["path"] == "/v1/completions" and r["authorization"] is None
    assert b["stream"] is True and b["stream_options"] == {"include_usage": True}
    assert b["ignore_eos"] is True and b["temperature"] == 0 and "model" not in b
assert all(r["body"]["max_tokens"] == 24 for r in reqs[1:])
words = [len(r["body"]["prompt"].split()) for r in reqs[1:]]
assert abs(j["mean_input_tokens"] - sum(words) / 12) < 1e-6, (j["mean_input_tokens"], words)
assert len({r["body"]["prompt"] for r in reqs}) == 13      # no two prompts alike
PY'
python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.loads(l)["body"]["prompt"])' "$tmp/ok.log" > "$tmp/prompts.txt"
"$build/llmcc" tokenize "$model" --lines < "$tmp/prompts.txt" | awk '{print NF}' > "$tmp/ntok.txt"
check prompts_are_48_tokens '[ "$(tail -n +2 "$tmp/ntok.txt" | sort -u)" = 48 ]'

# the same seed gives the same prompts
"$m" bench --url "$url" --concurrency 4 --requests 12 --input-len 48 --output-len 24 > /dev/null 2>&1
check same_seed_same_prompts 'python3 - "$tmp/ok.log" <<"PY"
import json, sys
p = [json.loads(l)["body"]["prompt"] for l in open(sys.argv[1])]
assert len(p) == 26 and sorted(p[1:13]) == sorted(p[14:26])
PY'

# ---- Poisson arrivals, length ranges, chat --------------------------------------
start_fixture poisson
"$m" bench --url "$url" --request-rate 200 --seed 7 --requests 20 --input-len 40 \
  --input-len-range 0.5 --output-len 16 --output-len-range 0.25 --endpoint chat \
  --json "$tmp/poisson.json" > "$tmp/poisson.out" 2>&1; st=$?
check poisson_runs '[ $st = 0 ] && grep -q "Poisson arrivals at 200.000 requests/s" "$tmp/poisson.out"'
check poisson_json 'jcheck "$tmp/poisson.json" "
assert j[\"request_rate\"] == 200 and j[\"concurrency\"] is None and j[\"seed\"] == 7
assert j[\"endpoint\"] == \"chat\" and j[\"url\"].endswith(\"/v1/chat/completions\")
assert j[\"completed\"] == 20 and j[\"failed\"] == 0 and j[\"short_outputs\"] == 0
assert j[\"input_len_range\"] == 0.5 and j[\"output_len_range\"] == 0.25
"'
check poisson_lengths 'python3 - "$tmp/poisson.log" <<"PY"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])][1:]
assert len(reqs) == 20 and all(r["path"] == "/v1/chat/completions" for r in reqs)
out = [r["body"]["max_tokens"] for r in reqs]
assert all(12 <= o <= 20 for o in out) and len(set(out)) > 1, out
for r in reqs:
    m = r["body"]["messages"]
    assert len(m) == 1 and m[0]["role"] == "user"
PY'
python3 -c 'import json, sys
for l in list(open(sys.argv[1]))[1:]: print(json.loads(l)["body"]["messages"][0]["content"])' \
  "$tmp/poisson.log" > "$tmp/pp.txt"
"$build/llmcc" tokenize "$model" --lines < "$tmp/pp.txt" | awk '{print NF}' > "$tmp/pn.txt"
check poisson_input_range 'python3 -c "
import sys
n = [int(x) for x in open(sys.argv[1])]
assert len(n) == 20 and all(20 <= k <= 60 for k in n) and len(set(n)) > 3, n
" "$tmp/pn.txt"'
# a cap on the requests in flight with Poisson arrivals
"$m" bench --url "$url" --request-rate 500 --concurrency 2 --requests 6 --input-len 8 \
  --output-len 4 > "$tmp/cap.out" 2>&1; st=$?
check poisson_cap '[ $st = 0 ] && grep -q "at most 2 in flight" "$tmp/cap.out" && grep -q "6 completed" "$tmp/cap.out"'

# ---- split events, several tokens per chunk, no usage, API key -------------------
start_fixture split --split
"$m" bench --url "$url/" --concurrency 3 --requests 6 --input-len 16 --output-len 12 \
  --json "$tmp/split.json" > /dev/null 2>&1; st=$?
check split_events '[ $st = 0 ] && jcheck "$tmp/split.json" "assert j[\"completed\"] == 6 and j[\"mean_output_tokens\"] == 12"'
"$m" bench --url "$url" --endpoint chat --requests 3 --input-len 16 --output-len 12 \
  --json "$tmp/splitc.json" > /dev/null 2>&1; st=$?
check split_events_chat '[ $st = 0 ] && jcheck "$tmp/splitc.json" "assert j[\"completed\"] == 3"'
start_fixture multi --tokens-per-chunk 3
"$m" bench --url "$url" --concurrency 2 --requests 4 --input-len 16 --output-len 10 \
  --json "$tmp/multi.json" > /dev/null 2>&1; st=$?
check tokens_per_chunk '[ $st = 0 ] && jcheck "$tmp/multi.json" "assert j[\"completed\"] == 4 and j[\"mean_output_tokens\"] == 10 and j[\"itl_ms\"][\"mean\"] > 0"'
start_fixture nousage --no-usage
"$m" bench --url "$url" --requests 2 --input-len 16 --output-len 9 \
  --json "$tmp/nousage.json" > /dev/null 2>&1; st=$?
# "the the ... the" re-tokenized: one token per word
check no_usage_retokenized '[ $st = 0 ] && jcheck "$tmp/nousage.json" "assert j[\"mean_output_tokens\"] == 9 and j[\"mean_input_tokens\"] == 16, j"'
start_fixture key --api-key sekrit
"$m" bench --url "$url/v1" --api-key sekrit --requests 2 --input-len 8 --output-len 4 \
  --model tiny > /dev/null 2>&1; st=$?
check api_key_sent '[ $st = 0 ] && python3 - "$tmp/key.log" <<"PY"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) == 3
assert all(r["authorization"] == "Bearer sekrit" and r["body"]["model"] == "tiny" for r in reqs)
assert all(r["path"] == "/v1/completions" for r in reqs)     # base URL ending in /v1
PY'
"$m" bench --url "$url" --requests 2 --input-len 8 --output-len 4 > "$tmp/k401.out" 2> "$tmp/k401.err"; st=$?
check missing_key_401 '[ $st = 1 ] && grep -q "warm-up request to 127.0.0.1:[0-9]*/v1/completions failed: HTTP 401: Incorrect API key provided" "$tmp/k401.err"'

# ---- failures ---------------------------------------------------------------------
start_fixture partial --fail-every 3
"$m" bench --url "$url" --concurrency 2 --requests 12 --input-len 8 --output-len 4 \
  --json "$tmp/partial.json" > "$tmp/partial.out" 2> "$tmp/partial.err"; st=$?
# POSTs 1 (warm-up) .. 13: numbers 3, 6, 9, 12 fail
check partial_failures_exit_0 '[ $st = 0 ]'
check partial_failures_reported 'grep -q "8 completed, 4 failed (success rate 66.7%)" "$tmp/partial.out" && grep -q "first error            request [0-9]*: HTTP 400: fixture: request [0-9]* refused" "$tmp/partial.out"'
check partial_json 'jcheck "$tmp/partial.json" "
assert j[\"completed\"] == 8 and j[\"failed\"] == 4 and abs(j[\"success_rate\"] - 8 / 12) < 1e-9
assert j[\"first_error\"].startswith(\"HTTP 400: fixture: request \"), j[\"first_error\"]
assert len(j[\"errors\"]) == 4 and all(e[\"error\"].startswith(\"HTTP 400\") for e in j[\"errors\"])
"'
start_fixture allfail --fail-from 2 --status 503
"$m" bench --url "$url" --concurrency 2 --requests 5 --input-len 8 --output-len 4 \
  --json "$tmp/allfail.json" > "$tmp/allfail.out" 2> "$tmp/allfail.err"; st=$?
check all_failed_exit_1 '[ $st = 1 ] && grep -q "bench: all 5 requests failed; the first: HTTP 503: fixture: request [0-9]* refused" "$tmp/allfail.err"'
check all_failed_json 'grep -q "0 completed, 5 failed" "$tmp/allfail.out" && jcheck "$tmp/allfail.json" "assert j[\"completed\"] == 0 and j[\"failed\"] == 5 and j[\"success_rate\"] == 0"'

# expect_error NAME EXIT PATTERN FIXTURE-FLAGS... -- BENCH-ARGS...
expect_error() {
  local name=$1 want=$2 pat=$3; shift 3
  local flags=()
  while [ "$1" != -- ]; do flags+=("$1"); shift; done; shift
  start_fixture "$name" "${flags[@]}"
  "$m" bench --url "$url" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"; local st=$?
  check "$name" '[ $st = $want ] && grep -q "$pat" "$tmp/$name.err"' || { echo "  exit $st:"; cat "$tmp/$name.err"; }
}
expect_error malformed 1 "malformed stream: event 3 is not JSON" --malformed -- --requests 2 --input-len 8 --output-len 8
expect_error truncated 1 "closed the connection before the response ended" --truncate -- --requests 2 --input-len 8 --output-len 8
expect_error not_streaming 1 "HTTP 200 with Content-Type application/json, expected text/event-stream" --plain-json -- --requests 2 --input-len 8 --output-len 4
expect_error timeout 1 "timed out: no data from the server for 1 s (--timeout)" --stall 3 -- --requests 2 --input-len 8 --output-len 4 --timeout 1

# ---- no server, bad URLs, bad options ----------------------------------------------
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$m" bench --url "http://127.0.0.1:$port" --requests 2 2> "$tmp/refused.err"; st=$?
check refused '[ $st = 1 ] && grep -q "cannot connect to 127.0.0.1:$port: Connection refused" "$tmp/refused.err"'
bad_url() {
  local want_msg=$2 want_st=${3:-2}
  "$m" bench --url "$1" 2> "$tmp/badurl.err"; local st=$?
  check "bad url $1" '[ $st = $want_st ] && grep -qF -- "$want_msg" "$tmp/badurl.err"' || cat "$tmp/badurl.err"
}
bad_url "localhost:8000" "--url localhost:8000: expected http://HOST[:PORT][/PATH]"
bad_url "https://x:1" "https is not supported"
bad_url "http://:80" "no host"
bad_url "http://h:99999" "port '99999' is not a number in 1..65535"
bad_url "http://h:8x" "port '8x' is not a number"
bad_url "http://u@h:1" "user info"
bad_url "http://h:1/v1?x=1" "query strings and fragments are not supported"
bad_url "http://[::1:80" "without ']'"
bad_url "http://h:1/a b" "the path holds a space"
bad_url "http://no-such-host.invalid:80" "cannot resolve host 'no-such-host.invalid'" 1
bad_opt() {
  "$m" bench "$@" 2> "$tmp/badopt.err"; local st=$?
  check "bad option $*" '[ $st = 2 ] && grep -qF -- "$BAD_MSG" "$tmp/badopt.err"' || cat "$tmp/badopt.err"
}
BAD_MSG="--endpoint embeddings: expected completions or chat" bad_opt --url http://h:1 --endpoint embeddings
BAD_MSG="--request-rate 0: must be in (0, 1e6]" bad_opt --url http://h:1 --request-rate 0
BAD_MSG="--request-rate: expected a number, got 'fast'" bad_opt --url http://h:1 --request-rate fast
BAD_MSG="--input-len-range 1: must be in [0, 1)" bad_opt --url http://h:1 --input-len-range 1
BAD_MSG="--output-len-range -0.5: must be in [0, 1)" bad_opt --url http://h:1 --output-len-range -0.5
BAD_MSG="--timeout: 0 is out of range" bad_opt --url http://h:1 --timeout 0
BAD_MSG="go with --url" bad_opt --concurrency 2 --request-rate 3
BAD_MSG="go with --url" bad_opt --concurrency 2 --api-key k
BAD_MSG="are for the in-process benches" bad_opt --url http://h:1 --max-seqs 4
BAD_MSG="--url: missing value" bad_opt --url

# ---- the model's own server, when it has one ------------------------------------
if "$m" serve --help > /dev/null 2>&1; then
  "$m" serve --port 0 --chat-template chatml 2> "$tmp/serve.err" &
  pids+=($!)
  surl=
  for _ in $(seq 1 200); do
    surl=$(grep -o 'http://[0-9.:]*' "$tmp/serve.err" | head -1)
    [ -n "$surl" ] && break; sleep 0.05
  done
  for ep in completions chat; do
    "$m" bench --url "$surl" --endpoint $ep --concurrency 4 --requests 8 --input-len 32 \
      --output-len 16 --json "$tmp/serve_$ep.json" > "$tmp/serve_$ep.out" 2>&1; st=$?
    check "serve_$ep" '[ $st = 0 ] && jcheck "$tmp/serve_$ep.json" "
assert j[\"completed\"] == 8 and j[\"failed\"] == 0 and j[\"short_outputs\"] == 0, j
assert j[\"mean_output_tokens\"] == 16
"' || cat "$tmp/serve_$ep.out"
  done
  "$m" bench --url "$surl" --concurrency 4 --requests 8 --input-len 32 --output-len 16 \
    --json "$tmp/serve_prompt.json" > /dev/null 2>&1
  check serve_counts_prompt_tokens 'jcheck "$tmp/serve_prompt.json" "assert j[\"mean_input_tokens\"] == 32, j[\"mean_input_tokens\"]"'
else
  echo "note: this model has no serve command yet; the part against the real server is skipped"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
