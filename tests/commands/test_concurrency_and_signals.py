"""The error policy (docs/DESIGN.md, "Errors") where timing matters: two commands into one folder, a parent
killed by kill -9, signals in a command's first seconds, and outputs that would replace unrelated files.

The sibling of test_cli_errors.py's table, with the same contract: a non-zero exit (or the documented
behaviour), exactly one ``error:`` line where one is due, no Traceback, pre-existing files byte-identical, and
no process left whose parent was the command.

1. Two runs, one folder: a second main.py / frame extraction / HDF5 packer into a folder in use is refused with
   one line naming the holder's PID (core/locks.py); a resume into a folder holding another run is refused.
2. Workers die with their parent: after kill -9 of main.py (2 DataLoader workers) or of a conversion command
   (pool workers, the ffmpeg they run), none of their processes is left.
3. Signals in the first seconds: SIGINT and SIGTERM at several moments of main.py, test.py, predict.py and
   export_model.py (from the interpreter's start to the DataLoader workers' start) end with one line and
   130 / 143; the converter's SIGTERM leaves no temporary file, and one left by a killed conversion is removed.
4. predict.py --output_json over an annotation JSON or a run's opts.json and the converter's DST over a trained
   checkpoint are refused without --overwrite; their own earlier outputs are replaced as before.
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
from tests.fixtures import (fake_ffmpeg_flags, make_frame_dataset, start, tiny_run_args, tree_digest, wait_for,
                            write_file as write, write_video)

TIMEOUT = 240  # a hang guard only
run = functools.partial(fixtures.run, timeout=TIMEOUT)


# ----------------------------------------------------------------------------------------------
# Processes
# ----------------------------------------------------------------------------------------------

def _children_map():
    """{pid: ppid} of every live (not zombie) process."""
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if fields[0] != 'Z':
            out[int(name)] = int(fields[1])
    return out


def descendants(pid):
    """The live processes below ``pid``."""
    parents = _children_map()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier and p not in found}
        found |= frontier
    return found


def wait_gone(pids, seconds=15):
    """The processes of ``pids`` still alive after up to ``seconds``."""
    deadline = time.time() + seconds
    while True:
        left = set(pids) & set(_children_map())
        if not left or time.time() > deadline:
            return left
        time.sleep(0.05)


def error_lines(text):
    return [line for line in text.splitlines() if 'error:' in line]


def assert_one_error(proc_or_status, err, fragment=None, status=None):
    code = proc_or_status if isinstance(proc_or_status, int) else proc_or_status.returncode
    errors = error_lines(err)
    assert code != 0 if status is None else code == status, (code, err[-3000:])
    assert 'Traceback' not in err and 'FatalError' not in err, err[-3000:]
    assert len(errors) == 1, err[-3000:]
    if fragment:
        assert fragment in errors[0], errors[0]
    return errors[0]


def stop(proc):
    """End a background command and everything it started."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.communicate(timeout=TIMEOUT)


