#!/usr/bin/env bash
# `chat` on compiled models: the bundled TinyStories model has no chat
# template (a clear error naming the choices; --chat-template chatml works,
# two input lines give two replies); with LLMCC_SMOLLM2_GGUF set, SmolLM2
# (its GGUF template is ChatML with a default system prompt) answers
# "What is the capital of France?" with Paris, greedily.
# usage: test_chat.sh BUILD_DIR   (run from the repository root)
set -euo pipefail
build=$(cd "$1" && pwd)
model=tests/fixtures/models/tinystories-656k
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
check() { if eval "$2"; then pass=$((pass+1)); else fail=$((fail+1)); echo "FAIL $1"; fi; }

"$build/llmcc" compile "$model" -o "$tmp/story" --gen-dir "$tmp/gen" 2> "$tmp/compile.log"
rc=0
printf 'Hi\n' | "$tmp/story" chat > "$tmp/none.out" 2> "$tmp/none.err" || rc=$?
check no_template_exit_1 '[ $rc = 1 ]'
check no_template_message 'grep -q "has no chat template" "$tmp/none.err"'
check no_template_choices 'grep -q "chatml, llama3, llama2, mistral, phi3" "$tmp/none.err"'
rc=0
printf 'Hi\nTell me a story.\n' | "$tmp/story" chat --chat-template chatml --temperature 0 -n 20 \
  > "$tmp/chatml.out" 2> "$tmp/chatml.err" || rc=$?
check chatml_runs '[ $rc = 0 ]'
check chatml_two_replies '[ $(wc -l < "$tmp/chatml.out") = 2 ]'
check chatml_summary 'grep -q "chat: 2 turns" "$tmp/chatml.err"'
check chatml_reuses_cache 'grep -Eq "[1-9][0-9]* reused from the KV cache" "$tmp/chatml.err"'
rc=0
"$tmp/story" chat --chat-template nope < /dev/null 2> "$tmp/bad.err" || rc=$?
check bad_template_usage_error '[ $rc = 2 ] && grep -q "unknown template .nope." "$tmp/bad.err"'

if [ -n "${LLMCC_SMOLLM2_GGUF:-}" ]; then
  "$build/llmcc" compile "$LLMCC_SMOLLM2_GGUF" -o "$tmp/smol" --gen-dir "$tmp/gen-smol" 2>/dev/null
  printf 'What is the capital of France?\n' | "$tmp/smol" chat --temperature 0 -n 40 \
    > "$tmp/smol.out" 2> "$tmp/smol.err"
  check smollm2_paris 'grep -q "Paris" "$tmp/smol.out"'
  check smollm2_end_of_turn '! grep -q "stopped" "$tmp/smol.err"'
  printf 'Hi\nWhat is 2+2?\n' | "$tmp/smol" chat --temperature 0 > "$tmp/smol2.out" 2>/dev/null
  check smollm2_two_replies '[ $(wc -l < "$tmp/smol2.out") -ge 2 ] && grep -q 4 "$tmp/smol2.out"'
else
  echo "skip SmolLM2 checks (set LLMCC_SMOLLM2_GGUF)"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
