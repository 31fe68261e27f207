#!/usr/bin/env bash
# Golden snapshot of the generated code for the bundled model: compiles
# tests/fixtures/models/tinystories-656k twice with --emit-only (fused, f32)
# and once unfused, requires the two fused outputs to be byte-identical
# (determinism, weights included) and model.c, ir.txt and manifest.json to
# equal the snapshots in tests/golden/. LLMCC_UPDATE_GOLDEN=1 rewrites the
# snapshots instead; review the diff before committing.
# usage: test_golden.sh BUILD_DIR   (run from the repository root)
set -euo pipefail
build=$(cd "$1" && pwd)
model=tests/fixtures/models/tinystories-656k
golden=tests/golden/tinystories-656k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/llmcc" compile "$model" --cpu-arch x86-64-v3 --emit-only --gen-dir "$tmp/a" 2>/dev/null
"$build/llmcc" compile "$model" --cpu-arch x86-64-v3 --emit-only --gen-dir "$tmp/b" 2>/dev/null
"$build/llmcc" compile "$model" --cpu-arch x86-64-v3 --emit-only --no-fuse --gen-dir "$tmp/unfused" 2>/dev/null
for f in model.c ir.txt manifest.json weights.bin tokenizer.json; do
  cmp "$tmp/a/$f" "$tmp/b/$f" || { echo "FAIL: $f differs between two compiles"; exit 1; }
done
if [ "${LLMCC_UPDATE_GOLDEN:-0}" = 1 ]; then
  mkdir -p "$golden/fused" "$golden/unfused"
  for f in model.c ir.txt manifest.json; do
    cp "$tmp/a/$f" "$golden/fused/$f"; cp "$tmp/unfused/$f" "$golden/unfused/$f"
  done
  echo "golden snapshots rewritten in $golden"; exit 0
fi
fail=0
for v in fused unfused; do
  src=$tmp/a; [ $v = unfused ] && src=$tmp/unfused
  for f in model.c ir.txt manifest.json; do
    if ! diff -u "$golden/$v/$f" "$src/$f" > "$tmp/diff"; then
      echo "FAIL: $v/$f differs from the snapshot:"; head -40 "$tmp/diff"; fail=1
    fi
  done
done
[ $fail = 0 ] && echo "1 passed, 0 failed" || { echo "0 passed, 1 failed"; exit 1; }
