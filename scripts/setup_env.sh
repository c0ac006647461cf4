#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: makes .venv with requirements.txt unless it is already complete.
# Set PYTHON to choose the interpreter that creates the venv (Python 3.9+).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV_PYTHON="$ROOT/.venv/bin/python"
if [ ! -x "$VENV_PYTHON" ]; then
    echo "creating $ROOT/.venv"
    "${PYTHON:-python3}" -m venv "$ROOT/.venv"
fi
if ! "$VENV_PYTHON" -c "import paddle, numpy, PIL, tqdm, visualdl, av, h5py, simplejpeg" >/dev/null 2>&1; then
    echo "installing requirements.txt into .venv (once; a few minutes)"
    "$VENV_PYTHON" -m pip install -q --upgrade pip
    "$VENV_PYTHON" -m pip install -q -r "$ROOT/requirements.txt"
fi
# The repository's packages, importable from any folder (pyproject.toml); editable, so edits take effect.
if ! "$VENV_PYTHON" -c "import core, engine, models, datasets" >/dev/null 2>&1 || \
   ! "$VENV_PYTHON" -m pip show -q resnets3d-paddle >/dev/null 2>&1; then
    "$VENV_PYTHON" -m pip install -q --no-deps -e "$ROOT"
fi
