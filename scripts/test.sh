#!/usr/bin/env bash
# Install (first run) everything the tests need, the system Chromium and a CJK font included, and run them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
bash scripts/fonts.sh  # Chinese in the browser tests' screenshots (fonts-noto-cjk)
exec .venv/bin/python -m pytest "$@"