# ----------------------------------------------------------------------------------------------
# Shared inputs
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A frame dataset, two finished runs (A, B), a video, an export and a videos tree."""
    root = str(tmp_path_factory.mktemp('world'))
    make_frame_dataset(root, n_train=2, n_val=1, n_frames=8)
    for name in ('A', 'B'):
        proc = run('main.py', *tiny_run_args(root, os.path.join(root, name), '--n_epochs', '1', '--no_vdl'))
        assert proc.returncode == 0, proc.stderr[-2000:]
    write_video(os.path.join(root, 'v_Test_g01_c01.avi'), n_frames=11, width=80, height=60, pattern='edge')
    for name in ('v_a', 'v_b', 'v_c', 'v_d'):
        write(os.path.join(root, 'videos', 'Cls', f'{name}.avi'), name)
    write(os.path.join(root, 'predictions.json'), json.dumps({'results': {'v': [{'label': 'RedThings', 'score': 1}]}}))
    return {'root': root, 'A': os.path.join(root, 'A'), 'B': os.path.join(root, 'B'),
            'video': os.path.join(root, 'v_Test_g01_c01.avi')}


def conversion(tmp_path, jobs):
    """(flags, env) of a conversion command whose stand-in ffmpeg hangs on v_c.avi, touching tmp_path/started."""
    env = dict(os.environ, HANG_ON='v_c.avi', STARTED=str(tmp_path / 'started'))
    return fake_ffmpeg_flags(tmp_path, jobs), env


CONVERTERS = ['utils/video_jpg_ucf101_hmdb51.py', 'utils/generate_video_hdf5.py']


# ----------------------------------------------------------------------------------------------
# 1. Two commands, one folder
# ----------------------------------------------------------------------------------------------

def test_second_run_into_a_folder_in_use_is_refused(world, tmp_path):
    result = tmp_path / 'run'
    args = tiny_run_args(world['root'], result, '--no_vdl', '--n_epochs', '50')
    first = start('main.py', *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for((result / '.lock').exists, first, 'the first run to start')
        second = run('main.py', *args)
        line = assert_one_error(second, second.stderr, 'in use by another command', status=1)
        assert f'PID {first.pid}' in line and str(result) in line and '--result_path' in line, line
        wait_for(lambda: (result / 'train.log').exists(), first, 'the first epoch')
        assert first.poll() is None  # the first run goes on, alone
        with open(result / 'opts.json') as f:
            assert json.load(f)['n_epochs'] == 50
    finally:
        stop(first)
    # the lock died with its holder: the folder can be continued at once
    proc = run('main.py', *tiny_run_args(world['root'], result, '--no_vdl', '--n_epochs', '1'), '--resume_path',
               result / 'last.pdparams') if (result / 'last.pdparams').exists() else None
    if proc is not None:
        assert proc.returncode == 0 and 'in use' not in proc.stderr, proc.stderr[-2000:]


def test_resume_over_another_run_is_refused_and_into_a_new_folder_allowed(world, tmp_path):
    before = tree_digest(world['root'])
    args = tiny_run_args(world['root'], world['B'], '--no_vdl', '--n_epochs', '2',
                         '--resume_path', os.path.join(world['A'], 'last.pdparams'))
    proc = run('main.py', *args)
    line = assert_one_error(proc, proc.stderr, 'holds another run', status=1)
    assert world['A'] in line and world['B'] in line, line
    assert tree_digest(world['root']) == before
    # into a new folder: allowed (a fork of the run), A stays as it was
    proc = run('main.py', *tiny_run_args(world['root'], tmp_path / 'fork', '--no_vdl', '--n_epochs', '2',
                                         '--resume_path', os.path.join(world['A'], 'last.pdparams')))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / 'fork' / 'last.pdparams').is_file() and tree_digest(world['root']) == before


@pytest.mark.parametrize('script', CONVERTERS)
def test_second_conversion_into_a_folder_in_use_is_refused(world, tmp_path, script):
    flags, env = conversion(tmp_path, '1')
    dst = tmp_path / 'out'
    first = start(script, os.path.join(world['root'], 'videos'), dst, *flags, env=env, stdout=subprocess.DEVNULL,
                  stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for((tmp_path / 'started').exists, first, 'the conversion of v_c')
        second = run(script, os.path.join(world['root'], 'videos'), dst, *flags, env=dict(env, HANG_ON=''))
        line = assert_one_error(second, second.stderr, 'in use by another command', status=1)
        assert f'PID {first.pid}' in line and 'FAILED' not in second.stdout + second.stderr, line
    finally:
        stop(first)


# ----------------------------------------------------------------------------------------------
# 2. kill -9: nothing the command started outlives it
# ----------------------------------------------------------------------------------------------

def test_dataloader_workers_die_with_a_killed_main(world, tmp_path):
    result = tmp_path / 'run'
    proc = start('main.py', *tiny_run_args(world['root'], result, '--no_vdl', '--n_epochs', '50', '--n_threads', '2'),
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: fixtures.read_tsv(result / 'train_batch.log') if (result / 'train_batch.log').exists()
                 else False, proc, 'the first batch')
        workers = descendants(proc.pid)
        assert len(workers) >= 2, workers
        proc.kill()  # kill -9 of main.py alone (the OOM killer's way)
        proc.wait(timeout=TIMEOUT)
        assert not wait_gone(workers), 'DataLoader workers outlived main.py'
    finally:
        stop(proc)
    # the lock died with it: the run continues at once
    proc = run('main.py', *tiny_run_args(world['root'], result, '--no_vdl', '--n_epochs', '1'), '--resume_path',
               result / 'last.pdparams') if (result / 'last.pdparams').exists() else None
    assert proc is None or 'in use' not in proc.stderr


@pytest.mark.parametrize('jobs', ['1', '2'])
@pytest.mark.parametrize('script', CONVERTERS)
def test_conversion_workers_die_with_a_killed_parent(world, tmp_path, script, jobs):
    flags, env = conversion(tmp_path, jobs)
    proc = start(script, os.path.join(world['root'], 'videos'), tmp_path / 'out', *flags, env=env,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for((tmp_path / 'started').exists, proc, 'the conversion of v_c')
        started = descendants(proc.pid)
        assert started, 'no worker or ffmpeg process seen'
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        assert not wait_gone(started), 'workers or their ffmpeg outlived the command'
    finally:
        stop(proc)


# ----------------------------------------------------------------------------------------------
# 3. Signals in the first seconds
# ----------------------------------------------------------------------------------------------

def signal_commands(world, tmp_path):
    ckpt = os.path.join(world['A'], 'last.pdparams')
    size = ['--sample_size', '32', '--sample_duration', '4']
    return {
        'main.py': ['main.py', *tiny_run_args(world['root'], tmp_path / 'run', '--no_vdl', '--n_epochs', '50',
                                               '--n_threads', '2')],
        'test.py': ['test.py', *tiny_run_args(world['root'], tmp_path / 'test', '--resume_path', ckpt,
                                               '--n_threads', '2')],
        'predict.py': ['scripts/predict.py', world['video'], '--checkpoint', ckpt, *size,
                       '--output_json', tmp_path / 'p.json'],
        'export_model.py': ['scripts/export_model.py', '--checkpoint', ckpt, '--output', tmp_path / 'export', *size],
    }


# The moments, as fractions of the time the command takes to its first output (main.py: its first epoch's
# first batch; the others: their end), plus one inside Python's and Paddle's import. Before the interpreter runs
# the script's first line (site, the editable install's finder: ~0.1 s) no handler of the project can be in
# place and a signal has its default effect, so the earliest moment is 0.3 s (or three times the time Python
# takes to get there on a busy machine). A signal that reaches a command in its last steps (its outputs written)
# leaves it to end with status 0.
FRACTIONS = (0.15, 0.45, 0.75)


def interpreter_start():
    began = time.time()
    run('-c', 'import core.preload')
    return time.time() - began


def _ready(name, tmp_path):
    if name == 'main.py':
        return (tmp_path / 'run' / 'train_batch.log').exists()
    return False


@pytest.mark.parametrize('name', ['main.py', 'test.py', 'predict.py', 'export_model.py'])
def test_signals_in_the_first_seconds_end_with_one_line(world, tmp_path, name):
    script, *args = signal_commands(world, tmp_path)[name]
    began = time.time()
    proc = start(script, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        while proc.poll() is None and not _ready(name, tmp_path):
            assert time.time() - began < TIMEOUT
            time.sleep(0.02)
        duration = time.time() - began
    finally:
        stop(proc)
    assert name == 'main.py' or proc.returncode == 0, proc.stderr
    first = max(0.3, 3 * interpreter_start())
    # no moment before the script's first line can run (a short first-output time on a loaded machine gave 0.14 s)
    moments = sorted({round(first, 2)} | {round(max(first, f * duration), 2) for f in FRACTIONS})
    interrupted, report = 0, []
    for signum in (signal.SIGINT, signal.SIGTERM):
        for moment in moments:
            shutil.rmtree(tmp_path / 'run', ignore_errors=True)
            proc = start(script, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            try:
                time.sleep(moment)
                if proc.poll() is not None:  # finished first (a fast machine): nothing to interrupt
                    report.append((signum, moment, 'finished'))
                    continue
                before = descendants(proc.pid)
                os.killpg(proc.pid, signum)  # as a terminal's Ctrl-C or a scheduler: the whole group
                _, err = proc.communicate(timeout=TIMEOUT)
                report.append((int(signum), moment, proc.returncode))
                if proc.returncode == 0 and not err.strip():  # it was ending: its outputs are complete, status 0
                    continue
                assert proc.returncode == 128 + signum, (report[-3:], err[-3000:])
                assert_one_error(proc.returncode, err, 'interrupted', status=128 + signum)
                assert not wait_gone(before | descendants(proc.pid)), 'processes left after the signal'
                interrupted += 1
            finally:
                stop(proc)
    print(name, f'first output after {duration:.1f} s;', report)
    assert interrupted >= len(moments), report  # most moments landed inside the command


# ----------------------------------------------------------------------------------------------
# 3-4. The converter: SIGTERM, stale temporary files, outputs over unrelated files
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def pth(tmp_path_factory):
    """A reference ResNet-18 (PyTorch, random weights) saved as the old reference did: ~130 MB, so a SIGTERM can
    land inside the conversion's write."""
    torch = pytest.importorskip('torch')
    from benchmarks.parity import torch_reference_models as R
    d = tmp_path_factory.mktemp('pth')
    torch.manual_seed(0)
    model = R.build('resnet', 18, resnet_shortcut='A')
    torch.save({'arch': 'resnet-18', 'state_dict': model.state_dict()}, d / 'r18.pth')
    return d / 'r18.pth'


