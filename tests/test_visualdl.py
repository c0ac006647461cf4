"""VisualDL: the page opens for any client (no Accept-Language header, any locale), a headless browser sees the
scalar chart, the evaluation image and the hparams table of two runs, and the records that test.py and main.py
write (engine/logger.py) read back. The server is scripts/visualdl_server.py, as engine.logger.visualdl_argv
prints it; Chromium comes from the system packages (.ci/run installs it)."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from engine.logger import (RECORD_FILE, ScalarWriter, hparams_of, pr_curve_counts, visualdl_argv,
                           write_evaluation_records)
from engine.video_accuracy import confusion_matrix, per_class_markdown, per_class_rows

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ['ApplyEyeMakeup', 'Archery', 'Basketball']
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url, headers=None):
    """(status, body) of a GET; no Accept-Language header unless given (urllib sends none, like curl)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def api(base, method, **params):
    query = urllib.parse.urlencode(params)
    status, body = get(f'{base}/app/api/{method}' + (f'?{query}' if query else ''))
    assert status == 200, body[:300]
    return json.loads(body)['data']


@contextlib.contextmanager
def serving(argv, cwd='/'):
    """Start a VisualDL server (argv without --port/--host), wait until it answers; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(argv + ['--port', str(port), '--host', '127.0.0.1'], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 90
        while True:
            try:
                if get(base + '/alive')[0] == 204:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, 'VisualDL did not start within 90 s'
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def chromium():
    path = shutil.which('chromium') or shutil.which('chromium-browser')
    assert path, 'Chromium is needed for the browser tests: apt-get install -y chromium (.ci/run does)'
    return path


def browser_dom(url, profile):
    """The page's DOM after its scripts ran (headless Chromium, a fresh profile)."""
    proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f'--user-data-dir={profile}', '--virtual-time-budget=20000',
                           '--dump-dom', url], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def tiny_evaluation(seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), 4)
    scores = rng.dirichlet([1, 1, 1], len(labels))
    scores[np.arange(len(labels)), labels] += 0.5  # mostly right
    scores /= scores.sum(axis=1, keepdims=True)
    cm = confusion_matrix(labels, scores.argmax(1), 3)
    top5 = np.bincount(labels, minlength=3)
    return cm, per_class_rows(cm, CLASSES, top5), labels, scores


def write_training_run(result, lr, epochs=3):
    writer = ScalarWriter(os.path.join(result, 'vdl'))
    for epoch in range(1, epochs + 1):
        writer.add('train', {'loss': lr / epoch, 'acc': epoch / 4}, epoch)
        writer.add('val', {'loss': 2 * lr / epoch, 'acc': epoch / 5}, epoch)
    writer.add_hparams(hparams_of({'learning_rate': lr, 'model': 'resnet', 'nesterov': False, 'batch_size': 4,
                                   'result_path': result, 'n_epochs': epochs}),
                       {'train/loss': None, 'val/acc': None, 'val/loss': None, 'val/best_acc': epochs / 5,
                        'val/never_written': None})


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Two training runs (demo_a/train, demo_b/train) and demo_a's test.py evaluation (demo_a/val)."""
    root = tmp_path_factory.mktemp('results')
    write_training_run(str(root / 'demo_a' / 'train'), 0.01)
    write_training_run(str(root / 'demo_b' / 'train'), 0.05)
    cm, rows, labels, scores = tiny_evaluation()
    write_evaluation_records(str(root / 'demo_a' / 'val' / 'vdl'), 3, cm, CLASSES, rows,
                             float(np.mean(scores.argmax(1) == labels)), 1.0, scores, labels)
    return root


@pytest.fixture(scope='module')
def server(runs):
    logdirs = [str(runs / run / 'vdl') for run in ('demo_a/train', 'demo_b/train', 'demo_a/val')]
    with serving(visualdl_argv(*logdirs)) as base:
        yield base


def test_the_page_opens_without_accept_language(server):
    for headers in ({}, {'Accept-Language': 'de-DE,de;q=0.9'}, {'Accept-Language': 'en-US'}):
        status, body = get(server + '/app/index', headers)
        assert status == 200 and b'VisualDL' in body, headers
    assert get(server + '/app/scalar')[0] == 200
    status, _ = get(server + '/app/index', {'Accept-Language': 'zh-CN'})
    assert status == 200


