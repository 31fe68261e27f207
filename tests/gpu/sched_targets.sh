#!/usr/bin/env bash
# The scheduler on the cuda target, on a GPU host (scripts/pack-dev.sh
# filled .dev/): test_batch.sh's 16 mixed requests through
# `generate --input` on the cpu and the cuda builds of MODEL (f32):
#  - every row is sampled on the device, penalties and logprobs included:
#    the engine's counters (LLMCC_ENGINE_STATS=1) show rows with a penalty
#    table and rows with logprobs sampled inside replayed decode graphs,
#    and no logits row copied to the host;
#  - the cuda results against the cpu ones: tokens, and logprobs within
#    1e-5 * max(1, |cpu|) over the tokens both chose alike;
#  - the cuda batch with graphs against the same batch eager
#    (LLMCC_NO_GRAPH=1) and against a penalty-table buffer of 16 entries
#    that steps must grow (graphs recaptured): same tokens and logprobs;
#  - the cuda batch against each request alone on cuda and against a
#    preempting pool (agreement is printed; the cuda kernels of a T-token
#    step and of a decode step may round differently, so a near-tie can
#    part them);
#  - the single-sequence path (`generate -p`) for the lines with penalties
#    or logprobs: on the device (counters), graphs and eager give the same
#    ids and byte-identical logprobs lines (T = 1 both ways: same logits),
#    and the cpu build's logprobs within the tolerance;
# then the serving bench at concurrency 1, 8 and 32.
# usage: tests/gpu/sched_targets.sh [MODEL] [SMALL_KV]   (repository root)
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/gpu/env.sh
model=${1:-tests/fixtures/models/tinystories-656k}
small_kv=${2:-192K}
chk=tests/e2e/batch_check.py
tol=1e-5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
result() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $2"; fi; }
$LLMCC compile "$model" -o "$tmp/cpu" --gen-dir "$tmp/gcpu" 2> "$tmp/c1" || { tail "$tmp/c1"; exit 1; }
$LLMCC compile "$model" -o "$tmp/gpu" --target cuda --gen-dir "$tmp/ggpu" 2> "$tmp/c2" ||
  { tail "$tmp/c2"; head -30 "$tmp/ggpu/build.log"; exit 1; }
python3 $chk mixed "$tmp/mixed.jsonl"
"$tmp/cpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/cpu.jsonl" 2>&1 | head -2
LLMCC_ENGINE_STATS=1 "$tmp/gpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/gpu.jsonl" 2> "$tmp/gpu.err"
result $? "cuda batch runs"; head -2 "$tmp/gpu.err"
echo "--- penalties and logprobs sampled on the device, inside the decode graphs"
python3 $chk engine-stats "$tmp/gpu.err"; result $? "device sampling (batch)"
echo "--- cuda batch vs cpu batch"; python3 $chk agree "$tmp/gpu.jsonl" "$tmp/cpu.jsonl"; result $? "cuda vs cpu"
echo "--- cuda logprobs vs cpu logprobs"; python3 $chk logprobs "$tmp/gpu.jsonl" "$tmp/cpu.jsonl" $tol
result $? "logprobs cuda vs cpu"
LLMCC_NO_GRAPH=1 "$tmp/gpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/eager.jsonl" 2>&1 | head -1
echo "--- cuda batch: graphs vs eager"; python3 $chk same "$tmp/gpu.jsonl" "$tmp/eager.jsonl"
result $? "graphs vs eager (tokens)"
python3 $chk logprobs "$tmp/gpu.jsonl" "$tmp/eager.jsonl" $tol; result $? "graphs vs eager (logprobs)"
LLMCC_ENGINE_STATS=1 LLMCC_PENALTY_TABLE_ENTRIES=16 "$tmp/gpu" generate --input "$tmp/mixed.jsonl" \
  --output "$tmp/grow.jsonl" 2> "$tmp/grow.err"
echo "--- cuda batch: a 16-entry penalty table that steps grow"; grep '^cuda engine:' "$tmp/grow.err"
grep -Eq 'grown [1-9][0-9]* times' "$tmp/grow.err" && python3 $chk same "$tmp/gpu.jsonl" "$tmp/grow.jsonl" &&
  python3 $chk logprobs "$tmp/grow.jsonl" "$tmp/gpu.jsonl" 0
result $? "growing penalty table"
mkdir "$tmp/alone"; python3 $chk split "$tmp/mixed.jsonl" "$tmp/alone"
for i in $(seq 1 16); do
  "$tmp/gpu" generate --input "$tmp/alone/$i.jsonl" --output "$tmp/alone/$i.out" 2>/dev/null
done
cat "$tmp"/alone/{1..16}.out > "$tmp/alone.jsonl"
echo "--- cuda batch vs cuda alone"; python3 $chk agree "$tmp/gpu.jsonl" "$tmp/alone.jsonl"; result $? "cuda alone"
"$tmp/gpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/small.jsonl" --kv-memory "$small_kv" \
  --max-batch-tokens 16 --max-seqs 8 2>&1 | head -2
echo "--- cuda batch vs cuda with a preempting pool"; python3 $chk agree "$tmp/gpu.jsonl" "$tmp/small.jsonl"
result $? "cuda small pool"
# lines 7 and 10 (repetition penalty; all three penalties) and 8 and 11
# (logprobs) of the mixed file, as `generate -p`
for i in 6 7 9 10; do
  python3 $chk generate-args "$tmp/mixed.jsonl" $i with-logprobs > "$tmp/args"
  kinds=penalties; lpf=()
  if grep -q -- --logprobs "$tmp/args"; then kinds=logprobs; fi
  echo "--- generate -p, line $((i + 1)) ($kinds)"
  for run in cpu gpu eager; do
    bin=$tmp/gpu; [ $run = cpu ] && bin=$tmp/cpu
    [ $kinds = logprobs ] && lpf=(--logprobs-file "$tmp/$run.lp")
    if [ $run = eager ]; then export LLMCC_NO_GRAPH=1; else unset LLMCC_NO_GRAPH; fi
    LLMCC_ENGINE_STATS=1 xargs -0 "$bin" generate --print-ids ${lpf[@]+"${lpf[@]}"} < "$tmp/args" \
      2> "$tmp/$run.err" | grep '^ids:' > "$tmp/$run.ids"
  done
  unset LLMCC_NO_GRAPH
  python3 $chk engine-stats "$tmp/gpu.err" $kinds; result $? "generate -p line $((i + 1)): device sampling"
  cmp "$tmp/gpu.ids" "$tmp/eager.ids" && { [ $kinds != logprobs ] || cmp "$tmp/gpu.lp" "$tmp/eager.lp"; }
  result $? "generate -p line $((i + 1)): graphs vs eager identical"
  cmp -s "$tmp/gpu.ids" "$tmp/cpu.ids" && echo "ids equal to the cpu build's" ||
    echo "ids differ from the cpu build's (a near tie between targets; the logprobs below are compared up to it)"
  if [ $kinds = logprobs ]; then
    python3 $chk logprobs-lines "$tmp/gpu.lp" "$tmp/cpu.lp" $tol; result $? "generate -p line $((i + 1)): logprobs vs cpu"
  fi
done
for c in 1 8 32; do
  echo "--- bench --concurrency $c"
  "$tmp/gpu" bench --concurrency $c --requests $((4 * c > 16 ? 4 * c : 16)) --input-len 128 \
    --output-len 128; result $? "bench $c"
done
echo "sched targets: $pass passed, $fail failed"
[ $fail = 0 ]
