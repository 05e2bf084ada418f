#!/usr/bin/env bash
# Set up .venv (idempotent; shares the install with scripts/test.sh) and start the app on the
# bundled data and shipped weights, offline, on http://127.0.0.1:8501 (.streamlit/config.toml):
#   bash scripts/app.sh [streamlit options, e.g. --server.port 8502]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run streamlit_app.py "$@"
