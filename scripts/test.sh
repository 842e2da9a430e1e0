#!/usr/bin/env bash
# Set up (first time) and run the whole test suite: core tests and napari GUI tests
# (on a virtual display when there is no real one). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ -n "${DISPLAY:-}" ]; then
  exec python -m pytest "$@"
fi
exec xvfb-run -a -s "-screen 0 1600x1000x24" python -m pytest "$@"
