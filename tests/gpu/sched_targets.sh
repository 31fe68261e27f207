#!/usr/bin/env bash
# The scheduler on the cuda target, on a GPU host (scripts/pack-dev.sh
# filled .dev/): test_batch.sh's 16 mixed requests through
# `generate --input` on the cpu and the cuda builds of MODEL (f32): the
# cuda results against the cpu ones, the cuda batch against each request
# alone on cuda and against a preempting pool (agreement is printed; the
# cuda kernels of a T-token step and of a decode step may round
# differently, so a near-tie can part them), then the serving bench at
# concurrency 1, 8 and 32.
# usage: tests/gpu/sched_targets.sh [MODEL] [SMALL_KV]   (repository root)
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/gpu/env.sh
model=${1:-tests/fixtures/models/tinystories-656k}
small_kv=${2:-192K}
chk=tests/e2e/batch_check.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
result() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $2"; fi; }
$LLMCC compile "$model" -o "$tmp/cpu" --gen-dir "$tmp/gcpu" 2> "$tmp/c1" || { tail "$tmp/c1"; exit 1; }
$LLMCC compile "$model" -o "$tmp/gpu" --target cuda --gen-dir "$tmp/ggpu" 2> "$tmp/c2" ||
  { tail "$tmp/c2"; head -30 "$tmp/ggpu/build.log"; exit 1; }
python3 $chk mixed "$tmp/mixed.jsonl"
"$tmp/cpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/cpu.jsonl" 2>&1 | head -2
"$tmp/gpu" generate --input "$tmp/mixed.jsonl" --output "$tmp/gpu.jsonl" 2>&1 | head -2
result $? "cuda batch runs"
echo "--- cuda batch vs cpu batch"; python3 $chk agree "$tmp/gpu.jsonl" "$tmp/cpu.jsonl"; result $? "cuda vs cpu"
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
for c in 1 8 32; do
  echo "--- bench --concurrency $c"
  "$tmp/gpu" bench --concurrency $c --requests $((4 * c > 16 ? 4 * c : 16)) --input-len 128 \
    --output-len 128; result $? "bench $c"
done
echo "sched targets: $pass passed, $fail failed"
[ $fail = 0 ]
