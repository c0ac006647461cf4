#!/usr/bin/env bash
# The test suite on the CPU, installing what it needs into .venv first. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup_env.sh"
cd "$ROOT"
if ! "$VENV_PYTHON" -c "import pytest, torch, nbclient, ipykernel" >/dev/null 2>&1; then
    # The converter tests need PyTorch; 2.13.0 is the CPU build these machines carry (a looser
    # requirement would download a multi-GB CUDA build).
    "$VENV_PYTHON" -m pip install -q torch==2.13.0
    "$VENV_PYTHON" -m pip install -q -r requirements-dev.txt
fi
REQUIRE_TORCH=1 "$VENV_PYTHON" -m pytest -q "$@"
