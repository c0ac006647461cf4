#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: chooses the Python the project runs in and installs what is missing.
# Sets ROOT (the repository) and VENV_PYTHON (the interpreter to run).
#
# An installed Paddle is never replaced and never hidden:
#   1. $VENV_DIR set (e.g. .ci/run's oldest-Paddle venv): that venv, created if missing.
#   2. else .venv exists: .venv (an earlier run made it).
#   3. else the interpreter ($PYTHON, default python3) can import paddle (AI Studio, a GPU server with
#      paddlepaddle-gpu): that interpreter itself, no venv; only requirements.txt is added to it.
#   4. else: a new .venv with the CPU wheel ($PADDLE_CPU_SPEC, default the supported range).
# requirements.txt does not name Paddle, so installing it never touches an installed paddlepaddle(-gpu).
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_PYTHON=${PYTHON:-python3}
PADDLE_CPU_SPEC=${PADDLE_CPU_SPEC:-paddlepaddle>=2.6,<3.4}
if [ -n "${VENV_DIR:-}" ]; then
    VENV_PYTHON="$VENV_DIR/bin/python"
elif [ -x "$ROOT/.venv/bin/python" ]; then
    VENV_DIR="$ROOT/.venv"; VENV_PYTHON="$VENV_DIR/bin/python"
elif "$BASE_PYTHON" -c "import paddle" >/dev/null 2>&1; then
    VENV_DIR=""; VENV_PYTHON=$("$BASE_PYTHON" -c "import sys; print(sys.executable)")
else
    VENV_DIR="$ROOT/.venv"; VENV_PYTHON="$VENV_DIR/bin/python"
fi
if [ -n "$VENV_DIR" ] && [ ! -x "$VENV_PYTHON" ]; then
    echo "creating $VENV_DIR"
    "$BASE_PYTHON" -m venv "$VENV_DIR"
    "$VENV_PYTHON" -m pip install -q --upgrade pip
fi
if ! "$VENV_PYTHON" -c "import paddle" >/dev/null 2>&1; then
    echo "no Paddle in $VENV_PYTHON: installing the CPU wheel ($PADDLE_CPU_SPEC; a few minutes)"
    "$VENV_PYTHON" -m pip install -q "$PADDLE_CPU_SPEC"
fi
if ! "$VENV_PYTHON" -c "import numpy, PIL, tqdm, visualdl, av, h5py, simplejpeg" >/dev/null 2>&1; then
    echo "installing requirements.txt into $VENV_PYTHON's environment (once)"
    "$VENV_PYTHON" -m pip install -q -r "$ROOT/requirements.txt"
fi
# The repository's packages, importable from any folder (pyproject.toml); editable, so edits take effect.
if ! "$VENV_PYTHON" -c "import core, engine, models, datasets" >/dev/null 2>&1 || \
   ! "$VENV_PYTHON" -m pip show -q resnets3d-paddle >/dev/null 2>&1; then
    "$VENV_PYTHON" -m pip install -q --no-deps -e "$ROOT"
fi
"$VENV_PYTHON" -c "import paddle, sys; print(f'Paddle {paddle.__version__}', '(GPU build)' if paddle.is_compiled_with_cuda() else '(CPU build)', 'in', sys.executable)" 2>/dev/null
