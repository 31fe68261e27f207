#!/usr/bin/env bash
# The GPU test and benchmark suite, run on a GPU host from the repository
# root after scripts/pack-dev.sh has filled .dev/ on the build machine:
#   tests/gpu/run_suite.sh STAGE...
# stages:
#   lab            kernel lab: every cuda kernel vs its cpu template, timed
#   tiny           TinyStories-656K: cuda vs cpu build, f32 and bf16, 200 tokens
#   smol GGUF      SmolLM2-135M-Instruct (GGUF path): cuda vs cpu, f32 and bf16,
#                  and the f32 cuda build against the recorded HF reference
#   random SHAPE   random-weight model (make_random_model.py shapes): logits
#                  vs transformers bf16 on the GPU, then bench (16 + 128)
#   single SHAPE   as random, built --gemm-input single --kv-dtype bf16 (bf16
#                  activations into the products, bf16 KV): the 16-token prompt
#                  takes the tensor-core path, query tiles and the bf16 hand-off
#   speed SHAPE    random model without references: compile (defaults) and bench
#   bench SHAPE    bench only (model in /tmp/rand-SHAPE from a random stage)
#   pdl SHAPE      bench the model in /tmp/rand-SHAPE with --pdl off, wait, early
#   tinypdl        TinyStories cuda (f32, --pdl wait and early) vs cpu
#   sched          the scheduler on cuda (tests/gpu/sched_targets.sh, TinyStories):
#                  every sampling option on the device, against the cpu build
#   neartie MODEL  cuda bf16 build vs cuda f32 build (tests/e2e/near_tie.py):
#                  logits within the bf16 error, greedy equal until a near-tie;
#                  with --hf when MODEL is a Hugging Face folder
#   errors         a model compiled for a newer arch (sm_100), and the 8B
#                  random model (/tmp/rand-llama-3.1-8b.exe) with most of the
#                  GPU's memory taken by another process: each must exit
#                  non-zero with its message, never crash or hang
# Each stage prints its own summary; the script ends with "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/gpu/env.sh
pass=0; fail=0
stage() { echo "=== $*"; }
result() { if [ "$1" = 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAILED: $2"; fi; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
while [ $# -gt 0 ]; do
  case $1 in
  lab) stage lab; bash tests/gpu/run_lab.sh /tmp/lab 2>&1 | tail -60; result "${PIPESTATUS[0]}" lab ;;
  tiny) for dt in f32 bf16; do stage "tiny $dt"
          bash tests/gpu/compare_targets.sh tests/fixtures/models/tinystories-656k $dt 200; result $? "tiny $dt"; done ;;
  smol) shift; g=$1
        for dt in f32 bf16; do stage "smol $dt"; bash tests/gpu/compare_targets.sh "$g" $dt 200; result $? "smol $dt"; done
        stage "smol vs HF reference"
        python3 tests/e2e/check_reference.py --llmcc "$LLMCC" --model "$g" \
          --reference tests/e2e/reference/smollm2-135m-instruct-q4_1.json --compile-flag=--target --compile-flag=cuda
        result $? "smol vs HF" ;;
  random) shift; s=$1; d=/tmp/rand-$s; stage "random $s"
        [ -f "$d/ref-logits-f32.bin" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" --ref-ids 16 2>&1 | grep -v Warning | tail -2
        /usr/bin/time -f "compile wall %e s" $LLMCC compile "$d" -o "$d.exe" --target cuda --dtype bf16 2>&1 | tail -4
        "$d.exe" generate --ids "$(cat $d/ref-ids.txt)" --no-bos -n 0 --dump-logits "$d/ours.bin" 2>&1 | tail -1
        python3 tests/gpu/compare_hf.py "$d" "$d/ours.bin"; result $? "random $s vs HF"
        "$d.exe" bench --prompt-len 16 --gen-len 128 --runs 3; result $? "bench $s" ;;
  pdl) shift; s=$1; d=/tmp/rand-$s
        [ -f "$d/config.json" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" 2>&1 | tail -1
        for m in off wait early; do stage "pdl $m $s"
          $LLMCC compile "$d" -o "$d-$m.exe" --target cuda --dtype bf16 --pdl $m 2>&1 | tail -1
          "$d-$m.exe" bench --prompt-len 16 --gen-len 128 --runs 3 | grep -E "decode|ratio"; result $? "pdl $m $s"
          rm -f "$d-$m.exe"; done ;;
  tinypdl) for m in wait early; do stage "tiny f32 --pdl $m"
          CUDA_FLAGS="--pdl $m" bash tests/gpu/compare_targets.sh tests/fixtures/models/tinystories-656k f32 200; result $? "tiny pdl $m"; done ;;
  sched) stage sched; bash tests/gpu/sched_targets.sh; result $? sched ;;
  single) shift; s=$1; d=/tmp/rand-$s; stage "single $s: --gemm-input single --kv-dtype bf16 vs HF"
        [ -f "$d/ref-logits-f32.bin" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" --ref-ids 16 2>&1 | grep -v Warning | tail -2
        $LLMCC compile "$d" -o "$d-single.exe" --target cuda --dtype bf16 --gemm-input single --kv-dtype bf16 2>&1 | tail -1
        "$d-single.exe" generate --ids "$(cat $d/ref-ids.txt)" --no-bos -n 0 --dump-logits "$d/ours-single.bin" 2>&1 | tail -1
        python3 tests/gpu/compare_hf.py --single "$d" "$d/ours-single.bin"; result $? "single $s vs HF" ;;
  speed) shift; s=$1; d=/tmp/rand-$s; stage "speed $s"
        [ -f "$d/config.json" ] || python3 tests/gpu/make_random_model.py --shape "$s" --out "$d" 2>&1 | tail -1
        $LLMCC compile "$d" -o "$d.exe" --target cuda --dtype bf16 2>&1 | tail -1
        "$d.exe" bench --prompt-len 16 --gen-len 128 --runs 3; result $? "speed $s" ;;
  neartie) shift; m=$1; stage "neartie $m"; t=$(mktemp -d)
        $LLMCC compile "$m" -o "$t/f32" --target cuda --dtype f32 2>&1 | tail -1
        $LLMCC compile "$m" -o "$t/bf16" --target cuda --dtype bf16 2>&1 | tail -1
        hf=(); [ -f "$m/config.json" ] && hf=(--hf "$m")
        python3 tests/e2e/near_tie.py --ref "$t/f32" --test "$t/bf16" --n 200 "${hf[@]}"; result $? "neartie $m"
        rm -rf "$t" ;;
  errors) stage "errors: newer arch"; t=$(mktemp -d)
        $LLMCC compile tests/fixtures/models/tinystories-656k -o "$t/new" --target cuda --arch sm_100 2>&1 | tail -1
        timeout 60 "$t/new" generate --ids "1 2 3" -n 4 > "$t/out" 2>&1; rc=$?; cat "$t/out"
        [ $rc != 0 ] && [ $rc -lt 124 ] && grep -q "compute capability" "$t/out"; result $? "newer arch"
        e=/tmp/rand-llama-3.1-8b.exe
        if [ -x "$e" ]; then
          for hold in 70 52; do stage "errors: $hold GiB held by another process"
            timeout 120 python3 -c "
import subprocess, sys, torch
x = torch.empty($hold * 2**30, dtype=torch.uint8, device='cuda')
p = subprocess.run(['$e', 'generate', '--ids', '1 2 3', '-n', '4'], capture_output=True, text=True)
print(p.stderr.strip()[-400:]); print('exit', p.returncode); sys.exit(0 if 0 < p.returncode < 124 and 'memory' in p.stderr else 1)"
            result $? "memory held $hold"; done
        else echo "no $e (run a random/speed llama-3.1-8b stage first)"; fi
        rm -rf "$t" ;;
  bench) shift; d=/tmp/rand-$1; stage "bench $1"; "$d.exe" bench --prompt-len 16 --gen-len 128 --runs 3; result $? "bench $1" ;;
  *) echo "unknown stage $1"; exit 2 ;;
  esac
  shift
done
echo "$pass passed, $fail failed"
[ $fail = 0 ]
