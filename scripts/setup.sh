#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) — idempotent.
#   bash scripts/setup.sh          # runtime requirements
#   bash scripts/setup.sh --test   # plus the test requirements
# Re-running reuses .venv and installs only when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

py=${PYTHON:-}
if [[ -z "$py" ]]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1; then py=$cand; break; fi
  done
fi
[[ -n "$py" ]] || { echo "setup: Python 3.11 not found (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
"$py" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || {
  echo "setup: $py is $("$py" --version 2>&1); GMTNet Explorer needs Python >= 3.11" >&2; exit 1; }

[[ -x .venv/bin/python ]] || "$py" -m venv .venv

files=(requirements.txt pyproject.toml)
((want_test)) && files+=(requirements-test.txt)
stamp=".venv/.installed-$(cat "${files[@]}" | sha256sum | cut -c1-16)"
if [[ ! -e "$stamp" ]]; then
  echo "setup: installing requirements into .venv (first run takes a few minutes)"
  reqs=(-r requirements.txt)
  ((want_test)) && reqs+=(-r requirements-test.txt)
  # TORCH_INDEX_URL lets a machine without CUDA fetch the small CPU build of the same torch pin.
  .venv/bin/python -m pip install --disable-pip-version-check -q ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} "${reqs[@]}"
  .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
  .venv/bin/python -m pip check
  touch "$stamp"
fi