def test_runs_have_short_names_and_the_scalar_api_answers(server):
    assert sorted(api(server, 'runs')) == ['demo_a/train', 'demo_b/train', 'val']
    points = api(server, 'scalar/list', run='demo_a/train', tag='train/loss')
    assert [p[1] for p in points] == [1, 2, 3]
    assert points[0][2] == pytest.approx(0.01)
    assert api(server, 'scalar/list', run='val', tag='val/video_top1')[0][1] == 3  # the checkpoint's epoch


def test_evaluation_records_are_served(server):
    images = api(server, 'image/tags')
    assert images['runs'] == ['val']
    assert sorted(images['tags'][0]) == ['val/confusion_matrix', 'val/per_class_accuracy']
    pr = api(server, 'pr-curve/tags')
    assert sorted(pr['tags'][0]) == [f'pr_curve/{i:03d} {name}' for i, name in enumerate(CLASSES)]


def test_hparams_view_lists_both_runs_with_flags_and_final_metrics(server):
    trials = {t['name']: t for t in api(server, 'hparams/list')}
    assert sorted(trials) == ['demo_a/train', 'demo_b/train']
    assert trials['demo_a/train']['hparams'] == {'learning_rate': 0.01, 'model': 'resnet', 'nesterov': 'false',
                                                 'batch_size': 4, 'n_epochs': 3}  # no result_path: it names the run
    assert trials['demo_b/train']['hparams']['learning_rate'] == 0.05
    assert sorted(trials['demo_a/train']['metrics']) == ['train/loss', 'val/acc', 'val/best_acc', 'val/loss']
    assert trials['demo_a/train']['metrics']['val/acc'] == pytest.approx(0.6)  # the curve's last value
    assert trials['demo_a/train']['metrics']['val/best_acc'] == pytest.approx(0.6)
    assert trials['demo_b/train']['metrics']['val/loss'] == pytest.approx(2 * 0.05 / 3)


def test_a_browser_sees_the_scalar_chart_the_evaluation_image_and_the_hparams(server, tmp_path):
    dom = browser_dom(server + '/app/scalar', tmp_path / 'p1')
    assert '<canvas data-zr-dom-id' in dom  # an ECharts chart drawn
    assert 'demo_a/train' in dom and 'demo_b/train' in dom  # the run selector
    dom = browser_dom(server + '/app/image', tmp_path / 'p2')
    assert 'src="blob:' in dom  # an image loaded from the image API
    assert 'val/confusion_matrix' in dom
    dom = browser_dom(server + '/app/hyper-parameter', tmp_path / 'p3')
    for text in ('demo_a/train', 'demo_b/train', 'learning_rate', 'val/best_acc'):
        assert text in dom, text


def test_plain_visualdl_answers_500_without_accept_language(runs):
    """Why scripts/visualdl_server.py exists (VisualDL 2.5.3, Werkzeug 3): if this starts passing, the launcher
    can go."""
    visualdl = os.path.join(os.path.dirname(sys.executable), 'visualdl')
    with serving([visualdl, '--logdir', str(runs / 'demo_a' / 'train' / 'vdl'), '--disable-telemetry']) as base:
        assert get(base + '/app/index')[0] == 500
        assert get(base + '/app/index', {'Accept-Language': 'en-US'})[0] == 200


# ----------------------------------------------------------------------------------------------
# The records, read back without a server
# ----------------------------------------------------------------------------------------------

def read_tags(logdir):
    from visualdl import LogReader
    reader = LogReader(file_path=os.path.join(logdir, RECORD_FILE))
    return reader, reader.get_tags()


