#!/usr/bin/env bash
# Set up .venv (idempotent) and start the app on the bundled data and shipped weights, offline:
#   bash scripts/app.sh [streamlit options, e.g. --server.port 8502]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run streamlit_app.py --server.headless true "$@"
