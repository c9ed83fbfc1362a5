#!/usr/bin/env bash
# Install (first run) and start the vnviz app on http://localhost:${PORT:-8501}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
bash scripts/fonts.sh  # a CJK font for lang=zh (Debian's fonts-noto-cjk); only warns when it cannot install one
# streamlit run, with torch and the library imported while the server starts (scripts/serve.py)
exec .venv/bin/python scripts/serve.py run app.py --server.port "${PORT:-8501}" "$@"
