#!/usr/bin/env bash
# The scheduler on the compiled bundled model (cpu target), as a user
# drives it through `generate --input` and the serving `bench`:
#  - 16 mixed requests (greedy and seeded sampling, top-k/top-p/min-p,
#    penalties, logprobs, n = 2, stop strings, prompts longer than one
#    step) give exactly the same tokens together as each one alone, and the
#    same as `generate -p` (the single-sequence path) for the n = 1 lines;
#  - the same with a KV pool so small that sequences are preempted and
#    recomputed, and a step budget of 16 tokens;
#  - a mixed-length workload keeps >= 95% of the used KV slots live;
#  - bad lines get error results in place, the others run;
#  - the progress bar appears on a terminal only;
#  - bench --concurrency prints and writes its metrics.
# usage: test_batch.sh BUILD_DIR   (run from the repository root)
# LLMCC_BATCH_MODEL picks another model, LLMCC_BATCH_SMALL_KV the pool of
# the preemption run (about 12 blocks), LLMCC_BATCH_PARTS=mixed runs only
# the first two parts (test_batch_smollm2.sh does all three for SmolLM2).
set -uo pipefail
build=$(cd "$1" && pwd)
model=${LLMCC_BATCH_MODEL:-tests/fixtures/models/tinystories-656k}
small_kv=${LLMCC_BATCH_SMALL_KV:-192K}
parts=${LLMCC_BATCH_PARTS:-all}
chk=tests/e2e/batch_check.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile "$model" -o "$tmp/m" --gen-dir "$tmp/gen" 2> "$tmp/compile.log" ||
  { cat "$tmp/compile.log"; exit 1; }
m=$tmp/m

# ---- 16 mixed requests: together, alone, through generate -p ---------------
python3 $chk mixed "$tmp/mixed.jsonl"
"$m" generate --input "$tmp/mixed.jsonl" --output "$tmp/batch.jsonl" 2> "$tmp/batch.err"; st=$?
check batch_runs '[ $st = 0 ] && [ $(wc -l < "$tmp/batch.jsonl") = 16 ]'
check batch_summary 'grep -q "batch: 16 requests (0 refused)" "$tmp/batch.err"'
check no_progress_bar_off_a_terminal '! grep -q $'"'"'\r'"'"' "$tmp/batch.err"'
mkdir "$tmp/alone"
python3 $chk split "$tmp/mixed.jsonl" "$tmp/alone"
alone=()
for i in $(seq 1 16); do
  "$m" generate --input "$tmp/alone/$i.jsonl" --output "$tmp/alone/$i.out" 2>/dev/null
  alone+=("$tmp/alone/$i.out")
done
check alone_equals_batch 'python3 $chk same "$tmp/batch.jsonl" "${alone[@]}"'
n_gen=0; gen_ok=1
for i in $(seq 0 15); do
  python3 $chk generate-args "$tmp/mixed.jsonl" $i > "$tmp/args"
  [ -s "$tmp/args" ] || continue
  xargs -0 "$m" generate --print-ids < "$tmp/args" 2>/dev/null | grep '^ids:' | sed 's/^ids: *//' > "$tmp/gen.ids"
  python3 $chk ids "$tmp/batch.jsonl" $i > "$tmp/batch.ids"
  cmp -s "$tmp/gen.ids" "$tmp/batch.ids" || { gen_ok=0; echo "line $((i+1)): generate -p $(cat "$tmp/gen.ids") / batch $(cat "$tmp/batch.ids")"; }
  n_gen=$((n_gen+1))
done
check batch_equals_generate_p '[ $gen_ok = 1 ] && [ $n_gen = 14 ]'
check sampled_lines_differ_by_seed 'python3 - "$tmp/batch.jsonl" <<"PY"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
a, b = r[13]["choices"]           # n = 2, temperature 0.8: seeds 113 and 114
assert a["seed"] == 113 and b["seed"] == 114 and a["token_ids"] != b["token_ids"]
c, d = r[8]["choices"]            # n = 2, greedy: the same tokens twice
assert c["token_ids"] == d["token_ids"]
assert r[0]["id"] == "req-0" and all(x["line"] == i + 1 for i, x in enumerate(r))
lp = r[7]["choices"][0]
assert len(lp["logprobs"]) == len(lp["token_ids"]) and len(lp["logprobs"][0]["top_logprobs"]) == 2
s = r[11]["choices"][0]
assert s["finish_reason"] != "stop" or s["stop_reason"] in ("stop_string", "eos")
PY'

# ---- preemption: a pool of 12 blocks, 16 tokens per step -------------------
"$m" generate --input "$tmp/mixed.jsonl" --output "$tmp/small.jsonl" --kv-memory "$small_kv" \
  --max-batch-tokens 16 --max-seqs 8 2> "$tmp/small.err"; st=$?
check small_pool_runs '[ $st = 0 ]'
check small_pool_preempts 'grep -Eq ", [1-9][0-9]* preemptions" "$tmp/small.err"'
check small_pool_same_tokens 'python3 $chk same "$tmp/batch.jsonl" "$tmp/small.jsonl"'

