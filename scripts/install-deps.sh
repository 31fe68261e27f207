#!/usr/bin/env bash
# Installs what building llmcc and compiling a model need, from Debian:
# a C compiler, CMake, Lua 5.4, jansson, PCRE2, utf8proc, xxHash, libevent
# (static archives are linked into every compiled model), cmocka for the
# tests, and curl and python3-venv for the server tests (test_serve*.sh; the
# openai package comes from PyPI into the build folder). Skips apt-get when
# everything is already there.
set -euo pipefail
pkgs=(build-essential cmake pkg-config python3 liblua5.4-dev libjansson-dev libpcre2-dev
      libutf8proc-dev libxxhash-dev libevent-dev libcmocka-dev curl python3-venv)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" > /dev/null
fi