CONVERT = 'utils/convert_torch_checkpoint.py'


def temporaries(folder):
    return sorted(name for name in os.listdir(folder) if name.endswith('.tmp'))


def test_converter_sigterm_leaves_no_temporary_file(pth, tmp_path):
    """SIGTERM before and while the converter writes DST (its temporary file exists: the '90 %' of a run)."""
    out = tmp_path / 'out'
    dst = out / 'r18.pdparams'

    def convert_until(moment):
        """Start a conversion and return it at ``moment`` ('tmp': when its temporary file appears; a number:
        seconds) or when it ended."""
        proc = start(CONVERT, pth, dst, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        began = time.time()
        while proc.poll() is None:
            if moment == 'tmp' and out.is_dir() and temporaries(out):
                break
            if moment != 'tmp' and time.time() - began >= moment:
                break
            time.sleep(0.005)
        return proc, time.time() - began

    proc, writing = convert_until('tmp')
    assert proc.poll() is None, 'the conversion ended before its temporary file was seen'
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0 and dst.exists() and not temporaries(out)
    os.remove(dst)
    report = []
    for moment in (0.3 * writing, 0.7 * writing, 'tmp', 'tmp', 'tmp'):
        proc, at = convert_until(moment)
        try:
            if proc.poll() is not None:
                report.append((round(at, 2), 'finished'))
                os.remove(dst)
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=TIMEOUT)
            report.append((round(at, 2), proc.returncode))
            if proc.returncode == 0:  # the signal landed after the rename: the output is complete
                os.remove(dst)
            else:
                assert_one_error(proc.returncode, err, 'interrupted', status=143)
                assert not dst.exists()
            assert not temporaries(out), temporaries(out)
        finally:
            stop(proc)
    print(f'conversion writes DST after {writing:.1f} s;', report)
    assert sum(1 for _, status in report if status == 143) >= 3, report


