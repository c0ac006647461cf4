"""The first hour's rough edges: progress without carriage returns in logs, --no_tqdm for every demo step, no
Paddle warnings on import or fine-tune, empty cells instead of NaN, the builder's one layout error, and (end to
end on a tiny run) the printed next commands working from /, test.py's VisualDL records, the hparams of a
training run, and a resumed run that has nothing left to train."""
import io
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from core.progress import PlainProgress, progress
from tests.fixtures import REPO, clean_env, make_frame_dataset, run, tiny_run_args, write_frame_folder, write_video

# ----------------------------------------------------------------------------------------------
# Progress: bars on a terminal only, plain lines elsewhere
# ----------------------------------------------------------------------------------------------


def test_plain_progress_prints_a_line_every_tenth_and_no_carriage_return():
    out = io.StringIO()
    for _ in progress(range(95), desc='n_frames', unit='class', file=out):  # not a terminal: plain lines
        pass
    lines = out.getvalue().splitlines()
    assert '\r' not in out.getvalue()
    assert 9 <= len(lines) <= 11 and lines[-1].startswith('n_frames: 95/95 class (')
    out = io.StringIO()
    with progress(total=3, desc='frames', unit='video', file=out, no_tqdm=True) as bar:
        bar.update(1)
        bar.write('FAILED x: y')
        bar.update(2)
    assert out.getvalue().splitlines()[1:] == ['FAILED x: y', 'frames: 3/3 video (0 s)']
    assert out.getvalue().splitlines()[0] == 'frames: 1/3 video (0 s)'


def test_a_bar_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    assert isinstance(progress(range(3), file=io.StringIO()), PlainProgress)
    assert not isinstance(progress(range(3), file=Terminal()), PlainProgress)
    assert isinstance(progress(range(3), file=Terminal(), no_tqdm=True), PlainProgress)
    silent = io.StringIO()
    list(progress(range(3), file=silent, disable=True))
    assert silent.getvalue() == ''


def test_n_frames_piped_writes_no_carriage_return(tmp_path):
    for i in range(3):
        write_frame_folder(tmp_path / 'jpg', f'Class{i}', f'v_Class{i}_g01_c01', 3)
    for extra in ([], ['--no_tqdm']):
        proc = run('utils/n_frames_ucf101_hmdb51.py', tmp_path / 'jpg', *extra, expect_ok=True)
        assert '\r' not in proc.stdout + proc.stderr
        assert 'n_frames: 3/3 class' in proc.stderr


def test_video_jpg_and_demo_dataset_piped_write_no_carriage_return(tmp_path):
    write_video(tmp_path / 'UCF-101' / 'Cls' / 'v_Cls_g01_c01.avi', n_frames=4)
    proc = run('utils/video_jpg_ucf101_hmdb51.py', tmp_path / 'UCF-101', tmp_path / 'jpg', '--no_tqdm',
               expect_ok=True)
    assert '\r' not in proc.stdout + proc.stderr and 'frames: 1/1 video' in proc.stderr
    proc = run('scripts/make_demo_dataset.py', tmp_path / 'demo', '--n_classes', '2', '--n_groups', '3',
               '--n_clips', '1', '--n_frames', '4', '--frames_jitter', '0', '--width', '32', '--height', '32',
               expect_ok=True)
    assert '\r' not in proc.stdout + proc.stderr and 'videos: 6/6 video' in proc.stderr


def test_demo_passes_no_tqdm_to_every_step_and_prints_a_visualdl_command_for_any_shell():
    text = open(os.path.join(REPO, 'scripts', 'demo.sh')).read().replace('\\\n', ' ')  # continued lines
    steps = [line for line in text.splitlines() if line.lstrip().startswith('"$PY" ')]
    assert len(steps) == 6
    for line in steps:
        if 'ucf101_json.py' in line:
            continue  # no progress to show
        assert '"${PROGRESS[@]}"' in line or ('main.py' in line and '"$@"' in text), line
    assert 'scripts/visualdl_server.py' in text and '"$PY"' in text.split('visualdl_server.py')[-2].splitlines()[-1]


# ----------------------------------------------------------------------------------------------
# Paddle's warnings, NaN, the builder's layout
# ----------------------------------------------------------------------------------------------

def test_importing_the_builder_prints_no_warning(tmp_path):
    proc = subprocess.run([sys.executable, '-c', 'from models.builder import build_three_d_resnet_18'],
                          cwd=tmp_path, capture_output=True, text=True, env=clean_env(), timeout=300)
    assert proc.returncode == 0 and proc.stderr == '', proc.stderr


def test_model_table_prints_no_ccache_warning():
    proc = run('benchmarks/model_table.py', '--help', env=clean_env(), expect_ok=True)
    assert 'ccache' not in proc.stderr and 'Warning' not in proc.stderr


def test_per_class_table_shows_empty_cells_not_nan(tmp_path):
    from engine.video_accuracy import per_class_rows, read_per_class_table, write_per_class_csv
    cm = np.array([[2, 0, 0], [0, 1, 1], [0, 0, 0]])  # class 0 never confused, class 2 without videos
    path = str(tmp_path / 'per_class.csv')
    write_per_class_csv(path, per_class_rows(cm, ['A', 'B', 'C'], np.array([2, 2, 0])))
    table = read_per_class_table(path)
    assert not table.isna().any().any()
    assert list(table['most_confused_with']) == ['', 'C', '']
    assert table['top1'][0] == 1.0 and table['top1'][2] == ''
    assert 'NaN' not in table.to_string() and 'nan' not in table.to_html()


