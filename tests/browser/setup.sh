#!/usr/bin/env bash
# What the accessibility test of the HTML export needs: Debian's Chromium and axe-core from npm.
# Installs what is missing. In CI (CI=true) a failure stops the suite; elsewhere the test is skipped instead.
set -uo pipefail
cd "$(dirname "$0")"

fail() {
  echo "browser test setup: $1" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "browser test setup: the accessibility test will be skipped" >&2
  exit 0
}

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "browser test setup: installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; } \
      || fail "could not install chromium with apt-get"
  else
    fail "chromium is missing (install Debian's chromium package as root)"
  fi
fi

if [ ! -f node_modules/axe-core/axe.min.js ]; then
  command -v npm >/dev/null 2>&1 || fail "npm is missing (needed for axe-core)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci failed"
fi
