"""The helpers the tests share (``from tests.fixtures import ...``); conftest.py's pytest fixtures hand
out the same functions.

Commands:  run(script, *args) runs a repository command as a user types it (``python <repo>/<script>``,
           the repository as the working folder) and returns the CompletedProcess (text stdout/stderr);
           start(...) is the same as a background Popen (signals, kills).
Data:      write_video (a small real video), write_frame_folder (one video's JPEG frames),
           make_frame_dataset (a tiny three-colour dataset main.py learns in a few epochs), the annotation
           writers and the other synthetic writers of datasets/synthetic.py, tree_digest, read_tsv.
Options:   tiny_run_args (main.py / test.py flags for a fast run over make_frame_dataset), make_opt (an
           options namespace for the dataset getters and transforms, from one of the option sets here).
"""
import csv
import functools
import hashlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace

import numpy as np

from datasets import synthetic
from datasets.synthetic import (annotation_entry, textured_frames, write_annotation,  # noqa: F401 (for the tests)
                                write_frame_tree, write_jpeg_dataset, write_json)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------------------------------
# commands


def command(script, *args):
    """The argv of ``python <REPO>/<script> args``; ``script`` starting with '-' ('-m', '-c') is passed as
    is, a list is a whole command line (its own interpreter first)."""
    if isinstance(script, (list, tuple)):
        head = list(script)
    else:
        head = [sys.executable, script if script.startswith('-') else os.path.join(REPO, script)]
    return head + [str(a) for a in args]


def run(script, *args, cwd=REPO, timeout=900, limit_file_size=None, expect_ok=False, **popen):
    """Run a command (see ``command``) to its end and return the CompletedProcess (text stdout/stderr).
    ``timeout``: a hang guard (runs take seconds on an idle machine); ``limit_file_size``: a full disk
    after that many bytes per file; ``expect_ok``: assert it succeeded (the end of its stderr as the
    message); ``popen``: env, input, ..."""
    preexec = None
    if limit_file_size is not None:
        def preexec():
            import resource
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))
    proc = subprocess.run(command(script, *args), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          preexec_fn=preexec, **popen)
    if expect_ok:
        assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@functools.lru_cache(maxsize=None)
