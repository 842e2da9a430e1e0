#!/usr/bin/env bash
# Set up (first time) and open napari with the sample spine case and the plugin's docks.
# Arguments go to the launcher: a DICOM folder, NIfTI/NRRD file or case folder to open instead
# of the sample, and/or --screenshot FILE to save the window and exit.
# Without a display (a server, CI) the window runs on a virtual one (xvfb-run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
if [ -n "${DISPLAY:-}" ] || [ "$(uname)" = "Darwin" ]; then
  exec python -m napari_spine_mets._napari.launch "$@"
fi
echo "run-napari: no DISPLAY, using a virtual display (use --screenshot FILE to see the window)"
exec xvfb-run -a -s "-screen 0 1600x1000x24" python -m napari_spine_mets._napari.launch "$@"
