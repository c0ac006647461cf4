"""End-to-end runs of the real main.py on a tiny generated dataset (CPU, a few seconds each)."""
import functools
import glob
import json
import os
import shlex
import signal
import subprocess
import time

import numpy as np
import pytest

from engine.checkpoint import load_checkpoint
from tests.fixtures import PADDLE_NOISE, REPO, clean_env, make_frame_dataset, read_tsv, run, start, tiny_run_args

# main.py as a user runs it
run_main = functools.partial(run, 'main.py')


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny')
    make_frame_dataset(root)
    return root


def test_training_learns_and_writes_logs_and_checkpoints(data_root, tmp_path):
    result = tmp_path / 'run'
    proc = run_main(*tiny_run_args(data_root, result, '--n_epochs', '6', '--checkpoint', '2'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    train = read_tsv(result / 'train.log')
    assert [row['epoch'] for row in train] == ['1', '2', '3', '4', '5', '6']
    assert float(train[-1]['loss']) < float(train[0]['loss'])
    assert list(read_tsv(result / 'train_batch.log')[0]) == ['epoch', 'batch', 'iter', 'loss', 'acc', 'lr']
    assert list(read_tsv(result / 'val.log')[0]) == ['epoch', 'loss', 'acc']
    assert 'clip acc' in proc.stdout
    for name in ['opts.json', 'save_2.pdparams', 'save_6.pdparams', 'last.pdparams', 'best.pdparams']:
        assert (result / name).is_file(), name
    checkpoint = load_checkpoint(str(result / 'save_6.pdparams'))
    assert checkpoint['epoch'] == 6 and checkpoint['arch'] == 'resnet-10'
    assert checkpoint['model_opts']['resnet_widen_factor'] == 0.125
    assert checkpoint['class_names'] == ['RedThings', 'GreenThings', 'BlueThings']
    assert {'state_dict', 'optimizer', 'scheduler', 'best_acc'} <= set(checkpoint)
    assert checkpoint['data_opts']['sample_size'] == 32 and checkpoint['data_opts']['sample_duration'] == 4

    from visualdl import LogReader
    reader = LogReader(file_path=glob.glob(str(result / 'vdl' / 'vdlrecords.*'))[0])
    assert {'train/loss', 'train/acc', 'train/lr', 'train/clips_per_s', 'val/acc'} <= set(reader.get_tags()['scalar'])
    assert len(reader.get_data('scalar', 'train/loss')) == 6


def vdl_curve(result, tag):
    """(step, value) of ``tag`` in the run folder's VisualDL records, read with VisualDL's reader; the folder
    must hold one record file (VisualDL shows only a folder's newest)."""
    from visualdl import LogReader
    files = glob.glob(str(result / 'vdl' / 'vdlrecords.*'))
    assert [os.path.basename(f) for f in files] == ['vdlrecords.run.log']
    return [(r.id, r.value) for r in LogReader(file_path=files[0]).get_data('scalar', tag)]


def test_visualdl_records_continue_across_resumes(data_root, tmp_path):
    result = tmp_path / 'run'
    assert run_main(*tiny_run_args(data_root, result, '--n_epochs', '3', '--checkpoint', '1')).returncode == 0
    assert [step for step, _ in vdl_curve(result, 'train/loss')] == [1, 2, 3]
    # Interrupted after epoch 3's records but resumed from epoch 2's checkpoint: epoch 3 is trained again and
    # its first records go. The folder's file is renamed as the code before one stream per run named it.
    os.rename(result / 'vdl' / 'vdlrecords.run.log', result / 'vdl' / 'vdlrecords.1764633600.log')
    proc = run_main(*tiny_run_args(data_root, result, '--n_epochs', '4', '--resume_path',
                                   str(result / 'save_2.pdparams')))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'is exists' not in proc.stdout  # VisualDL's own print when it appends
    train_log = [float(row['loss']) for row in read_tsv(result / 'train.log')]
    curve = vdl_curve(result, 'train/loss')
    assert [step for step, _ in curve] == [1, 2, 3, 4]
    assert [value for _, value in curve] == pytest.approx(train_log, rel=1e-5)
    assert [step for step, _ in vdl_curve(result, 'val/acc')] == [1, 2, 3, 4]

    # A second run of the same command (the demo's second run): no epoch left, the curve stays whole.
    proc = run_main(*tiny_run_args(data_root, result, '--n_epochs', '4', '--resume_path',
                                   str(result / 'last.pdparams')))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert vdl_curve(result, 'train/loss') == curve


@pytest.mark.parametrize('n_threads', ['0', '2'])  # 2: worker processes draw the augmentation
def test_resumed_run_matches_uninterrupted(data_root, tmp_path, n_threads):
    straight, split = tmp_path / 'straight', tmp_path / 'split'
    workers = ['--n_threads', n_threads]
    assert run_main(*tiny_run_args(data_root, straight, '--n_epochs', '3', *workers)).returncode == 0
    assert run_main(*tiny_run_args(data_root, split, '--n_epochs', '2', *workers)).returncode == 0
    proc = run_main(*tiny_run_args(data_root, split, '--n_epochs', '3', *workers,
                                   '--resume_path', str(split / 'last.pdparams')))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'continuing at epoch 3' in proc.stdout
    assert [row['epoch'] for row in read_tsv(split / 'train.log')] == ['1', '2', '3']
    a = load_checkpoint(str(straight / 'last.pdparams'))
    b = load_checkpoint(str(split / 'last.pdparams'))
    assert a['epoch'] == b['epoch'] == 3
    for key, value in a['state_dict'].items():
        np.testing.assert_allclose(b['state_dict'][key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert read_tsv(straight / 'train.log')[2]['loss'] == read_tsv(split / 'train.log')[2]['loss']


def test_kill_mid_run_leaves_only_loadable_checkpoints(data_root, tmp_path):
    result = tmp_path / 'killed'
    proc = start('main.py', *tiny_run_args(data_root, result, '--n_epochs', '200', '--checkpoint', '1', '--no_vdl'),
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while len(glob.glob(str(result / 'save_*.pdparams'))) < 2 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.37)  # somewhere inside the next epoch or its checkpoint writes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    checkpoints = glob.glob(str(result / '*.pdparams'))
    assert len(checkpoints) >= 3
    for path in checkpoints:
        assert 'state_dict' in load_checkpoint(path)


def test_bad_inputs_give_one_clear_error(data_root, tmp_path):
    proc = run_main(*tiny_run_args(data_root, tmp_path / 'a', '--n_epochs', '1'), '--n_classes', '5')
    assert proc.returncode != 0 and 'lists 3 labels but --n_classes is 5' in proc.stderr

    proc = run_main(*tiny_run_args(data_root, tmp_path / 'b'), '--annotation_path', 'nope.json')
    assert proc.returncode != 0 and 'nope.json' in proc.stderr and '--annotation_path' in proc.stderr

    proc = run_main(*tiny_run_args(data_root, tmp_path / 'b'), '--video_path', 'no_frames_here')
    assert proc.returncode != 0 and 'no_frames_here' in proc.stderr and '--video_path' in proc.stderr
    assert not (tmp_path / 'a').exists() and not (tmp_path / 'b').exists()  # a bad command leaves nothing behind

    good = tmp_path / 'good'
    assert run_main(*tiny_run_args(data_root, good, '--n_epochs', '1')).returncode == 0
    proc = run_main(*tiny_run_args(data_root, good, '--n_epochs', '2'))
    assert proc.returncode != 0 and '--resume_path' in proc.stderr  # refuses to overwrite a run

    truncated = tmp_path / 'truncated.pdparams'
    truncated.write_bytes((good / 'last.pdparams').read_bytes()[:1000])
    proc = run_main(*tiny_run_args(data_root, tmp_path / 'c', '--resume_path', str(truncated)))
    assert proc.returncode != 0 and 'truncated.pdparams' in proc.stderr and 'Traceback' not in proc.stderr

    proc = run_main(*tiny_run_args(data_root, tmp_path / 'd', '--resume_path', str(good / 'last.pdparams')),
                    '--model_depth', '18')
    assert proc.returncode != 0 and '--model_depth 18 (checkpoint: 10)' in proc.stderr

    proc = run_main(*tiny_run_args(data_root, tmp_path / 'e', '--learning_rate', '1e30', '--n_epochs', '3'))
    assert proc.returncode != 0 and 'loss became nan' in proc.stderr.lower()


@pytest.mark.parametrize('n_threads', ['0', '2'])
def test_missing_frames_are_named(tmp_path, n_threads):
    make_frame_dataset(tmp_path, n_train=1, n_val=1)
    os.remove(tmp_path / 'jpg' / 'GreenThings' / 'v_GreenThings_g02_c01' / 'image_00003.jpg')
    proc = run_main(*tiny_run_args(tmp_path, tmp_path / 'r', '--n_epochs', '1', '--no_val',
                                   '--train_t_crop', 'center', '--n_threads', n_threads))
    assert proc.returncode != 0
    assert os.path.join('v_GreenThings_g02_c01', 'image_00003.jpg') in proc.stderr


def test_two_process_cpu_launch_keeps_ranks_identical(data_root, tmp_path):
    result, logs = tmp_path / 'dist', tmp_path / 'dist_logs'
    proc = run('-m', 'paddle.distributed.launch', '--nproc_per_node', '2', '--log_dir', logs,
               os.path.join(REPO, 'main.py'), *tiny_run_args(data_root, result, '--n_epochs', '2'))
    worker_logs = [(logs / f'workerlog.{r}').read_text() for r in (0, 1)]
    assert proc.returncode == 0, worker_logs[0][-3000:] + worker_logs[1][-3000:]
    checksums = [[line for line in log.splitlines() if 'parameter checksum' in line][-1].split()[-1]
                 for log in worker_logs]
    assert checksums[0] == checksums[1]
    assert [row['epoch'] for row in read_tsv(result / 'train.log')] == ['1', '2']
    state = load_checkpoint(str(result / 'last.pdparams'))['state_dict']
    total = sum(float(np.asarray(v, dtype='float64').sum()) for k, v in state.items()
                if not k.endswith(('_mean', '_variance')))
    assert f'{total:.6e}' == checksums[0]


def without_model_flags(args):
    """tiny_run_args without the model options (each flag and its value)."""
    dropped = {'--model', '--model_depth', '--resnet_widen_factor', '--n_classes'}
    kept = []
    for i, arg in enumerate(args):
        if arg in dropped or (i and args[i - 1] in dropped):
            continue
        kept.append(arg)
    return kept


def test_resume_without_repeating_the_model_flags(data_root, tmp_path):
    result = tmp_path / 'run'
    assert run_main(*tiny_run_args(data_root, result, '--n_epochs', '1', '--no_val')).returncode == 0
    first = load_checkpoint(str(result / 'last.pdparams'))
    args = without_model_flags(tiny_run_args(data_root, result, '--n_epochs', '2', '--no_val',
                                             '--resume_path', str(result / 'last.pdparams')))
    assert '--model_depth' not in args and '--n_classes' not in args
    proc = run_main(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'continuing at epoch 2' in proc.stdout
    second = load_checkpoint(str(result / 'last.pdparams'))
    assert second['epoch'] == 2 and second['arch'] == 'resnet-10'
    assert second['model_opts'] == first['model_opts']


def test_commands_hide_paddles_noise_unless_verbose(data_root, tmp_path):
    workers = ['--n_epochs', '1', '--n_threads', '2']  # worker processes: they inherit the quiet settings
    proc = run_main(*tiny_run_args(data_root, tmp_path / 'run', *workers), env=clean_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [noise for noise in PADDLE_NOISE if noise in proc.stdout + proc.stderr] == []
    assert 'epoch 1/1' in proc.stdout

    test_py = run('test.py', '--root_path', data_root, '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
                  '--dataset', 'ucf101', '--result_path', tmp_path / 'val', '--resume_path',
                  tmp_path / 'run' / 'last.pdparams', '--n_threads', '2', '--batch_size', '4', '--device', 'cpu',
                  env=clean_env())
    assert test_py.returncode == 0, test_py.stderr[-2000:]
    assert [noise for noise in PADDLE_NOISE if noise in test_py.stdout + test_py.stderr] == []
    assert 'video top-1 accuracy' in test_py.stdout

    verbose = run_main(*tiny_run_args(data_root, tmp_path / 'verbose', *workers, '--verbose'), env=clean_env())
    assert verbose.returncode == 0, verbose.stderr[-2000:]
    assert [noise for noise in PADDLE_NOISE if noise in verbose.stderr] != []  # the static eval graph's glog lines


def test_quiet_paddle_switches_filters_and_environment(monkeypatch):
    import warnings
    from core.preload import quiet_paddle
    monkeypatch.delenv('GLOG_minloglevel', raising=False)
    monkeypatch.setenv('PYTHONWARNINGS', 'ignore::DeprecationWarning')  # a user's own entry is kept
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')  # what Paddle's import does; quiet_paddle goes in front of it
        assert quiet_paddle(False) is True
        warnings.warn('No ccache found. Please be aware', UserWarning)
        warnings.warn('When training, we now always track global mean and variance.', UserWarning)
        warnings.warn('a warning of ours', UserWarning)
        assert [str(w.message) for w in caught] == ['a warning of ours']
        assert os.environ['GLOG_minloglevel'] == '2'
        assert os.environ['PYTHONWARNINGS'].startswith('ignore::DeprecationWarning,ignore:No ccache found:')
        assert quiet_paddle(True) is False
        warnings.warn('No ccache found. Please be aware', UserWarning)
        assert len(caught) == 2
        assert 'GLOG_minloglevel' not in os.environ
        assert os.environ['PYTHONWARNINGS'] == 'ignore::DeprecationWarning'


IN_PROCESS = """
import json, sys
sys.path.insert(0, {repo!r})  # main.py is a top-level script, not an installed module
import main  # first, as the notebook does: MKL's code path is fixed by the process's first computation
import paddle
x = paddle.randn([256, 256]); (x @ x).sum().item()  # an earlier notebook cell that computed something
from engine.evaluation import evaluate_checkpoint
from opts import parse_test
train = main.main({train!r})
test = evaluate_checkpoint(parse_test({test!r})[0])
print('METRICS ' + json.dumps({{'train': train, 'test': test}}))
"""


def test_in_process_run_gives_the_command_lines_numbers(data_root, tmp_path):
    """main.main(argv) and engine.evaluation.evaluate_checkpoint(opts.parse_test(argv)[0]), called in a process that had computed before (a
    notebook kernel), return the metrics the commands print and log."""
    def argv(where):
        train = tiny_run_args(data_root, where / 'run', '--n_epochs', '2', '--n_threads', '2')
        test = ['--root_path', str(data_root), '--video_path', 'jpg', '--annotation_path', 'ucf101_01.json',
                '--dataset', 'ucf101', '--result_path', str(where / 'val'), '--resume_path',
                str(where / 'run' / 'last.pdparams'), '--n_threads', '0', '--batch_size', '4', '--device', 'cpu',
                '--no_tqdm']
        return train, test

    train, test = argv(tmp_path / 'cli')
    assert run_main(*train, env=clean_env()).returncode == 0
    cli_test = run('test.py', *test, env=clean_env())
    assert cli_test.returncode == 0, cli_test.stderr[-2000:]

    train, test = argv(tmp_path / 'inproc')
    proc = run('-c', IN_PROCESS.format(repo=REPO, train=train, test=test), cwd=str(tmp_path), env=clean_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    returned = json.loads(proc.stdout.split('METRICS ', 1)[1])

    for name in ['train.log', 'val.log']:
        cli = read_tsv(tmp_path / 'cli' / 'run' / name)
        inproc = read_tsv(tmp_path / 'inproc' / 'run' / name)
        assert [row['loss'] for row in inproc] == [row['loss'] for row in cli], name
    assert f"{returned['train']['val']['loss']:.6g}" == read_tsv(tmp_path / 'cli' / 'run' / 'val.log')[-1]['loss']
    assert f"{returned['train']['train']['loss']:.6g}" == read_tsv(tmp_path / 'cli' / 'run' / 'train.log')[-1]['loss']
    cli_metrics = json.load(open(tmp_path / 'cli' / 'val' / 'val_metrics.json'))
    for key in ['clip_top1', 'video_top1', 'video_top5', 'n_clips']:
        assert returned['test'][key] == cli_metrics[key], key


def test_printed_next_commands_work_when_copied(data_root, tmp_path):
    """--root_path prefixes --result_path (as the reference does); the commands main.py prints at the end
    use absolute paths, so they run from any folder and with --root_path still given."""
    os.symlink(data_root, tmp_path / 'data')
    args = tiny_run_args('data', 'results', '--n_epochs', '1', '--checkpoint', '1')  # both relative
    proc = run_main(*args, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    test_command = shlex.split(lines[lines.index(next(ln for ln in lines if 'video accuracy of the last' in ln)) + 1])
    assert test_command[1].endswith('test.py')
    copied = run(test_command, '--root_path', tmp_path / 'elsewhere', '--no_tqdm', cwd='/')
    assert copied.returncode == 0, copied.stderr[-2000:]
    assert os.path.isfile(tmp_path / 'data' / 'results_val' / 'val.json')

    logdir = shlex.split(next(ln for ln in lines if ln.strip().startswith('curves and evaluation')).split(': ', 1)[1])
    assert logdir[1].endswith('visualdl_server.py') and logdir[2] == '--logdir'
    assert os.listdir(logdir[3]) == ['vdlrecords.run.log'] and logdir[4].endswith('results_val' + os.sep + 'vdl')

    resume = shlex.split(next(ln for ln in lines if 'more epochs' in ln).split('--resume_path', 1)[1])[0]
    proc = run_main(*args, '--n_epochs', '2', '--resume_path', resume, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'continuing at epoch 2' in proc.stdout