def _test_command():
    spec = importlib.util.spec_from_file_location('test_command', os.path.join(REPO, 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_test_py(argv):
    """test.py's main(argv) in this process, returning its metrics (imported from its file: a module named
    `test` is the standard library's)."""
    return _test_command().main([str(a) for a in argv])


def start(script, *args, cwd=REPO, **popen):
    """The command (see ``command``) started in the background: a text-mode Popen."""
    return subprocess.Popen(command(script, *args), cwd=cwd, text=True, **popen)


# Paddle's known chatter (core/preload.py): UserWarnings and glog lines that say nothing about the run.
PADDLE_NOISE = ('No ccache found', 'When training, we now always track', 'not support input out tensor',
                'New Executor is Running', 'pir_interpreter', 'oneDNN v')


def clean_env():
    """This environment without the settings core/preload.py may have put into it (an in-process import of
    main.py in this test session), so a subprocess starts as a user's shell does."""
    return {k: v for k, v in os.environ.items() if k not in ('GLOG_minloglevel', 'PYTHONWARNINGS')}


# --------------------------------------------------------------------------------------------------
# data


def write_video(path, codec='mpeg4', width=64, height=48, n_frames=10, fps=25, pts=None, fmt=None,
                pattern='gradient'):
    """A small real video: a moving gradient ('gradient') or a red frame with a moving blue edge
    ('edge'); ``pts`` (list) gives explicit frame timestamps in 1/fps (one frame each), ``fmt`` the
    container (default: from the name). Returns ``path`` (a string)."""
    n = n_frames if pts is None else len(pts)
    frames = {'gradient': synthetic.gradient_frames, 'edge': synthetic.edge_frames}[pattern](n, width, height)
    return synthetic.write_video(str(path), frames, fps=fps, codec=codec, fmt=fmt, pts=pts)


def write_frame_folder(root, label, video, n, n_frames_file=False, size=(32, 24)):
    """``<root>/<label>/<video>/image_%05d.jpg`` (no label folder if ``label`` is None): ``n`` flat-colour
    frames of ``size`` (frame i: RGB (8 i % 256, 60, 120), JPEG quality 95), ``n_frames`` if asked.
    Returns the folder."""
    folder = os.path.join(str(root), label, video) if label else os.path.join(str(root), video)
    frames = [np.full((size[1], size[0], 3), (8 * i % 256, 60, 120), np.uint8) for i in range(1, n + 1)]
    return synthetic.write_frames(folder, frames, n_frames_file=n_frames_file, quality=95)


CLASS_COLOURS = {'RedThings': (200, 40, 40), 'GreenThings': (40, 200, 40), 'BlueThings': (40, 40, 200)}


def make_frame_dataset(root, n_train=4, n_val=2, n_frames=8, size=(40, 32), n_classes=3, seed=0):
    """Writes <root>/jpg/<class>/<video>/image_%05d.jpg + n_frames and <root>/ucf101_01.json: a JPEG-frame
    dataset in the reference's layout where each class has its own colour, so a narrow network learns it
    in a few epochs on the CPU."""
    rng = np.random.default_rng(seed)
    labels = list(CLASS_COLOURS)[:n_classes]
    videos = [(label, f'v_{label}_g{i + 1:02d}_c01', 'validation' if i < n_val else 'training')
              for label in labels for i in range(n_train + n_val)]

    def frames_of(label):
        return [np.clip(np.array(CLASS_COLOURS[label]) + rng.integers(-40, 40, size=(size[1], size[0], 3)),
                        0, 255).astype('uint8') for _ in range(n_frames)]

    return write_frame_tree(os.path.join(root, 'jpg'), os.path.join(root, 'ucf101_01.json'), labels, videos,
                            frames_of)


def tree_digest(root):
    """{relative path: sha1} of every file below root."""
    out = {}
    for dirpath, _, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                out[os.path.relpath(path, str(root))] = hashlib.sha1(f.read()).hexdigest()
    return out


def read_tsv(path):
    """The rows of a TSV log (train.log, val.log, ...) as dicts."""
    with open(path) as f:
        return list(csv.DictReader(f, delimiter='\t'))


# --------------------------------------------------------------------------------------------------
# options


def tiny_run_args(root, result_path, *extra):
    """main.py/test.py flags for a fast run over make_frame_dataset(root)."""
    return ['--root_path', str(root), '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
            '--result_path', str(result_path), '--dataset', 'ucf101', '--n_classes', '3',
            '--model', 'resnet', '--model_depth', '10', '--resnet_widen_factor', '0.125',
            '--sample_size', '32', '--sample_duration', '4', '--batch_size', '4', '--n_threads', '0',
            '--no_tqdm', '--device', 'cpu', *extra]


def _spelled_out_options():
    import datasets
    from datasets.mean import get_mean
    return dict(dataset='ucf101', sample_size=16, sample_duration=16, sample_t_stride=1, n_val_samples=3,
                train_crop='corner', train_crop_min_scale=0.25, train_crop_min_ratio=0.75,
                scales=datasets.default_scales(), no_hflip=False, norm_value=1,
                mean=get_mean(1, 'activitynet'), std=[1.0, 1.0, 1.0], train_t_crop='random',
                scale_in_test=1.0, crop_position_in_test='c', test_subset='val',
                inference_stride=16, allow_missing=False, loader='fast')


def _transform_options():
    import datasets
    from datasets.mean import get_mean
    return dict(sample_size=16, sample_duration=4, norm_value=1, mean=get_mean(1), std=[1, 1, 1],
                scales=datasets.default_scales(), train_crop='corner', no_hflip=False,
                scale_in_test=1.0, crop_position_in_test='c')


# Option sets for make_opt: what the code under test reads, nothing else (the getters take the reference's
# defaults for whatever is missing).
OPTION_SETS = {
    # every option the dataset getters read, spelled out (the reference's values, 16-frame 16x16 clips)
    'spelled_out': _spelled_out_options,
    # the fast and PIL loaders compared: 8-frame 112x112 clips, the rest the getters' defaults
    'loader': lambda: dict(loader='fast', sample_size=112, sample_duration=8, test_subset='val',
                           inference_stride=8),
    # small clips of a UCF-101 tree (JPEG or HDF5)
    'small': lambda: dict(dataset='ucf101', loader='fast', sample_size=16, sample_duration=4, test_subset='val'),
    # the spatial transforms alone: 16x16, mean subtraction only
    'transforms': _transform_options,
}


def make_opt(video_path=None, annotation_path=None, loader=None, base='spelled_out', **kw):
    """An options namespace as opts.parse_opts gives, reduced to the option set ``base`` (a name of
    OPTION_SETS), then the paths and the loader when given, then ``kw``."""
    options = OPTION_SETS[base]()
    given = dict(video_path=video_path, annotation_path=annotation_path, loader=loader)
    options.update((k, v) for k, v in given.items() if v is not None)
    options.update(kw)
    return Namespace(**options)


def train_graph(graph, device, family, **extra):
    """--train_graph resolved by the one resolver."""
    from engine.runtime import use_static_graph
    return use_static_graph(graph, device, training=True, family=family, **extra)


def write_file(path, text, mode='w'):
    """``text`` into ``path`` (its folders made); returns the path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)
    return path


def wait_for(condition, proc, what, seconds=240, poll=0.02):
    """Poll ``condition`` every ``poll`` s until it holds; fails if ``proc`` ends first (with its stderr) or after
    ``seconds``. The callers' timing tests depend on ``poll`` (a snapshot of a run's workers right after its first
    batch): each keeps its own."""
    deadline = time.time() + seconds
    while not condition():
        assert proc.poll() is None, f'the command ended before {what}: ' + (
            proc.stderr.read()[-3000:] if proc.stderr else '')
        assert time.time() < deadline, f'timed out waiting for {what}'
        time.sleep(poll)


# The commands of the error tables (tests/commands/test_cli_errors.py, test_odd_values.py): '{r}' is the shared
# root, '{o}' a fresh folder of the test, '{ckpt}' the trained checkpoint, '{video}' a video file.
TINY = ('--root_path {r} --video_path jpg --annotation_path ucf101_01.json --dataset ucf101 --n_classes 3 '
        '--model resnet --model_depth 10 --resnet_widen_factor 0.125 --sample_size 32 --sample_duration 4 '
        '--batch_size 4 --n_threads 0 --no_tqdm --device cpu --n_epochs 1 --no_vdl')
TRAIN = 'main.py', TINY + ' --result_path {o}/run'
TEST = 'test.py', TINY + ' --result_path {o}/test --resume_path {ckpt}'
PREDICT = 'scripts/predict.py', '{video} --checkpoint {ckpt} --sample_size 32 --sample_duration 4'
EXPORT = 'scripts/export_model.py', '--checkpoint {ckpt} --output {o}/export --sample_size 32 --sample_duration 4'
JPG = 'utils/video_jpg_ucf101_hmdb51.py', '{r}/videos {o}/jpg --n_jobs 1 --no_progress'

FAKE_FFMPEG = r'''#!{python}
"""Stands in for ffmpeg: writes 3 frames; hangs (until killed) on a video whose name is in HANG_ON."""
import os, sys, time
src, pattern = sys.argv[sys.argv.index('-i') + 1], sys.argv[-1].replace('%%', '%')
for i in (1, 2, 3):
    with open(pattern % i, 'wb') as f:
        f.write(('%s frame %d' % (os.path.basename(src), i)).encode())
    if i == 2 and os.path.basename(src) in os.environ.get('HANG_ON', ''):
        open(os.environ['STARTED'], 'w').close()
        time.sleep(3600)
'''


def fake_ffmpeg_flags(tmp_path, jobs):
    """Flags of a frame conversion whose stand-in ffmpeg (written into tmp_path) hangs on the videos in HANG_ON."""
    ffmpeg = tmp_path / 'ffmpeg'
    ffmpeg.write_text(FAKE_FFMPEG.format(python=sys.executable))
    ffmpeg.chmod(0o755)
    return ['--backend', 'ffmpeg', '--ffmpeg', str(ffmpeg), '--n_jobs', jobs, '--no_progress']