if [ "$parts" = mixed ]; then
  echo "$pass passed, $fail failed"
  [ $fail = 0 ]; exit
fi

# ---- KV use under a mixed-length workload --------------------------------
python3 $chk long "$tmp/long.jsonl"
"$m" generate --input "$tmp/long.jsonl" --output "$tmp/long.out" 2> "$tmp/long.err"
live=$(sed -n 's/.* \([0-9.]*\)% mean over steps.*/\1/p' "$tmp/long.err")
echo "mixed-length workload: $live% of the used KV slots live (mean over steps)"
check kv_live_at_least_95 'python3 -c "import sys; sys.exit(not float(sys.argv[1]) >= 95.0)" "$live"'

# ---- bad lines ------------------------------------------------------------
{ head -1 "$tmp/mixed.jsonl"; echo '{"prompt": "x", "top_p": 0}'; echo '{"prompt": 1}';
  echo 'oops'; echo '{"prompt": "x", "n": 99, "id": 7}'; sed -n 2p "$tmp/mixed.jsonl"; } > "$tmp/bad.jsonl"
"$m" generate --input "$tmp/bad.jsonl" --output "$tmp/bad.out" 2> "$tmp/bad.err"; st=$?
check bad_lines_exit_0 '[ $st = 0 ] && grep -q "batch: 6 requests (4 refused)" "$tmp/bad.err"'
check bad_lines_in_place 'python3 - "$tmp/bad.out" "$tmp/batch.jsonl" <<"PY"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
good = [json.loads(l) for l in open(sys.argv[2])]
assert [x["line"] for x in r] == [1, 2, 3, 4, 5, 6]
assert r[1]["error"] == "line 2: top_p 0: must be in (0, 1]", r[1]
assert r[2]["error"] == "line 3: field \"prompt\": expected a string, got an integer", r[2]
assert r[3]["error"].startswith("line 4: not valid JSON"), r[3]
assert r[4]["error"] == "line 5: n 99: must be in [1, 16]" and r[4]["id"] == 7, r[4]
assert r[0]["choices"][0]["token_ids"] == good[0]["choices"][0]["token_ids"]
assert r[5]["choices"][0]["token_ids"] == good[1]["choices"][0]["token_ids"]
PY'
"$m" generate --input "$tmp/nope.jsonl" 2> "$tmp/nf.err"; st=$?
check missing_input_file '[ $st = 1 ] && grep -q "nope.jsonl: cannot open" "$tmp/nf.err"'
"$m" generate --input "$tmp/mixed.jsonl" -p hi 2> "$tmp/both.err"; st=$?
check input_and_prompt_usage_error '[ $st = 2 ] && grep -q "give one of -p, --ids and --input" "$tmp/both.err"'

# ---- progress bar on a terminal --------------------------------------------
check progress_bar_on_a_terminal 'python3 - "$m" "$tmp/mixed.jsonl" "$tmp/tty.out" <<"PY"
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen([sys.argv[1], "generate", "--input", sys.argv[2], "--output", sys.argv[3]],
                     stderr=slave, stdout=subprocess.DEVNULL)
os.close(slave)
data = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    data += chunk
assert p.wait() == 0
assert b"\r[" in data and b"16/16 requests" in data, data[-300:]
PY'

# ---- serving bench ----------------------------------------------------------
"$m" bench --concurrency 4 --requests 12 --input-len 48 --output-len 24 --json "$tmp/bench.json" \
  > "$tmp/bench.out" 2> "$tmp/bench.err"; st=$?
check bench_runs '[ $st = 0 ]'
for want in "requests/s" "output tokens/s" "TTFT (ms)" "inter-token (ms)" "end-to-end (ms)" \
            "KV cache peak" "p50" "p99" "preemptions" "decodes only:" "with prompt chunks:"; do
  check "bench prints $want" "grep -qF '$want' '$tmp/bench.out'"
done
check bench_json 'python3 - "$tmp/bench.json" <<"PY"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["requests"] == 12 and j["concurrency"] == 4 and j["input_len"] == 48 and j["output_len"] == 24
for k in ("ttft_ms", "itl_ms", "e2e_ms"):
    s = j[k]
    assert 0 <= s["p50"] <= s["p90"] <= s["p99"] and s["mean"] > 0, (k, s)
assert j["output_tokens_per_s"] > 0 and j["requests_per_s"] > 0
assert 0 < j["kv"]["peak_used_blocks"] <= j["kv"]["blocks"] and 0 < j["kv"]["peak_live_pct"] <= 100
t = j["step_time"]
assert t["decode_steps"] + t["mixed_steps"] == j["steps"] and t["mixed_tokens"] >= 12 * 48, t
assert 0 < t["decode_engine_s"] + t["mixed_engine_s"] <= t["run_s"], t
PY'
"$m" bench --concurrency 2 --runs 2 2> "$tmp/bm.err"; st=$?
check bench_mixed_flags_usage_error '[ $st = 2 ] && grep -q "are for the batch-1 bench" "$tmp/bm.err"'
echo "$pass passed, $fail failed"
[ $fail = 0 ]
