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

# One stamp per layer, so that app.sh (runtime) after test.sh (runtime + test) reinstalls nothing,
# and test.sh after app.sh installs only the test requirements.
stamp() { echo ".venv/.installed-$1-$(cat "${@:2}" | sha256sum | cut -c1-16)"; }
pip_install() {
  # TORCH_INDEX_URL lets a machine without CUDA fetch the small CPU build of the same torch pin.
  .venv/bin/python -m pip install --disable-pip-version-check -q ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} "$@"
}
runtime_stamp=$(stamp runtime requirements.txt pyproject.toml)
if [[ ! -e "$runtime_stamp" ]]; then
  echo "setup: installing requirements into .venv (first run takes a few minutes)"
  pip_install -r requirements.txt
  .venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .
  .venv/bin/python -m pip check
  touch "$runtime_stamp"
fi
if ((want_test)); then
  test_stamp=$(stamp test requirements.txt requirements-test.txt)
  if [[ ! -e "$test_stamp" ]]; then
    echo "setup: installing test requirements into .venv"
    pip_install -r requirements.txt -r requirements-test.txt
    .venv/bin/python -m pip check
    touch "$test_stamp"
  fi
fi
