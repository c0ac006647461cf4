"""Shared pytest fixtures; the helpers behind them are in tests/fixtures.py.

``make_video`` writes a tiny real video through PyAV (fixtures.write_video), ``run_script`` runs a
repository command in a subprocess, as a user types it (fixtures.run).
"""
import pytest

from tests import fixtures


@pytest.fixture(scope='session')
def make_video():
    """make_video(path, codec='mpeg4', width=64, height=48, n_frames=10, fps=25, pts=None, fmt=None)."""
    return fixtures.write_video


@pytest.fixture(scope='session')
def run_script():
    """run_script('utils/x.py', *args, cwd=..., env=..., timeout=...) -> CompletedProcess (text stdout/stderr)."""
    return fixtures.run
