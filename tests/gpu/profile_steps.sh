#!/usr/bin/env bash
# Where a serving step's time goes, kernel by kernel, on a GPU host: runs the
# serving bench of EXE under Nsight Compute (ncu, one metric: each kernel's
# duration), skipping the first SKIP kernel launches and timing the next
# COUNT, then sums the durations by kernel (name up to its template
# arguments) and prints them, largest first, with their share.
# usage: tests/gpu/profile_steps.sh EXE SKIP COUNT BENCH-ARGS...
#   e.g. tests/gpu/profile_steps.sh /tmp/rand-llama-3.1-8b-serve.exe 6000 800 \
#          --concurrency 256 --requests 256 --input-len 128 --output-len 128 --max-batch-tokens 1024
# ncu serialises kernels, so PDL overlap is lost: the sum is an upper bound
# on the kernels' share of a step.
set -uo pipefail
exe=$1 skip=$2 count=$3; shift 3
csv=$(mktemp)
ncu --metrics gpu__time_duration.sum --launch-skip "$skip" --launch-count "$count" --csv \
    --clock-control none --cache-control none "$exe" bench "$@" > "$csv" 2> "$csv.err" || { tail -20 "$csv.err"; exit 1; }
python3 - "$csv" <<'PY'
import csv, re, sys, collections
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
head = rows[0]; rows = rows[1:]
ki, mi, vi = head.index("Kernel Name"), head.index("Metric Name"), head.index("Metric Value")
unit = head.index("Metric Unit")
tot = collections.Counter(); n = collections.Counter()
for r in rows:
    if r[mi] != "gpu__time_duration.sum": continue
    v = float(r[vi].replace(",", ""))
    v = v / 1e3 if r[unit] == "nsecond" else v * (1e3 if r[unit] == "msecond" else 1)
    name = re.sub(r"\(.*", "", r[ki]); name = re.sub(r"<.*", "", name)
    name = re.sub(r"^void ", "", name)
    m = re.match(r"^(k_[a-z_]+?)_[TL]\d+.*?((?:_[a-z]+)?)$", name)
    name = m.group(1) + m.group(2) if m else name[:70]
    tot[name] += v; n[name] += 1
s = sum(tot.values())
print(f"{len(rows)} kernels timed, {s/1e3:.2f} ms in all")
for k, v in tot.most_common(30):
    print(f"{v/1e3:9.3f} ms {100*v/s:5.1f}%  x{n[k]:<5d} {k}")
PY
rm -f "$csv" "$csv.err"
