"""Every command through each class of bad input (issue 12): bad flags, malformed files, outputs that
cannot be written or would replace an input, a full disk, and signals.

Each case of the table runs one entry point as a user types it and asserts the error policy
(docs/DESIGN.md, "Errors"): a non-zero exit, exactly one ``error:`` line on stderr naming the problem,
no traceback, and every file that existed before byte-identical afterwards. The signal tests interrupt
main.py (0 and 2 DataLoader workers) and the frame extraction (1 and 2 processes) at an observable
point, check the one line, the exit status and that no worker is left, and then that continuing gives
what an uninterrupted run gives.
"""
import functools
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests import fixtures
from tests.fixtures import (EXPORT, JPG, PREDICT, TEST, TRAIN, fake_ffmpeg_flags, make_frame_dataset, start,
                            tiny_run_args, tree_digest, write_file as write, write_video)

TIMEOUT = 240  # generous: only a hang would reach it
# a command as the user runs it; limit_file_size=n: a full disk after n bytes per file
run = functools.partial(fixtures.run, timeout=TIMEOUT)
wait_for = functools.partial(fixtures.wait_for, seconds=TIMEOUT, poll=0.05)


# ----------------------------------------------------------------------------------------------
# The shared inputs (built once) and their fingerprint
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A frame dataset, a trained checkpoint, a video tree, split lists, prediction files and broken
    variants of each, under one root."""
    root = str(tmp_path_factory.mktemp('world'))
    make_frame_dataset(root, n_train=2, n_val=1, n_frames=8)
    proc = run('main.py', *tiny_run_args(root, os.path.join(root, 'run'), '--n_epochs', '1', '--no_vdl'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(os.path.join(root, 'ucf101_01.json')) as f:
        good = json.load(f)
    write(os.path.join(root, 'not_json.json'), '{"labels": [')
    write(os.path.join(root, 'bom.json'), '\ufeff' + json.dumps(good), mode='w')
    write(os.path.join(root, 'list.json'), '[1, 2]')
    write(os.path.join(root, 'no_labels.json'), json.dumps({'database': good['database']}))
    only_val = dict(good, database={k: v for k, v in good['database'].items() if v['subset'] == 'validation'})
    write(os.path.join(root, 'no_training.json'), json.dumps(only_val))
    write(os.path.join(root, 'reordered.json'), json.dumps(dict(good, labels=good['labels'][::-1])))
    # n_frames holding text: a copy of the frames with one broken n_frames file
    shutil.copytree(os.path.join(root, 'jpg'), os.path.join(root, 'jpg_bad'))
    first = sorted(os.listdir(os.path.join(root, 'jpg_bad', 'RedThings')))[0]
    write(os.path.join(root, 'jpg_bad', 'RedThings', first, 'n_frames'), 'abc')
    # predictions
    video = sorted(good['database'])[0]
    write(os.path.join(root, 'val.json'), json.dumps({'results': {video: [{'label': 'RedThings', 'score': 1.0}]}}))
    write(os.path.join(root, 'val_strings.json'), json.dumps({'results': {video: ['RedThings']}}))
    write(os.path.join(root, 'val_no_label.json'), json.dumps({'results': {video: [{'score': 1.0}]}}))
    write(os.path.join(root, 'top1.txt'), json.dumps({'results': {video: [{'label': 'RedThings', 'score': 1.0}]}}))
    # videos, split lists
    write_video(os.path.join(root, 'videos', 'Cls', 'v_Cls_g01_c01.avi'), n_frames=6, width=48, height=32)
    write_video(os.path.join(root, 'videos', 'Cls', 'v_Cls_g02_c01.avi'), n_frames=6, width=48, height=32)
    write(os.path.join(root, 'ucf', 'classInd.txt'), '1 Cls\n')
    write(os.path.join(root, 'ucf', 'trainlist01.txt'), 'Cls/v_Cls_g01_c01.avi 1\n')
    write(os.path.join(root, 'ucf', 'testlist01.txt'), 'Cls/v_Cls_g02_c01.avi\n')
    write(os.path.join(root, 'ucf_empty', 'classInd.txt'), '1 Cls\n')
    write(os.path.join(root, 'ucf_empty', 'trainlist01.txt'), 'Cls/v_Cls_g01_c01.avi 1\n')
    write(os.path.join(root, 'ucf_empty', 'testlist01.txt'), '')
    write(os.path.join(root, 'ucf_bad', 'classInd.txt'), 'one Cls\n')
    write(os.path.join(root, 'ucf_bad', 'trainlist01.txt'), 'Cls/v_Cls_g01_c01.avi 1\n')
    write(os.path.join(root, 'ucf_bad', 'testlist01.txt'), 'Cls/v_Cls_g02_c01.avi\n')
    write(os.path.join(root, 'hmdb', 'Cls_test_split1.txt'), 'v_Cls_g01_c01.avi 1 \nv_Cls_g02_c01.avi 2 \n')
    write(os.path.join(root, 'hmdb_zero', 'Cls_test_split1.txt'), 'v_Cls_g01_c01.avi 0 \nv_Cls_g02_c01.avi 0 \n')
    write(os.path.join(root, 'hmdb_bad', 'Cls_test_split1.txt'), 'v_Cls_g01_c01.avi seven\n')
    proc = run('scripts/export_model.py', '--checkpoint', os.path.join(root, 'run', 'last.pdparams'), '--output',
               os.path.join(root, 'export'), '--sample_size', '32', '--sample_duration', '4', '--no_verify')
    assert proc.returncode == 0, proc.stderr[-2000:]
    write(os.path.join(root, 'a_file'), 'not a folder\n')
    write(os.path.join(root, 'model.pth'), 'stands in for a PyTorch checkpoint\n')
    return {'root': root, 'ckpt': os.path.join(root, 'run', 'last.pdparams'),
            'video': os.path.join(root, 'videos', 'Cls', 'v_Cls_g01_c01.avi'), 'fingerprint': tree_digest(root)}


# ----------------------------------------------------------------------------------------------
# The table: (entry point, arguments, a fragment of the expected error line)
# '{r}' is the shared root, '{o}' a fresh folder of the test, '{ckpt}' the trained checkpoint,
# '{video}' a video file; the main.py, test.py, scripts' and frame-extraction commands are tests.fixtures'.
# ----------------------------------------------------------------------------------------------

EVAL = 'utils/eval_ucf101.py', '{r}/ucf101_01.json {r}/val.json'
NFRAMES = 'utils/n_frames_ucf101_hmdb51.py', '{r}/jpg'
UCF = 'utils/ucf101_json.py', '{r}/ucf {o}/ann'
HMDB = 'utils/hmdb51_json.py', '{r}/hmdb {o}/ann'
CONVERT = 'utils/convert_torch_checkpoint.py', '{r}/model.pth {o}/converted.pdparams'


def case(command, extra, fragment, base=True, full_disk=None):
    script, args = command
    return pytest.param(script, (args + ' ' + extra) if base else extra, fragment, full_disk,
                        id=f'{os.path.basename(script)}:{extra[:60]}')


CASES = [
    # 1/2. flags whose values cannot mean anything: argparse errors before any work
    case(TRAIN, '--batch_size 0', '--batch_size must be >= 1'),
    case(TRAIN, '--learning_rate -0.1', '--learning_rate must be > 0'),
    case(TRAIN, '--n_epochs 0', '--n_epochs must be >= 1'),
    case(TRAIN, '--checkpoint 0', '--checkpoint must be >= 1'),
    case(TRAIN, '--sample_duration -4', '--sample_duration must be >= 1'),
    case(TRAIN, '--sample_size 0', '--sample_size must be >= 1'),
    case(TRAIN, '--sample_t_stride 0', '--sample_t_stride must be >= 1'),
    case(TRAIN, '--n_val_samples 0', '--n_val_samples must be >= 1'),
    case(TRAIN, '--n_threads -1', '--n_threads must be >= 0'),
    case(TRAIN, '--momentum 1.5', '--momentum must be in [0, 1]'),
    case(TRAIN, '--dampening -0.1', '--dampening must be in [0, 1]'),
    case(TRAIN, '--weight_decay -0.001', '--weight_decay must be >= 0'),
    case(TRAIN, '--lr_patience -1', '--lr_patience must be >= 0'),
    case(TRAIN, '--resnet_widen_factor 0', '--resnet_widen_factor must be > 0'),
    case(TRAIN, '--lr_scheduler multistep --multistep_milestones 5 0', '--multistep_milestones must be >= 1'),
    case(TRAIN, '--model_depth 11', 'model_depth'),
    case(TEST, '--sample_size 0', '--sample_size must be >= 1'),
    case(TEST, '--n_threads -2', '--n_threads must be >= 0'),
    case(PREDICT, '--top_k 0', '--top_k must be >= 1'),
    case(PREDICT, '--clips_per_batch 0', '--clips_per_batch must be >= 1'),
    case(EXPORT, '--tolerance -1', '--tolerance must be >= 0'),
    case(EXPORT, '--name ../../x', 'must be a plain file name'),
    case(EVAL, '-k 0', '--top_k must be >= 1'),
    case(JPG, '--size 0', '--size must be >= 1'),
    case(JPG, '--qscale 1', '--qscale must be in [2, 31]'),
    case(JPG, '{r}/nowhere {o}/jpg', 'AVI_ROOT', base=False),
    case(CONVERT, '--model_depth 0', '--model_depth must be >= 1'),
    # reference flags done differently here (issue 15): the error names what to type instead
    case(TRAIN, '--distributed', 'python -m paddle.distributed.launch --gpus 0,1,2,3 main.py --root_path'),
    case(TEST, '--tensorboard', 'visualdl_server.py --logdir'),
    case(TRAIN, '--batchnorm_sync', '--batchnorm_sync needs several GPU processes'),
    case(TRAIN, '--batch_size 6 --accumulate_steps 4', 'not a multiple of --accumulate_steps'),
    case(TRAIN, '--no_train --inference', 'no checkpoint: pass --resume_path'),
    case(NFRAMES, '{r}/nowhere', 'not a folder', base=False),
    # 1. files whose contents cannot work
    case(TRAIN, '--annotation_path not_json.json', 'not valid JSON'),
    case(TRAIN, '--annotation_path bom.json', 'not valid JSON'),
    case(TRAIN, '--annotation_path list.json', 'expected a JSON object'),
    case(TRAIN, '--annotation_path no_labels.json', "'labels'"),
    case(TRAIN, '--annotation_path no_training.json', 'training'),
    case(TRAIN, '--video_path jpg_bad', 'does not hold a number'),
    case(TEST, '--annotation_path not_json.json', 'not valid JSON'),
    case(TEST, '--annotation_path reordered.json', 'other class names'),
    case(TRAIN, '--resume_path {ckpt} --annotation_path reordered.json --n_epochs 2', 'other class names'),
    case(PREDICT, '--annotation_path {r}/reordered.json', 'other class names'),
    case(PREDICT, '--annotation_path {r}/not_json.json', 'not valid JSON'),
    case(EVAL, '{r}/ucf101_01.json {r}/val_strings.json', 'not a list of', base=False),
    case(EVAL, '{r}/ucf101_01.json {r}/val_no_label.json', 'not a list of', base=False),
    case(EVAL, '{r}/list.json {r}/val.json', 'not an annotation file', base=False),
    case(EVAL, '{r}/ucf101_01.json {r}/not_json.json', 'not valid JSON', base=False),
    case(UCF, '{r}/ucf_empty {o}/ann', 'no validation videos', base=False),
    case(UCF, '{r}/ucf_bad {o}/ann', 'classInd.txt', base=False),
    case(HMDB, '{r}/hmdb_zero {o}/ann', 'no training and no validation videos', base=False),
    case(HMDB, '{r}/hmdb_bad {o}/ann', 'Cls_test_split1.txt', base=False),
    case(CONVERT, '', 'model.pth'),
    # 3. outputs that are a file, sit under a file, or would replace an input
    case(TRAIN, '--result_path {r}/a_file', 'cannot write'),
    case(TRAIN, '--result_path {r}/a_file/run', 'cannot write'),
    case(TEST, '--result_path {r}/a_file', 'cannot write'),
    case(PREDICT, '--output_json {ckpt}', 'cannot write'),
    case(PREDICT, '--output_json {video}', 'cannot write'),
    case(PREDICT, '--output_json {r}/a_file', 'not a .json file'),
    case(PREDICT, '--output_json {r}/a_file/x.json', 'cannot write'),
    case(EXPORT, '--output {r}/a_file', 'cannot write'),
    case(EXPORT, '--output {r}/a_file/export', 'cannot write'),
    case(EVAL, '{r}/ucf101_01.json {r}/top1.txt --save', 'cannot write', base=False),
    case(JPG, '{r}/videos {r}/a_file/jpg', 'cannot write', base=False),
    case(JPG, '{r}/videos {r}/a_file', 'cannot write', base=False),
    case(NFRAMES, '{r}/a_file', 'not a folder', base=False),
    case(UCF, '{r}/ucf {r}/a_file/ann', 'cannot write', base=False),
    case(HMDB, '{r}/hmdb {r}/a_file', 'cannot write', base=False),
    case(CONVERT, '{r}/model.pth {r}/model.pth', 'cannot write', base=False),
    case(CONVERT, '{r}/model.pth {r}/a_file', 'not a .pdparams file', base=False),
    case(TRAIN, '--result_path {r}/run', 'already holds a run'),
    # 1. a full disk (a per-file size limit: writes past it fail as on a full disk)
    case(TRAIN, '', 'cannot write', full_disk=20000),
    case(TEST, '', 'cannot write', full_disk=300),
    case(EXPORT, '', 'cannot write', full_disk=100),
    case(EXPORT, '--output {r}/export', 'cannot write', full_disk=100),  # the previous export stays
    case(PREDICT, '--output_json {o}/p.json', 'cannot write', full_disk=50),
    case(JPG, '', 'cannot write', full_disk=100),
    case(UCF, '', 'cannot write', full_disk=50),
]


@pytest.mark.parametrize('script, args, fragment, full_disk', CASES)
def test_one_error_line_and_nothing_lost(world, tmp_path, script, args, fragment, full_disk):
    argv = args.format(r=world['root'], o=tmp_path, ckpt=world['ckpt'], video=world['video']).split()
    proc = run(script, *argv, limit_file_size=full_disk)
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert proc.returncode != 0, proc.stdout[-1000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    assert len(errors) == 1, proc.stderr[-3000:]
    assert fragment in errors[0], errors[0]
    after = tree_digest(world['root'])
    changed = [p for p, digest in world['fingerprint'].items() if after.get(p) != digest]
    assert not changed, changed


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only folders')
@pytest.mark.parametrize('script, args', [TRAIN, TEST, EXPORT, JPG, UCF])
def test_read_only_output_folder(world, tmp_path, script, args):
    os.chmod(tmp_path, 0o555)
    try:
        proc = run(script, *args.format(r=world['root'], o=tmp_path, ckpt=world['ckpt'],
                                        video=world['video']).split())
    finally:
        os.chmod(tmp_path, 0o755)
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert len(errors) == 1 and 'cannot write' in errors[0], proc.stderr[-2000:]


def test_failed_start_does_not_block_the_corrected_command(world, tmp_path):
    """A folder holding logs but no checkpoint (a failed or interrupted first epoch) holds no run."""
    result = tmp_path / 'run'
    result.mkdir()
    (result / 'train.log').write_text('epoch\tloss\tacc\tlr\n')
    proc = run('main.py', *tiny_run_args(world['root'], result, '--n_epochs', '1', '--no_vdl', '--no_val'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (result / 'last.pdparams').is_file()


# ----------------------------------------------------------------------------------------------
# Signals: one line, the workers gone, and continuing equals an uninterrupted run
# ----------------------------------------------------------------------------------------------

def interrupt(proc, signum):
    """Send ``signum`` to the command's whole process group (a terminal's Ctrl-C, a scheduler's stop);
    returns (status, stderr) once it ended and checks no process of the group is left."""
    os.killpg(proc.pid, signum)
    _, err = proc.communicate(timeout=TIMEOUT)
    deadline = time.time() + 30
    while True:  # the workers end with their parent; give them a moment to be reaped
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        assert time.time() < deadline, 'worker processes were left running'
        time.sleep(0.05)
    return proc.returncode, err


def batch_rows(path, epoch):
    try:
        with open(path) as f:
            return sum(1 for line in f if line.split('\t')[0] == str(epoch))
    except FileNotFoundError:
        return 0


def read(path):
    with open(path) as f:
        return f.read()


@pytest.fixture(scope='module')
def straight_runs(world, tmp_path_factory):
    """Uninterrupted 3-epoch runs, per worker count."""
    runs = {}

    def get(workers):
        if workers not in runs:
            result = tmp_path_factory.mktemp(f'straight{workers}') / 'run'
            proc = run('main.py', *tiny_run_args(world['root'], result, '--n_epochs', '3', '--no_vdl',
                                                 '--n_threads', workers))
            assert proc.returncode == 0, proc.stderr[-2000:]
            runs[workers] = result
        return runs[workers]
    return get


@pytest.mark.parametrize('workers', ['0', '2'])
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_training_interrupted_then_resumed_equals_uninterrupted(world, straight_runs, tmp_path, workers, signum):
    result = tmp_path / 'run'
    args = tiny_run_args(world['root'], result, '--no_vdl', '--n_threads', workers)
    # --n_epochs 50: still running whenever the signal lands (the logs do not depend on it; the plateau
    # schedule does not either); resumed with --n_epochs 3
    proc = start('main.py', *args, '--n_epochs', '50', stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                 start_new_session=True)
    try:  # inside epoch 2: its first batch is logged, epoch 1's checkpoint is on disk
        wait_for(lambda: batch_rows(result / 'train_batch.log', 2) >= 1, proc, 'epoch 2')
        status, err = interrupt(proc, signum)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    errors = [line for line in err.splitlines() if 'error:' in line]
    assert status == 128 + signum, err[-3000:]
    assert 'Traceback' not in err and 'FatalError' not in err, err[-3000:]
    assert len(errors) == 1 and 'interrupted in epoch ' in errors[0], err[-3000:]
    epoch = int(errors[0].split('interrupted in epoch ')[1].split(';')[0])
    assert epoch in (2, 3) and f'--resume_path {result / "last.pdparams"}' in errors[0]

    proc = run('main.py', *args, '--n_epochs', '3', '--resume_path', result / 'last.pdparams')
    assert proc.returncode == 0, proc.stderr[-3000:]
    straight = straight_runs(workers)
    for name in ('train.log', 'val.log', 'train_batch.log'):
        assert read(result / name) == read(straight / name), name
    from engine.checkpoint import load_checkpoint
    import numpy as np
    a, b = load_checkpoint(str(straight / 'last.pdparams')), load_checkpoint(str(result / 'last.pdparams'))
    assert a['epoch'] == b['epoch'] == 3
    for key, value in a['state_dict'].items():
        np.testing.assert_allclose(b['state_dict'][key], value, rtol=1e-5, atol=1e-6, err_msg=key)


def interrupt_conversion(script, args, tmp_path, signum):
    """Run a conversion command until it hangs on v_c, send ``signum``: it must end with exactly one
    'error: ... interrupted' line, no traceback, status 128 + signum."""
    started = tmp_path / 'started'
    env = dict(os.environ, HANG_ON='v_c.avi', STARTED=str(started))
    proc = start(script, *args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(started.exists, proc, 'the conversion of v_c')
        status, err = interrupt(proc, signum)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    errors = [line for line in err.splitlines() if 'error:' in line]
    assert status == 128 + signum, err[-3000:]
    assert 'Traceback' not in err and len(errors) == 1 and 'interrupted' in errors[0], err[-3000:]


@pytest.mark.parametrize('jobs', ['1', '2'])
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_frame_extraction_interrupted_then_rerun_equals_uninterrupted(tmp_path, jobs, signum):
    src = tmp_path / 'videos'
    for name in ('v_a', 'v_b', 'v_c', 'v_d'):
        write(str(src / 'Cls' / f'{name}.avi'), name)
    argv = fake_ffmpeg_flags(tmp_path, jobs)
    interrupt_conversion('utils/video_jpg_ucf101_hmdb51.py', [src, tmp_path / 'jpg', *argv], tmp_path, signum)
    assert not os.path.exists(tmp_path / 'jpg' / 'Cls' / 'v_c')  # never looks finished

    rerun = run('utils/video_jpg_ucf101_hmdb51.py', src, tmp_path / 'jpg', *argv)
    straight = run('utils/video_jpg_ucf101_hmdb51.py', src, tmp_path / 'straight', *argv)
    assert rerun.returncode == straight.returncode == 0, rerun.stderr + straight.stderr
    assert tree_digest(tmp_path / 'jpg') == tree_digest(tmp_path / 'straight')


@pytest.mark.parametrize('workers', ['0', '2'])
def test_missing_frame_is_named_in_every_worker_configuration(tmp_path, workers):
    """The worker's own message (the missing file) reaches the user, also with random temporal crops (loading
    the clip again in the main process would draw another window)."""
    make_frame_dataset(tmp_path, n_train=1, n_val=1, n_frames=6)
    os.remove(tmp_path / 'jpg' / 'GreenThings' / 'v_GreenThings_g02_c01' / 'image_00003.jpg')
    proc = run('main.py', *tiny_run_args(tmp_path, tmp_path / 'r', '--n_epochs', '1', '--no_val', '--no_vdl',
                                         '--sample_duration', '6', '--n_threads', workers))
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr and len(errors) == 1, proc.stderr[-3000:]
    assert os.path.join('v_GreenThings_g02_c01', 'image_00003.jpg') in errors[0], errors[0]


class FailsOnce:
    """Items (clip, target) whose item 1 fails only on its first load (as a random window that touched a
    missing frame, drawn differently when loaded again)."""
    samples = [{'video': 'v0'}, {'video': 'v1'}]
    clip_dtype = 'uint8'

    def __init__(self):
        self.calls = 0

    def __len__(self):
        return 2

    def __getitem__(self, index):
        import numpy as np
        if index == 1 and self.calls == 0:
            self.calls += 1
            raise FileNotFoundError('frame not found: jpg/v1/image_00003.jpg')
        return np.zeros((3, 2, 4, 4), 'uint8'), 0


@pytest.mark.parametrize('workers', [0, 2])
def test_the_workers_own_message_is_reported(workers):
    import paddle
    from datasets.safe_clips import SafeClips
    from core.errors import quiet_worker
    safe = SafeClips(FailsOnce(), (3, 2, 4, 4))
    loader = paddle.io.DataLoader(safe, batch_size=2, num_workers=workers, worker_init_fn=quiet_worker)
    (clips, targets, indices, ok, messages), = list(loader)
    assert safe.first_error(indices.numpy(), ok.numpy(), messages.numpy()) == \
        'frame not found: jpg/v1/image_00003.jpg'


def test_half_built_loader_iterator_is_silent_only_after_a_signal(monkeypatch):
    """A signal inside the constructor of Paddle's multi-process DataLoader iterator makes its __del__ fail
    (no _workers_done_event): that follow-on is not reported after a signal, and still is without one."""
    from types import SimpleNamespace
    from core import errors

    def __del__(self):
        pass

    __del__.__qualname__ = '_DataLoaderIterMultiProcess.__del__'
    follow_on = SimpleNamespace(exc_value=AttributeError('_workers_done_event'), object=__del__)
    reported = []
    monkeypatch.setattr(errors, '_received', [])
    errors._unraisable(follow_on, default=reported.append)
    assert reported == [follow_on]
    errors._received.append(signal.SIGINT)
    errors._unraisable(follow_on, default=reported.append)
    other = SimpleNamespace(exc_value=AttributeError('x'), object=print)
    errors._unraisable(other, default=reported.append)
    assert reported == [follow_on, other]
