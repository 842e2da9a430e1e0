#!/usr/bin/env bash
# Set up everything napari-spine-mets needs, idempotently (a second run takes seconds):
#   1. Debian/Ubuntu libraries for napari's window and the virtual display (apt, as root or via sudo);
#   2. a virtual environment in .venv (Python 3.10+);
#   3. PyTorch: the CPU build by default; see SPINE_METS_TORCH below;
#   4. this package in editable mode with its Qt binding and test tools.
#
# SPINE_METS_TORCH  the pip requirement used for torch. Default: "torch==2.13.0" (the CPU build on
#                   machines without a GPU). On a workstation with an NVIDIA GPU (nvidia-smi works)
#                   the default becomes "torch>=2.3", which pip serves as a CUDA build on Linux.
#                   Set it yourself to choose, e.g. SPINE_METS_TORCH="torch==2.13.0" to force the
#                   CPU build, or a CUDA build from your own index with PIP_EXTRA_INDEX_URL.
# SPINE_METS_PYTHON the interpreter that creates .venv (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0
  libxcb-shape0 libxcb-cursor0 libdbus-1-3 libfontconfig1 poppler-utils)
apt_packages+=(orthanc)  # a real PACS for the DICOM network tests (tests/orthanc_server.py)

if command -v dpkg >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python_bin=${SPINE_METS_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $python_bin"
  "$python_bin" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate

if [ -z "${SPINE_METS_TORCH:-}" ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    SPINE_METS_TORCH="torch>=2.3"
  else
    SPINE_METS_TORCH="torch==2.13.0"
  fi
fi

# Reinstall only when what we asked for changed.
stamp=".venv/.spine-mets-setup"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $SPINE_METS_TORCH"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup: installing Python packages (torch: $SPINE_METS_TORCH)"
python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q "$SPINE_METS_TORCH" 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q -e ".[qt,test]" 2>&1 | grep -v "^WARNING: Location" || true
# pyradiomics, the reference the radiomics engine is tested against, builds only this way.
python -m pip install -q numpy versioneer wheel 2>&1 | grep -v "^WARNING: Location" || true
python -m pip install -q --no-build-isolation pyradiomics 2>&1 | grep -v "^WARNING: Location" || true
python -c "import torch, napari, radiomics, sklearn, napari_spine_mets" # fail loudly if anything is missing
echo "$want" > "$stamp"
