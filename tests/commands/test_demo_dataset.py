"""scripts/make_demo_dataset.py (and the data pipeline on its output), bench_video_jpg.py."""
import json
import os
import re

import numpy as np
import pytest

from datasets.synthetic import motion_frames
from scripts import make_demo_dataset as demo
from tests.fixtures import tree_digest as digest

av = pytest.importorskip('av')

MAKE = 'scripts/make_demo_dataset.py'
SMALL = ['--n_groups', 3, '--n_clips', 1, '--n_frames', 12, '--frames_jitter', 2, '--seed', 3,
         '--no_progress']
CLASSES = sorted(demo.CLASS_ORDER)


@pytest.fixture(scope='module')
def small_demo(tmp_path_factory, run_script):
    root = tmp_path_factory.mktemp('demo')
    proc = run_script(MAKE, root, *SMALL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


def test_tree_and_video_files(small_demo):
    videos = small_demo / 'UCF-101'
    assert sorted(os.listdir(str(videos))) == CLASSES
    for c in CLASSES:
        names = sorted(os.listdir(str(videos / c)))
        assert names == ['v_%s_g%02d_c01.avi' % (c, g) for g in (1, 2, 3)]
        for name in names:
            with av.open(str(videos / c / name)) as container:
                s = container.streams.video[0]
                assert container.format.name == 'avi'
                assert s.codec_context.name == 'mpeg4'
                assert (s.width, s.height) == (320, 240)
                assert s.average_rate == 25
                n = sum(1 for _ in container.decode(s))
            assert 10 <= n <= 14


def test_split_lists_in_ucf101_format(small_demo):
    lists = small_demo / 'ucfTrainTestlist'
    assert sorted(os.listdir(str(lists))) == ['classInd.txt'] + [
        '%s%02d.txt' % (p, k) for p in ('testlist', 'trainlist') for k in (1, 2, 3)]
    raw = (lists / 'classInd.txt').read_bytes()
    assert raw == ''.join('%d %s\r\n' % (i + 1, c) for i, c in enumerate(CLASSES)).encode()
    all_videos = {'%s/v_%s_g%02d_c01.avi' % (c, c, g) for c in CLASSES for g in (1, 2, 3)}
    for k in (1, 2, 3):
        train = (lists / ('trainlist%02d.txt' % k)).read_bytes().decode()
        test = (lists / ('testlist%02d.txt' % k)).read_bytes().decode()
        assert train.endswith('\r\n') and '\n' not in train.replace('\r\n', '')
        assert test.endswith('\r\n') and '\n' not in test.replace('\r\n', '')
        train_lines, test_lines = train.split('\r\n')[:-1], test.split('\r\n')[:-1]
        for line in train_lines:
            rel, label = line.split(' ')
            assert CLASSES[int(label) - 1] == rel.split('/')[0]
        assert all(re.match(r'^\w+/v_\w+_g0%d_c01\.avi$' % k, l) for l in test_lines)
        assert {l.split(' ')[0] for l in train_lines} | set(test_lines) == all_videos
        assert len(test_lines) == len(CLASSES)


@pytest.fixture(scope='module')
def prepared_demo(small_demo, tmp_path_factory, run_script):
    """The demo after the README's three preparation commands; returns (root, [their processes])."""
    root = tmp_path_factory.mktemp('prepared')
    jpg = root / 'jpg'
    return root, [run_script('utils/video_jpg_ucf101_hmdb51.py', small_demo / 'UCF-101', jpg),
                  run_script('utils/n_frames_ucf101_hmdb51.py', jpg),
                  run_script('utils/ucf101_json.py', small_demo / 'ucfTrainTestlist', root, '--video_path', jpg)]


def test_pipeline_convert_count_annotate(prepared_demo):
    root, procs = prepared_demo
    for proc in procs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'WARNING' not in procs[-1].stdout
    jpg = root / 'jpg'
    for k in (1, 2, 3):
        data = json.load(open(str(root / ('ucf101_%02d.json' % k))))
        assert data['labels'] == CLASSES
        assert len(data['database']) == 18
        for vid, entry in data['database'].items():
            folder = jpg / entry['annotations']['label'] / vid
            n = int((folder / 'n_frames').read_text())
            assert entry['annotations']['segment'] == [1, n + 1]
            assert entry['subset'] == ('validation' if '_g%02d_' % k in vid else 'training')


def test_main_and_test_py_run_on_the_prepared_demo(prepared_demo, run_script):
    """The README's demo commands end to end (tiny network and clips so it takes seconds)."""
    root, _ = prepared_demo
    data = ['--root_path', root, '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
            '--dataset', 'ucf101', '--sample_size', 32, '--sample_duration', 4, '--batch_size', 6,
            '--n_threads', 0, '--no_tqdm', '--device', 'cpu']
    proc = run_script('main.py', *data, '--result_path', root / 'train', '--n_classes', 6, '--model', 'resnet',
                      '--model_depth', 10, '--resnet_widen_factor', 0.125, '--n_epochs', 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len((root / 'train' / 'val.log').read_text().splitlines()) == 3  # header + 2 epochs
    proc = run_script('test.py', *data, '--result_path', root / 'val',
                      '--resume_path', root / 'train' / 'last.pdparams')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'video top-1 accuracy' in proc.stdout
    results = json.load(open(str(root / 'val' / 'val.json')))['results']
    assert sorted(results) == sorted('v_%s_g01_c01' % c for c in CLASSES)


def test_deterministic_given_seed(tmp_path, run_script):
    args = ['--n_classes', 2, '--n_groups', 3, '--n_clips', 1, '--n_frames', 6,
            '--frames_jitter', 0, '--no_progress']
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        assert run_script(MAKE, tmp_path / name, '--seed', seed, *args).returncode == 0
    a, b, c = (digest(tmp_path / n / 'UCF-101') for n in 'abc')
    assert a == b
    assert a.keys() == c.keys() and all(a[k] != c[k] for k in a)
    # the same command again keeps the dataset; other options need --overwrite
    proc = run_script(MAKE, tmp_path / 'a', '--seed', 5, *args)
    assert proc.returncode == 0 and 'nothing to do' in proc.stdout
    proc = run_script(MAKE, tmp_path / 'a', '--seed', 7, *args)
    assert proc.returncode != 0 and '--overwrite' in proc.stderr
    proc = run_script(MAKE, tmp_path / 'a', '--seed', 6, '--overwrite', *args)
    assert proc.returncode == 0
    assert digest(tmp_path / 'a' / 'UCF-101') == c


def _vertical_shift(f0, f1, max_shift=30):
    """Integer s minimising |f1[y] - f0[y + s]|: > 0 when the content moved up."""
    g0, g1 = f0.mean(axis=(1, 2)), f1.mean(axis=(1, 2))  # row profile
    h = len(g0)
    errs = {s: np.mean((g1[max_shift:h - max_shift] - g0[max_shift + s:h - max_shift + s]) ** 2)
            for s in range(-max_shift, max_shift + 1)}
    return min(errs, key=errs.get)


def _radial_drift(frames, cx, cy):
    """> 0 when rings grow: radial profile shift between consecutive frames."""
    h, w = frames.shape[1:3]
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot(xx - cx, yy - cy).astype(int)
    prof = [np.bincount(r.ravel(), f.mean(axis=2).ravel()) / np.bincount(r.ravel()) for f in frames]
    margin = 30
    p0, p1 = prof[0][10:160], prof[1][10:160]
    errs = {s: np.mean((p1[margin:-margin] - p0[margin - s:len(p0) - margin - s]) ** 2)
            for s in range(-margin + 1, margin)}
    return min(errs, key=errs.get)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_classes_carry_the_motion(seed):
    """Up/down and in/out differ only by the direction of motion; flash blinks, still does not."""
    def video(name, info=None):
        return motion_frames(name, np.random.default_rng([seed, 7]), 6, 320, 240, info)

    up, down = video('MoveUp'), video('MoveDown')
    # 12..20 pixels per frame: still 1.6..2.7 pixels once resized to 32x32
    assert 12 <= _vertical_shift(up[0], up[1]) <= 20
    assert -20 <= _vertical_shift(down[0], down[1]) <= -12
    # same under a horizontal flip (the training augmentation)
    assert _vertical_shift(up[0][:, ::-1], up[1][:, ::-1]) >= 12
    for name, sign in (('ZoomIn', 1), ('ZoomOut', -1)):
        info = {}
        frames = video(name, info)
        assert 12 <= sign * _radial_drift(frames, info['cx'], info['cy']) <= 20
    flash, still = video('Flash'), video('Still')
    assert np.abs(flash[1:].astype(int) - flash[:-1]).mean() > 10
    assert np.abs(still[1:].astype(int) - still[:-1]).mean() < 5


def test_bench_runs(run_script):
    proc = run_script('benchmarks/bench_video_jpg.py', '--n_classes', 2, '--n_groups', 3,
                      '--n_clips', 2, '--n_frames', 6, '--n_jobs', 1, '--ffmpeg',
                      'no-such-ffmpeg-here')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = [l for l in proc.stdout.splitlines() if l.startswith('pyav')][0].split()
    assert line[1:3] == ['12', '72']
    assert float(line[-1]) > 0
    assert 'ffmpeg   skipped' in proc.stdout


@pytest.mark.parametrize('script, options', [
    (MAKE, ['DST_DIR', '--n_classes', '--n_groups', '--n_clips', '--n_frames', '--frames_jitter',
            '--width', '--height', '--fps', '--codec', '--seed', '--overwrite', '--no_progress']),
    ('benchmarks/bench_video_jpg.py', ['--src', '--n_classes', '--n_groups', '--n_clips',
                                    '--n_frames', '--n_jobs', '--ffmpeg', '--repeat']),
])
def test_help_explains_every_argument(run_script, script, options):
    proc = run_script(script, '--help')
    assert proc.returncode == 0
    for option in options:
        assert option.lower() in proc.stdout.lower()