def test_builder_names_the_layout_it_expects():
    import paddle
    from models.builder import build_three_d_resnet_18
    model = build_three_d_resnet_18((4, 16, 16, 3), 5, 'softmax', widen_factor=0.125)
    model.eval()
    assert model(paddle.zeros([1, 3, 4, 16, 16])).shape == [1, 5]
    with pytest.raises(ValueError, match=r'N x C x T x H x W .* got shape \[1, 4, 16, 16, 3\]; it looks '
                                         r'N x T x H x W x C .*transpose\(\[0, 4, 1, 2, 3\]\)'):
        model(paddle.zeros([1, 4, 16, 16, 3]))  # the seed's channels-last clip
    with pytest.raises(ValueError, match='5-D batch'):
        model(paddle.zeros([3, 4, 16, 16]))
    channels_last = build_three_d_resnet_18((4, 16, 16, 3), 5, data_format='NDHWC', widen_factor=0.125)
    channels_last.eval()
    assert channels_last(paddle.zeros([1, 4, 16, 16, 3])).shape == [1, 5]


# ----------------------------------------------------------------------------------------------
# End to end on a tiny run (main.py / test.py call sites)
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A tiny 2-epoch run trained with stdout and stderr piped and without --no_tqdm."""
    root = tmp_path_factory.mktemp('data')
    make_frame_dataset(root)
    result = tmp_path_factory.mktemp('runs') / 'run_a'
    args = [a for a in tiny_run_args(root, result, '--n_epochs', '2', '--checkpoint', '2') if a != '--no_tqdm']
    proc = run('main.py', *args, env=clean_env(), expect_ok=True)
    return root, result, proc, args


def next_commands(stdout):
    """The commands main.py prints after 'next:' (each starts with this interpreter's absolute path)."""
    block = stdout.split('next:', 1)[1]
    return [shlex.split(m.group(1)) for m in re.finditer(r"(?m)^.*?('?/\S*python\S*'?\s.*)$", block)]


def test_training_output_has_no_carriage_return(trained):
    _, _, proc, _ = trained
    assert '\r' not in proc.stdout + proc.stderr


def test_training_records_its_hparams_and_final_metrics(trained):
    from visualdl import LogReader
    _, result, _, _ = trained
    reader = LogReader(file_path=str(result / 'vdl' / 'vdlrecords.run.log'))
    tags = reader.get_tags()
    assert tags.get('hyper_parameters') == ['hparam'], tags
    hparams = {h.name for h in reader.get_data('hyper_parameters', 'hparam')[0].hparam.hparamInfos}
    assert {'model', 'model_depth', 'learning_rate', 'batch_size', 'n_epochs'} <= hparams
    assert 'val/best_acc' in tags['scalar']
    metrics = [m.name for m in reader.get_data('hyper_parameters', 'hparam')[0].hparam.metricInfos]
    assert {'val/acc', 'val/loss', 'train/loss', 'val/best_acc'} <= set(metrics)


def test_next_commands_run_when_pasted_in_any_folder(trained, tmp_path):
    _, result, proc, _ = trained
    commands = next_commands(proc.stdout)
    test_cmd = next(c for c in commands if any(a.endswith('test.py') for a in c))
    vdl_cmd = next(c for c in commands if any('visualdl' in a for a in c[:2]))
    assert os.path.isabs(test_cmd[0]) and os.path.isabs(vdl_cmd[0])
    out = subprocess.run(test_cmd + ['--result_path', str(tmp_path / 'val')], cwd='/', capture_output=True,
                         text=True, env=clean_env(), timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '\r' not in out.stdout + out.stderr  # piped: plain lines, no bar
    # test.py's VisualDL records beside its files, at the checkpoint's epoch
    from visualdl import LogReader
    reader = LogReader(file_path=str(tmp_path / 'val' / 'vdl' / 'vdlrecords.run.log'))
    tags = reader.get_tags()
    assert 'val/confusion_matrix' in tags['image'] and len(tags['pr_curve']) == 3
    assert [r.id for r in reader.get_data('scalar', 'val/video_top1')] == [2]
    # the printed VisualDL command, from /, answers a client without Accept-Language
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(vdl_cmd + ['--port', str(port), '--host', '127.0.0.1'], cwd='/',
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f'http://127.0.0.1:{port}/app/index', timeout=10) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.time() < deadline
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_finished_run_resumed_trains_nothing_and_writes_nothing(trained):
    _, result, _, args = trained
    before = {p: os.stat(os.path.join(result, p)).st_mtime_ns for p in os.listdir(result)}
    proc = run('main.py', *args, '--resume_path', result / 'last.pdparams', env=clean_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'already finished at epoch 2: nothing to train; use --n_epochs N to continue' in proc.stdout + proc.stderr
    assert 'continuing at epoch' not in proc.stdout
    after = {p: os.stat(os.path.join(result, p)).st_mtime_ns for p in os.listdir(result)}
    assert after == before


def test_fine_tuning_prints_no_paddle_warning(trained, tmp_path):
    root, result, _, _ = trained
    proc = run('main.py', *tiny_run_args(root, tmp_path / 'ft', '--n_epochs', '1', '--pretrain_path',
                                         result / 'last.pdparams'), env=clean_env(), expect_ok=True)
    assert 'Skip loading' not in proc.stderr and 'UserWarning' not in proc.stderr, proc.stderr[-2000:]
