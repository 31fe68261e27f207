#!/usr/bin/env bash
# `serve` on the compiled bundled model (cpu target), driven with curl and
# tests/e2e/serve_check.py:
#  - /health, /v1/models, /metrics; completions and chat (with --chat-template
#    chatml: TinyStories has no template of its own), whole and streamed (SSE
#    ending in [DONE], a first chat delta with the role, usage chunk), usage
#    numbers, logprobs in both shapes, n = 2;
#  - greedy output through the server is token for token what `generate`
#    prints (token texts and logprobs of --logprobs);
#  - every error path: malformed JSON, wrong types, bad values, unknown and
#    unsupported fields, prompt over the context, max_tokens past it, 413, 401
#    (--api-key and LLMCC_API_KEY), 404 path and model, 405, 429
#    (--max-concurrency 1 --max-queue 0; and with --max-concurrency 2
#    --max-queue 1, requests that arrive while a step runs are counted as
#    if submitted at once), chat without a template;
#  - a client that hangs up (streaming or not) is cancelled and its KV blocks
#    freed; SIGTERM exits 0, idle or with a stream in flight (which ends with
#    an error event and [DONE]); bad flags and a busy port.
# usage: test_serve.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
build=$(cd "$1" && pwd)
model=tests/fixtures/models/tinystories-656k
chk="python3 tests/e2e/serve_check.py"
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile "$model" -o "$tmp/story" --gen-dir "$tmp/gen" 2> "$tmp/compile.log" ||
  { cat "$tmp/compile.log"; exit 1; }
m=$tmp/story

# start NAME ARGS...: runs `story serve --port 0 ARGS` in the background, sets
# port and pid (pid_NAME too) once it prints where it listens.
start() {
  local name=$1; shift
  "$m" serve --port 0 "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
  pid=$!; pids+=("$pid"); eval "pid_$name=$pid"
  port=""
  for _ in $(seq 300); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/$name.err")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "server $name did not start:"; cat "$tmp/$name.err"; exit 1; }
}
# post PATH JSON [curl args...]: body to $tmp/body, status printed.
post() { local p=$1 d=$2; shift 2; curl -s -o "$tmp/body" -w '%{http_code}' "$@" -H 'Content-Type: application/json' -d "$d" "http://127.0.0.1:$port$p"; }
get() { local p=$1; shift; curl -s -o "$tmp/body" -w '%{http_code}' "$@" "http://127.0.0.1:$port$p"; }
# jq-like: py EXPR evaluates EXPR with j = the last body as JSON.
py() { python3 -c "import json,sys; j=json.load(open('$tmp/body')); sys.exit(0 if ($1) else 1)"; }
err_is() { # STATUS PARAM [CODE]: the last reply is an OpenAI error object
  py "set(j['error']) == {'message','type','param','code'} and j['error']['param'] == ($2) and j['error']['message'] and j['error']['code'] == ($3)"
}

start main --chat-template chatml
main_port=$port

# ---- basic endpoints ----------------------------------------------------------
check health '[ "$(get /health)" = 200 ] && py "j == {\"status\": \"ok\"}"'
check models '[ "$(get /v1/models)" = 200 ] && py "j[\"object\"] == \"list\" and j[\"data\"][0][\"id\"] == \"story\" and j[\"data\"][0][\"object\"] == \"model\""'

