#!/usr/bin/env bash
# Make sure the system has a CJK font, so Chinese renders in the charts and in the browser (lang=zh):
# installs Debian's fonts-noto-cjk with apt when `fc-list :lang=zh` finds none. Never fails: without a
# package manager, root or a network it says so and returns 0 (the app then shows Chinese as boxes).
set -uo pipefail
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  exit 0
fi
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo -n"
if command -v apt-get >/dev/null 2>&1 \
   && { $sudo_cmd apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 \
        || { $sudo_cmd apt-get update -qq >/dev/null 2>&1 && $sudo_cmd apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1; }; }; then
  exit 0
fi
echo "vnviz: no CJK font found and fonts-noto-cjk could not be installed (apt-get as root needed);" \
     "Chinese text (lang=zh) will show as boxes until one is installed." >&2
exit 0
