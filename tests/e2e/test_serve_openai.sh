#!/usr/bin/env bash
# `serve` through the official openai Python package (tests/e2e/serve_openai.py):
# completions, chat, streaming, models, and the exceptions it raises for
# our error objects (BadRequestError, NotFoundError, AuthenticationError).
# The package comes from PyPI into a virtual environment in the build folder
# (BUILD_DIR/openai-venv, made once); without network access and without
# that environment the test is skipped (exit 77).
# usage: test_serve_openai.sh BUILD_DIR   (run from the repository root)
set -uo pipefail
build=$(cd "$1" && pwd)
venv=$build/openai-venv
if ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" > /dev/null 2>&1 ||
     ! "$venv/bin/python" -m pip install -q openai > "$build/openai-venv.log" 2>&1; then
    echo "skip: cannot install the openai package from PyPI (see $build/openai-venv.log)"
    exit 77
  fi
fi
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT
"$build/llmcc" compile tests/fixtures/models/tinystories-656k -o "$tmp/story" --gen-dir "$tmp/gen" \
  2> "$tmp/compile.log" || { cat "$tmp/compile.log"; exit 1; }
"$tmp/story" serve --port 0 --chat-template chatml --api-key test-key 2> "$tmp/serve.err" &
pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/serve.err")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the server did not start:"; cat "$tmp/serve.err"; exit 1; }
"$venv/bin/python" tests/e2e/serve_openai.py "http://127.0.0.1:$port/v1" test-key story; rc=$?
kill -TERM $pid; wait $pid; st=$?; pid=""
[ $st = 0 ] || { echo "FAIL: the server exited $st"; cat "$tmp/serve.err"; exit 1; }
exit $rc