def test_write_hparams_replaces_those_of_an_earlier_run_and_keeps_the_curves(tmp_path):
    logdir = str(tmp_path / 'vdl')
    writer = ScalarWriter(logdir)
    writer.add('val', {'acc': 0.5}, 1)
    writer.add_hparams({'n_epochs': 1}, {'val/acc': None, 'val/best_acc': 0.5})
    writer = ScalarWriter(logdir, keep_before=2)  # resumed for more epochs
    writer.add('val', {'acc': 0.75}, 2)
    writer.add_hparams({'n_epochs': 2}, {'val/acc': None, 'val/best_acc': 0.75, 'train/loss': None})
    reader, tags = read_tags(logdir)
    assert os.listdir(logdir) == [RECORD_FILE]
    assert [r.id for r in reader.get_data('scalar', 'val/acc')] == [1, 2]
    assert [(r.id, r.value) for r in reader.get_data('scalar', 'val/best_acc')] == [(1, 0.5), (2, 0.75)]
    hparams = reader.get_data('hyper_parameters', 'hparam')
    assert len(hparams) == 1 and hparams[0].hparam.hparamInfos[0].int_value == 2
    assert [m.name for m in hparams[0].hparam.metricInfos] == ['val/acc', 'val/best_acc']  # no train/loss curve


def test_evaluation_records(tmp_path):
    cm, rows, labels, scores = tiny_evaluation()
    path = write_evaluation_records(str(tmp_path / 'vdl'), 7, cm, CLASSES, rows, 0.75, 1.0, scores, labels)
    reader, tags = read_tags(str(tmp_path / 'vdl'))
    assert path == str(tmp_path / 'vdl' / RECORD_FILE)
    assert tags['scalar'] == ['val/video_top1', 'val/video_top5']
    assert [(r.id, r.value) for r in reader.get_data('scalar', 'val/video_top1')] == [(7, 0.75)]
    assert sorted(tags['image']) == ['val/confusion_matrix', 'val/per_class_accuracy']
    assert tags['text'] == ['val/per_class'] and len(tags['pr_curve']) == 3


def test_pr_curve_counts_match_a_direct_count():
    rng = np.random.default_rng(1)
    positive = rng.random(50) < 0.3
    scores = rng.random(50)
    data = pr_curve_counts(positive, scores, 11)
    for i, threshold in enumerate(np.arange(11) / 10):
        bucket = np.floor(scores * 10) >= i  # VisualDL's bucketing: score in bucket >= i
        assert data['tp'][i] == int((bucket & positive).sum()) and data['fp'][i] == int((bucket & ~positive).sum())
        assert data['fn'][i] == int((~bucket & positive).sum())


def test_per_class_markdown_has_empty_cells_not_nan():
    cm = np.array([[2, 0], [0, 0]])
    text = per_class_markdown(per_class_rows(cm, ['A', 'B'], np.array([2, 0])))
    assert 'nan' not in text.lower() and '| B | 0 | 0 |  |  |  | 0 |' in text


def test_visualdl_argv_is_absolute_and_runs_from_any_folder(tmp_path):
    argv = visualdl_argv('results/x/vdl')
    assert argv[0] == sys.executable and os.path.isabs(argv[1]) and os.path.isabs(argv[3])
    proc = subprocess.run(argv[:2] + ['--help'], cwd='/', capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and 'every browser' in proc.stdout.replace('\n', ' ')


def test_short_names():
    from scripts.visualdl_server import short_names
    assert short_names(['/r/demo/train/vdl', '/r/demo/val/vdl']) == {'/r/demo/train/vdl': 'train',
                                                                     '/r/demo/val/vdl': 'val'}
    assert sorted(short_names(['/r/a/train/vdl', '/r/b/train/vdl', '/r/train']).values()) == \
        ['a/train', 'b/train', 'r/train']


def test_start_visualdl_for_a_notebook_cell(runs, capsys):
    """The notebook's one cell: start_visualdl(train vdl, val vdl) serves both runs, prints where."""
    from engine.logger import start_visualdl
    port = free_port()
    proc = start_visualdl(str(runs / 'demo_a' / 'train' / 'vdl'), str(runs / 'demo_a' / 'val' / 'vdl'),
                          str(runs / 'not_yet' / 'vdl'), port=port, host='127.0.0.1')
    try:
        assert 'runs: train, val' in capsys.readouterr().out
        base = f'http://127.0.0.1:{port}'
        assert get(base + '/app/index')[0] == 200
        assert sorted(api(base, 'runs')) == ['train', 'val']
    finally:
        proc.terminate()
        proc.wait(timeout=30)