# ---- completions ----------------------------------------------------------------
st=$(post /v1/completions '{"model": "story", "prompt": "Once upon a time", "max_tokens": 12, "ignore_eos": true, "temperature": 0, "user": "u1"}')
cp "$tmp/body" "$tmp/cmpl.json"
check completion_200 '[ $st = 200 ]'
check completion_object 'py "j[\"object\"] == \"text_completion\" and j[\"id\"].startswith(\"cmpl-\") and j[\"model\"] == \"story\" and isinstance(j[\"created\"], int) and j[\"choices\"][0][\"index\"] == 0 and j[\"choices\"][0][\"finish_reason\"] == \"length\" and len(j[\"choices\"][0][\"text\"]) > 0"'
check completion_usage 'py "j[\"usage\"] == {\"prompt_tokens\": 6, \"completion_tokens\": 12, \"total_tokens\": 18}"'
st=$(post /v1/completions '{"prompt": "Once upon a time", "max_tokens": 12, "ignore_eos": true, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}}')
cp "$tmp/body" "$tmp/cmpl.sse"
check stream_200_done '[ $st = 200 ] && $chk sse "$tmp/cmpl.sse" > "$tmp/stream.txt"'
check stream_text_equals_whole 'python3 -c "import json,sys; a=json.load(open(\"$tmp/stream.txt\")); b=json.load(open(\"$tmp/cmpl.json\"))[\"choices\"][0][\"text\"]; sys.exit(a != b)"'
check stream_chunks 'python3 - "$tmp/cmpl.sse" <<"PY"
import json, sys
ev = [json.loads(e[6:]) for e in open(sys.argv[1]).read().split("\n\n") if e.startswith("data: {")]
assert len(ev) >= 3 and all(e["object"] == "text_completion" and e["id"] == ev[0]["id"] for e in ev)
fin = [c["finish_reason"] for e in ev for c in e["choices"] if c["finish_reason"]]
assert fin == ["length"], fin
assert ev[-1]["choices"] == [] and ev[-1]["usage"] == {"prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18}
PY'
st=$(post /v1/completions '{"prompt": [1, 400, 300], "max_tokens": 3}')
check prompt_token_ids '[ $st = 200 ] && py "j[\"usage\"][\"prompt_tokens\"] == 3"'
st=$(post /v1/completions '{"prompt": ["Once upon a time"], "max_tokens": 3}')
check prompt_list_of_one '[ $st = 200 ] && py "j[\"usage\"][\"prompt_tokens\"] == 6"'
st=$(post /v1/completions '{"prompt": "Once upon a time", "max_tokens": 6, "n": 2, "temperature": 1.0, "seed": 3, "logprobs": 2, "stop": ["zzz"], "top_k": 40, "top_p": 0.9, "min_p": 0.01, "presence_penalty": 0.5, "frequency_penalty": 0.5, "repetition_penalty": 1.1, "echo": false, "best_of": 1, "logit_bias": {}, "stop_token_ids": [5]}')
check completion_n2_logprobs '[ $st = 200 ] && py "[c[\"index\"] for c in j[\"choices\"]] == [0, 1] and all(len(c[\"logprobs\"][\"tokens\"]) == len(c[\"logprobs\"][\"token_logprobs\"]) == len(c[\"logprobs\"][\"text_offset\"]) and all(len(t) <= 2 for t in c[\"logprobs\"][\"top_logprobs\"]) and c[\"logprobs\"][\"text_offset\"][0] == 0 for c in j[\"choices\"]) and j[\"usage\"][\"completion_tokens\"] == sum(len(c[\"logprobs\"][\"tokens\"]) for c in j[\"choices\"])"'

body='{"prompt": "Once upon a time", "max_tokens": 8, "n": 2, "temperature": 1.0, "seed": 11, "logprobs": 1, "ignore_eos": true'
post /v1/completions "$body}" > /dev/null; cp "$tmp/body" "$tmp/n2.json"
post /v1/completions "$body, \"stream\": true}" > /dev/null; cp "$tmp/body" "$tmp/n2.sse"
check stream_n2_equals_whole 'python3 - "$tmp/n2.sse" "$tmp/n2.json" <<"PY"
import json, sys
ev = [json.loads(e[6:]) for e in open(sys.argv[1]).read().split("\n\n") if e.startswith("data: {")]
whole = json.load(open(sys.argv[2]))["choices"]
for j in (0, 1):
    cs = [c for e in ev for c in e["choices"] if c["index"] == j]
    assert "".join(c["text"] for c in cs) == whole[j]["text"], (j, cs)
    assert [c["finish_reason"] for c in cs if c["finish_reason"]] == ["length"]
    toks = [t for c in cs for t in c["logprobs"]["tokens"]]
    offs = [o for c in cs for o in c["logprobs"]["text_offset"]]
    assert toks == whole[j]["logprobs"]["tokens"] and offs == whole[j]["logprobs"]["text_offset"], j
assert whole[0]["text"] != whole[1]["text"]
PY'

# ---- greedy: the server's tokens are generate's ------------------------------------
"$m" generate -p "Once upon a time" -n 40 --temperature 0 --logprobs 0 --logprobs-file "$tmp/gen.lp" > "$tmp/gen.txt" 2>/dev/null
st=$(post /v1/completions '{"prompt": "Once upon a time", "max_tokens": 40, "temperature": 0, "logprobs": 0}')
check greedy_equals_generate 'python3 - "$tmp/body" "$tmp/gen.lp" "$tmp/gen.txt" <<"PY"
import json, sys
c = json.load(open(sys.argv[1]))["choices"][0]
gen = [json.loads(l) for l in open(sys.argv[2])]
text = open(sys.argv[3]).read()
if c["finish_reason"] == "stop": gen = gen[:-1]     # EOS: in the --logprobs lines, not in the reply
assert c["logprobs"]["tokens"] == [g["token"] for g in gen], (c["logprobs"]["tokens"], gen)
assert all(abs(a - g["logprob"]) < 1e-5 for a, g in zip(c["logprobs"]["token_logprobs"], gen))
assert text.startswith(c["text"]) and text[len(c["text"]):].strip() == "", (text, c["text"])
PY'

# ---- chat -----------------------------------------------------------------------------
msgs='[{"role": "system", "content": "You tell stories."}, {"role": "user", "content": "Tell me a story."}]'
st=$(post /v1/chat/completions "{\"model\": \"story\", \"messages\": $msgs, \"max_completion_tokens\": 10, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2}")
cp "$tmp/body" "$tmp/chat.json"
check chat_200 '[ $st = 200 ] && py "j[\"object\"] == \"chat.completion\" and j[\"id\"].startswith(\"chatcmpl-\") and j[\"choices\"][0][\"message\"][\"role\"] == \"assistant\" and j[\"choices\"][0][\"finish_reason\"] in (\"stop\", \"length\") and j[\"usage\"][\"total_tokens\"] == j[\"usage\"][\"prompt_tokens\"] + j[\"usage\"][\"completion_tokens\"]"'
check chat_logprobs 'py "len(j[\"choices\"][0][\"logprobs\"][\"content\"]) == j[\"usage\"][\"completion_tokens\"] and all({\"token\", \"logprob\", \"bytes\", \"top_logprobs\"} <= set(t) and len(t[\"top_logprobs\"]) == 2 for t in j[\"choices\"][0][\"logprobs\"][\"content\"])"'
st=$(post /v1/chat/completions "{\"messages\": $msgs, \"max_tokens\": 10, \"temperature\": 0, \"stream\": true}")
cp "$tmp/body" "$tmp/chat.sse"
check chat_stream 'python3 - "$tmp/chat.sse" "$tmp/chat.json" <<"PY"
import json, sys
ev = [json.loads(e[6:]) for e in open(sys.argv[1]).read().split("\n\n") if e.startswith("data: {")]
assert open(sys.argv[1]).read().endswith("data: [DONE]\n\n")
assert all(e["object"] == "chat.completion.chunk" for e in ev)
assert ev[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
text = "".join(c["delta"].get("content", "") for e in ev[1:] for c in e["choices"])
assert text == json.load(open(sys.argv[2]))["choices"][0]["message"]["content"], text
assert ev[-1]["choices"][0]["finish_reason"] in ("stop", "length")
PY'
st=$(post /v1/chat/completions '{"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}], "max_tokens": 2, "tools": [], "response_format": {"type": "text"}, "parallel_tool_calls": false, "store": false, "metadata": {"a": "b"}}')
check chat_parts_and_neutral_fields '[ $st = 200 ]'

# ---- errors -----------------------------------------------------------------------------
st=$(post /v1/completions '{"prompt": "x",')
check malformed_json_400 '[ $st = 400 ] && err_is 400 None None && py "\"not valid JSON\" in j[\"error\"][\"message\"]"'
st=$(post /v1/completions '[1, 2]')
check body_not_object_400 '[ $st = 400 ] && err_is 400 None None'
st=$(post /v1/completions '{"prompt": "x", "temperature": "hot"}')
check wrong_type_400 '[ $st = 400 ] && err_is 400 "\"temperature\"" None && py "\"expected a number, got a string\" in j[\"error\"][\"message\"]"'
st=$(post /v1/completions '{"prompt": 5}')
check prompt_type_400 '[ $st = 400 ] && err_is 400 "\"prompt\"" None'
st=$(post /v1/completions '{"prompt": ["a", "b"]}')
check two_prompts_400 '[ $st = 400 ] && err_is 400 "\"prompt\"" None'
st=$(post /v1/completions '{"max_tokens": 3}')
check prompt_missing_400 '[ $st = 400 ] && err_is 400 "\"prompt\"" None'
st=$(post /v1/completions '{"prompt": "x", "top_p": 0}')
check bad_value_400 '[ $st = 400 ] && err_is 400 "\"top_p\"" None && py "\"top_p 0\" in j[\"error\"][\"message\"]"'
st=$(post /v1/completions '{"prompt": "x", "n": 99}')
check bad_n_400 '[ $st = 400 ] && err_is 400 "\"n\"" None'
st=$(post /v1/completions '{"prompt": "x", "logprobs": 21}')
check bad_logprobs_400 '[ $st = 400 ] && err_is 400 "\"logprobs\"" None'
st=$(post /v1/completions '{"prompt": "x", "max_tokens": 0}')
check bad_max_tokens_400 '[ $st = 400 ] && err_is 400 "\"max_tokens\"" None'
st=$(post /v1/completions '{"prompt": "x", "temprature": 1}')
check unknown_field_400 '[ $st = 400 ] && err_is 400 "\"temprature\"" None'
st=$(post /v1/completions '{"prompt": "x", "echo": true}')
check unsupported_echo_400 '[ $st = 400 ] && err_is 400 "\"echo\"" None && py "\"not supported\" in j[\"error\"][\"message\"]"'
st=$(post /v1/chat/completions '{"messages": [{"role": "tool", "content": "x"}]}')
check bad_role_400 '[ $st = 400 ] && err_is 400 "\"messages\"" None'
st=$(post /v1/chat/completions '{"messages": [{"role": "user", "content": "x"}], "logprobs": false, "top_logprobs": 2}')
check top_logprobs_without_logprobs_400 '[ $st = 400 ] && err_is 400 "\"top_logprobs\"" None'
long=$(python3 -c "print(' '.join(['Once upon a time there was a dog.'] * 100))")
st=$(post /v1/completions "{\"prompt\": \"$long\"}")
check prompt_over_context_400 '[ $st = 400 ] && err_is 400 "\"prompt\"" "\"context_length_exceeded\""'
st=$(post /v1/chat/completions "{\"messages\": [{\"role\": \"user\", \"content\": \"$long\"}]}")
check chat_over_context_400 '[ $st = 400 ] && err_is 400 "\"messages\"" "\"context_length_exceeded\""'
st=$(post /v1/completions '{"prompt": "x", "max_tokens": 600}')
check max_tokens_past_context_400 '[ $st = 400 ] && err_is 400 "\"max_tokens\"" "\"context_length_exceeded\""'
st=$(post /v1/completions '{"prompt": "x", "model": "gpt-4"}')
check unknown_model_404 '[ $st = 404 ] && err_is 404 "\"model\"" "\"model_not_found\""'
python3 -c "import json; print(json.dumps({'prompt': 'x' * (1 << 20)}))" > "$tmp/big.json"
st=$(curl -s -o "$tmp/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/big.json" "http://127.0.0.1:$port/v1/completions")
check body_too_large_413 '[ $st = 413 ] && err_is 413 None "\"request_too_large\""'
python3 -c "import json; print(json.dumps({'prompt': 'x' * (17 << 20)}))" > "$tmp/huge.json"
st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$tmp/huge.json" "http://127.0.0.1:$port/v1/completions")
check body_past_hard_limit_413 '[ $st = 413 ]'
rm -f "$tmp/huge.json"
st=$(get /v1/nope)
check unknown_path_404 '[ $st = 404 ] && err_is 404 None "\"not_found\""'
st=$(get /v1/completions)
check wrong_method_405 '[ $st = 405 ] && err_is 405 None "\"method_not_allowed\""'
check allow_header 'curl -s -D - -o /dev/null "http://127.0.0.1:$port/v1/completions" | grep -qi "^allow: POST"'
st=$(post /health '{}')
check health_post_405 '[ $st = 405 ]'
st=$(post /v1/completions '{"prompt": "Once upon a time", "max_tokens": 3}')
check good_after_bad_200 '[ $st = 200 ]'

# ---- cancellation: clients that hang up ---------------------------------------------------
check stream_disconnect_frees_blocks '$chk disconnect $port'
check hangup_cancels '$chk hangup $port'

# ---- metrics ------------------------------------------------------------------------------
st=$(get /metrics)
cp "$tmp/body" "$tmp/metrics.txt"
check metrics_200 '[ $st = 200 ]'
for want in 'llmcc_requests_total{code="200"}' 'llmcc_requests_total{code="400"}' \
    'llmcc_requests_total{code="404"}' 'llmcc_requests_total{code="405"}' \
    '# TYPE llmcc_time_to_first_token_seconds histogram' 'llmcc_time_to_first_token_seconds_bucket{le="+Inf"}' \
    'llmcc_inter_token_latency_seconds_count' 'llmcc_e2e_request_latency_seconds_sum' \
    'llmcc_requests_waiting 0' 'llmcc_sequences_running 0' 'llmcc_kv_blocks_used 0' \
    'llmcc_kv_blocks_total' 'llmcc_prompt_tokens_total' 'llmcc_generation_tokens_total' \
    'llmcc_requests_cancelled_total 2'; do
  check "metrics has $want" "grep -qF '$want' '$tmp/metrics.txt'"
done
check metrics_counts 'python3 - "$tmp/metrics.txt" <<"PY"
import sys
v = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in open(sys.argv[1]) if l[0] != "#"}
assert v["llmcc_time_to_first_token_seconds_count"] >= 9 and v["llmcc_prompt_tokens_total"] > 0
assert v["llmcc_generation_tokens_total"] >= 12 + 12 + 40
assert v["llmcc_kv_blocks_total"] > 0
b = [v[k] for k in v if k.startswith("llmcc_e2e_request_latency_seconds_bucket")]
assert b == sorted(b) and b[-1] == v["llmcc_e2e_request_latency_seconds_count"]
PY'

# ---- SIGTERM with nothing in flight: exit 0 ------------------------------------------------------
kill -TERM $pid_main; wait $pid_main; st=$?
check sigterm_exit_0 '[ $st = 0 ] && grep -q "serve: stopped" "$tmp/main.err"'

# ---- no chat template; API key ----------------------------------------------------------------
start keyed --api-key sekret
st=$(post /v1/completions '{"prompt": "x", "max_tokens": 2}')
check missing_key_401 '[ $st = 401 ] && err_is 401 None "\"invalid_api_key\""'
st=$(post /v1/completions '{"prompt": "x", "max_tokens": 2}' -H 'Authorization: Bearer wrong')
check wrong_key_401 '[ $st = 401 ] && err_is 401 None "\"invalid_api_key\""'
st=$(post /v1/completions '{"prompt": "x", "max_tokens": 2}' -H 'Authorization: Bearer sekret')
check right_key_200 '[ $st = 200 ]'
check health_needs_no_key '[ "$(get /health)" = 200 ]'
st=$(post /v1/chat/completions '{"messages": [{"role": "user", "content": "Hi"}]}' -H 'Authorization: Bearer sekret')
check no_template_400 '[ $st = 400 ] && err_is 400 "\"messages\"" None && py "\"no chat template\" in j[\"error\"][\"message\"] and \"chatml\" in j[\"error\"][\"message\"]"'
kill -TERM $pid_keyed; wait $pid_keyed
LLMCC_API_KEY=envkey start envkey
st=$(post /v1/models '{}' -X GET -H 'Authorization: Bearer envkey')
check env_key_200 '[ $st = 200 ]'
st=$(get /v1/models)
check env_key_401 '[ $st = 401 ]'
kill -TERM $pid_envkey; wait $pid_envkey

# ---- 429; shutdown with a stream in flight ---------------------------------------------------------
start capacity --max-concurrency 2 --max-queue 1
check capacity_during_steps '$chk capacity $port'
kill -TERM $pid_capacity; wait $pid_capacity
start limited --max-concurrency 1 --max-queue 0 --shutdown-timeout 0
check rate_limit_429 '$chk rate-limit $port'
check sigterm_cancels_stream '$chk shutdown $port $pid_limited'
wait $pid_limited; st=$?
check sigterm_with_stream_exit_0 '[ $st = 0 ] && grep -q "serve: stopped" "$tmp/limited.err"'

# ---- bad flags, busy port -------------------------------------------------------------------------
"$m" serve --port 70000 2> "$tmp/flag.err"; st=$?
check bad_port_usage_error '[ $st = 2 ] && grep -q "\-\-port: 70000 is out of range" "$tmp/flag.err"'
"$m" serve --temperature 0 2> "$tmp/flag.err"; st=$?
check unknown_flag_usage_error '[ $st = 2 ] && grep -q "unknown option" "$tmp/flag.err"'
python3 -c "import socket,time,sys; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)" > "$tmp/busy.port" &
busy=$!; pids+=("$busy")
for _ in $(seq 50); do [ -s "$tmp/busy.port" ] && break; sleep 0.1; done
"$m" serve --port "$(cat "$tmp/busy.port")" 2> "$tmp/busy.err"; st=$?
check busy_port_error '[ $st = 1 ] && grep -q "cannot listen on 127.0.0.1:$(cat "$tmp/busy.port")" "$tmp/busy.err"'
kill $busy 2>/dev/null

echo "$pass passed, $fail failed"
[ $fail = 0 ]