def test_converter_removes_the_temporary_file_of_a_killed_run(pth, tmp_path):
    stale = tmp_path / '.r18.pdparams.x1y2z3.tmp'
    stale.write_bytes(b'half a checkpoint')
    other = tmp_path / '.other.pdparams.x1y2z3.tmp'  # not DST's: left alone
    other.write_bytes(b'someone else')
    proc = run(CONVERT, pth, tmp_path / 'r18.pdparams')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not stale.exists() and other.exists() and f'removed {stale}' in proc.stdout
    assert not (tmp_path / '.lock').exists()


@pytest.fixture
def outputs(world, tmp_path):
    """Copies of files a user has: an annotation file, a run's opts.json, a trained checkpoint, predictions."""
    shutil.copy(os.path.join(world['root'], 'ucf101_01.json'), tmp_path / 'annotation.json')
    shutil.copy(os.path.join(world['A'], 'opts.json'), tmp_path / 'opts.json')
    shutil.copy(os.path.join(world['A'], 'last.pdparams'), tmp_path / 'last.pdparams')
    shutil.copy(os.path.join(world['root'], 'predictions.json'), tmp_path / 'predictions.json')
    return tmp_path


PREDICT = ('scripts/predict.py', '{video} --checkpoint {ckpt} --sample_size 32 --sample_duration 4 --output_json {out}')
OVERWRITE_CASES = [
    pytest.param(*PREDICT, 'annotation.json', 'not a predictions file', id='predict:annotation'),
    pytest.param(*PREDICT, 'opts.json', 'not a predictions file', id='predict:opts.json'),
    pytest.param(CONVERT, '{pth} {out}', 'last.pdparams', 'not a converted checkpoint', id='convert:last.pdparams'),
]


@pytest.mark.parametrize('script, args, target, fragment', OVERWRITE_CASES)
def test_outputs_over_unrelated_files_need_overwrite(request, world, outputs, script, args, target, fragment):
    pth = request.getfixturevalue('pth') if script == CONVERT else ''
    argv = args.format(video=world['video'], ckpt=os.path.join(world['A'], 'last.pdparams'), pth=pth,
                       out=outputs / target).split()
    before = tree_digest(outputs)
    proc = run(script, *argv)
    line = assert_one_error(proc, proc.stderr, fragment, status=1)
    assert '--overwrite' in line and tree_digest(outputs) == before, line
    proc = run(script, *argv, '--overwrite')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert tree_digest(outputs)[target] != before[target]


def test_own_outputs_are_replaced_without_overwrite(world, outputs):
    before = tree_digest(outputs)
    proc = run('scripts/predict.py', world['video'], '--checkpoint', os.path.join(world['A'], 'last.pdparams'),
               '--sample_size', '32', '--sample_duration', '4', '--output_json', outputs / 'predictions.json')
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(outputs / 'predictions.json') as f:
        assert 'v_Test_g01_c01' in json.load(f)['results']
    assert tree_digest(outputs)['predictions.json'] != before['predictions.json']


def test_converted_checkpoint_is_replaced_without_overwrite(pth, tmp_path):
    dst = tmp_path / 'r18.pdparams'
    for _ in range(2):
        proc = run(CONVERT, pth, dst)
        assert proc.returncode == 0 and 'error:' not in proc.stderr, proc.stderr[-2000:]
