"""Shared pytest fixtures.

Data-preparation fixtures (tests/test_video_jpg.py, test_annotations.py, test_demo_dataset.py):
``make_video`` writes a tiny real video through PyAV, ``run_script`` runs a repository script by
path in a subprocess, as a user types it.
"""
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _write_video(path, codec='mpeg4', width=64, height=48, n_frames=10, fps=25, pts=None,
                 fmt=None):
    """A small moving-gradient video; `pts` (list) gives explicit frame timestamps in 1/fps."""
    import av
    pts = list(range(n_frames)) if pts is None else list(pts)
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width]
    with av.open(path, 'w', format=fmt) as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuvj420p' if codec == 'mjpeg' else 'yuv420p'
        stream.codec_context.thread_count = 1
        if codec in ('mpeg4', 'libx264', 'h264'):
            stream.codec_context.max_b_frames = 0
        container.start_encoding()  # header even when there is no frame (an 'empty' video)
        for i, p in enumerate(pts):
            img = np.zeros((height, width, 3), np.uint8)
            img[..., 0] = (xx * 4 + i * 16) % 256
            img[..., 1] = (yy * 4 + i * 8) % 256
            img[..., 2] = 255 - (i * 20) % 256
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = p
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope='session')
def make_video():
    """make_video(path, codec='mpeg4', width=64, height=48, n_frames=10, fps=25, pts=None)."""
    return _write_video


def _run_script(script, *args, cwd=None, env=None, timeout=300):
    cmd = [sys.executable, os.path.join(REPO_ROOT, script)] + [str(a) for a in args]
    return subprocess.run(cmd, cwd=cwd or REPO_ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


@pytest.fixture(scope='session')
def run_script():
    """run_script('utils/x.py', *args) -> CompletedProcess (text stdout/stderr)."""
    return _run_script
