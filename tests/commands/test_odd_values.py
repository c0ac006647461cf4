"""Odd values, silent skips and misleading messages (Reliability, round 3, classes 5-8): the sibling table of
test_cli_errors.py, with the same contract.

5. values that run away on this machine (threads, a batch larger than the memory) are refused before any work;
6. odd values (annotation segments, a taxonomy node, seeds, milestones, a corrupt model_info.json, the
   notebook builder's arguments) are one line naming the value and what is accepted;
7. silent skips and silent wrong data (broken links, empty folders, duplicate keys, a short n_frames, a
   subset spelled 'Training') are reported, and the summaries count them;
8. messages that mislead (nothing trained, an epoch past --n_epochs, --inference without videos, Paddle's
   scheduler warning on resume) are gone.

Each command case runs an entry point as a user types it and asserts: the exit status, no traceback,
exactly one 'error:' (or 'warning:') line holding the fragment where the class calls for one, and every file
that existed before byte-identical afterwards.
"""
import copy
import functools
import json
import math
import os
import shutil

import pytest

from tests import fixtures
from tests.fixtures import (EXPORT, JPG, PREDICT, TEST, TRAIN, make_frame_dataset, tiny_run_args, tree_digest,
                            write_file as write, write_video)

TIMEOUT = 240
run = functools.partial(fixtures.run, timeout=TIMEOUT)


def with_entry(good, key, **changes):
    """The annotation ``good`` with the database entry ``key`` changed (None: the field removed)."""
    data = copy.deepcopy(good)
    for field, value in changes.items():
        data['database'][key][field] = value
    return json.dumps(data)


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A frame dataset, a checkpoint, annotation variants, broken trees; their fingerprint."""
    root = str(tmp_path_factory.mktemp('odd'))
    make_frame_dataset(root, n_train=2, n_val=1, n_frames=8)
    proc = run('main.py', *tiny_run_args(root, os.path.join(root, 'run'), '--n_epochs', '1', '--no_vdl',
                                         '--lr_scheduler', 'cosine', '--warmup_epochs', '1'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(os.path.join(root, 'ucf101_01.json')) as f:
        good = json.load(f)
    train_key = sorted(k for k, v in good['database'].items() if v['subset'] == 'training')[0]
    label = good['database'][train_key]['annotations']['label']
    for name, segment in (('strings', ['a', 'b']), ('number', 5), ('object', {'begin': 1}), ('null', [None, 20]),
                          ('reversed', [8, 1])):
        write(os.path.join(root, f'segment_{name}.json'),
              with_entry(good, train_key, annotations={'label': label, 'segment': segment}))
    write(os.path.join(root, 'subset_caps.json'), with_entry(good, train_key, subset='Training'))
    write(os.path.join(root, 'subset_number.json'), with_entry(good, train_key, subset=5))
    # the same video twice: json.load keeps the second silently
    text = json.dumps(good)
    entry = json.dumps(good['database'][train_key])
    write(os.path.join(root, 'duplicate_key.json'),
          text.replace('"database": {', '"database": {"%s": %s, ' % (train_key, entry), 1))
    # an ActivityNet taxonomy (no "labels") with a node lacking parentId
    taxonomy = [{'nodeId': 0, 'nodeName': 'Root', 'parentId': None}]
    taxonomy += [{'nodeId': i + 1, 'nodeName': n, 'parentId': 0} for i, n in enumerate(good['labels'])]
    del taxonomy[2]['parentId']
    write(os.path.join(root, 'taxonomy.json'), json.dumps({'taxonomy': taxonomy, 'database': good['database']}))
    # n_frames saying 5 for a folder of 8 frames
    shutil.copytree(os.path.join(root, 'jpg'), os.path.join(root, 'jpg_short'))
    label_dir = os.path.join(root, 'jpg_short', label, train_key)
    write(os.path.join(label_dir, 'n_frames'), '5')
    # exports whose model_info.json is corrupt
    write(os.path.join(root, 'export_bad', 'model_info.json'), '{"class_names": [')
    write(os.path.join(root, 'export_typed', 'model_info.json'), json.dumps({'n_classes': 'three'}))
    write_video(os.path.join(root, 'videos', 'Cls', 'v_Cls_g01_c01.avi'), n_frames=6, width=48, height=32)
    # beside it (tree_digest reads every file): broken links where videos, frame folders and classes should
    # be; an empty frames folder
    broken = str(tmp_path_factory.mktemp('broken'))
    os.makedirs(os.path.join(broken, 'links', 'Cls'))
    write_video(os.path.join(broken, 'links', 'Cls', 'v_ok.avi'), n_frames=6, width=48, height=32)
    os.symlink('nowhere.avi', os.path.join(broken, 'links', 'Cls', 'v_dangling.avi'))
    os.symlink('v_loop.avi', os.path.join(broken, 'links', 'Cls', 'v_loop.avi'))
    os.symlink('nowhere', os.path.join(broken, 'links', 'Gone'))
    shutil.copytree(os.path.join(root, 'jpg'), os.path.join(broken, 'frames'))
    os.makedirs(os.path.join(broken, 'frames', label, 'v_empty'))
    os.symlink('v_loop', os.path.join(broken, 'frames', label, 'v_loop'))
    os.symlink('nowhere', os.path.join(broken, 'frames', label, 'v_dangling'))
    return {'root': root, 'broken': broken, 'ckpt': os.path.join(root, 'run', 'last.pdparams'),
            'video': os.path.join(root, 'videos', 'Cls', 'v_Cls_g01_c01.avi'), 'fingerprint': tree_digest(root)}


HDF5 = 'utils/generate_video_hdf5.py', '{r}/videos {o}/hdf5 --n_jobs 1 --no_progress'
NFRAMES = 'utils/n_frames_ucf101_hmdb51.py', '{o}/jpg'
HUGE = '--sample_size 4000 --sample_duration 16'


def case(command, extra, fragment, base=True, status=None, line='error:'):
    """``status``: the exit status expected (None: any non-zero); ``line``: the kind of line that must appear
    exactly once with ``fragment`` (None: no such line is expected)."""
    script, args = command
    return pytest.param(script, (args + ' ' + extra) if base else extra, fragment, status, line,
                        id=f'{os.path.basename(script)}:{extra[:60]}')


CASES = [
    # 5. values that run away on this machine: refused before any work, one line naming the flag
    case(TRAIN, '--cpu_threads 10000', '--cpu_threads 10000 is more than this machine can use', status=2),
    case(TRAIN, '--n_threads 10000', '--n_threads 10000 is more than this machine can use', status=2),
    case(TEST, '--cpu_threads 10000', '--cpu_threads 10000 is more than this machine can use', status=2),
    case(JPG, '--n_jobs 10000', '--n_jobs 10000 is more than this machine can use', status=2),
    case(TRAIN, HUGE + ' --batch_size 128', '--sample_size 4000 with --batch_size 128', status=2),
    case(TEST, HUGE + ' --batch_size 128', '--sample_size 4000 with --batch_size 128', status=2),
    case(PREDICT, HUGE + ' --clips_per_batch 64', '--sample_size 4000 with', status=2),  # see the report: names test.py's --batch_size
    case(EXPORT, '--sample_size 400000', '--sample_size 400000', status=2),
    # 6. odd values: one line naming the value and what is accepted
    case(TRAIN, '--manual_seed -1', '--manual_seed must be in [0, 4294967295] (got -1)', status=2),
    case(TRAIN, '--manual_seed 18446744073709551616', '(got 18446744073709551616)', status=2),
    case(TRAIN, '--lr_scheduler multistep --multistep_milestones 2 1 1', '--multistep_milestones must be increasing',
         status=2),
    case(TRAIN, '--annotation_path segment_strings.json', 'has segment ["a", "b"]; expected [begin, end]', status=1),
    case(TRAIN, '--annotation_path segment_number.json', 'has segment 5; expected', status=1),
    case(TRAIN, '--annotation_path segment_object.json', 'has segment {"begin": 1}; expected', status=1),
    case(TRAIN, '--annotation_path segment_null.json', 'has segment [null, 20]; expected', status=1),
    case(TRAIN, '--annotation_path segment_reversed.json', 'has segment [8, 1]; expected', status=1),
    case(TEST, '--annotation_path segment_null.json --test_subset train', 'has segment [null, 20]', status=1),
    case(TRAIN, '--annotation_path taxonomy.json', "lacks 'parentId'", status=1),
    case(PREDICT, '{video} --inference_model {r}/export_bad', 'model_info.json is not valid JSON', base=False,
         status=1),
    case(PREDICT, '{video} --inference_model {r}/export_typed', '"n_classes" must be an int >= 1, got "three"',
         base=False, status=1),
    case(TRAIN, '--n_epochs 2 --resume_path {ckpt}', 'was trained with another learning-rate schedule', status=1),
    # 7. silent skips and silent wrong data
    case(TRAIN, '--annotation_path duplicate_key.json', 'appears twice', status=1),
    case(TEST, '--annotation_path duplicate_key.json', 'appears twice', status=1),
    case(TRAIN, '--annotation_path subset_caps.json', "has subset 'Training'; the subsets are spelled", status=1),
    case(TRAIN, '--annotation_path subset_number.json', 'has subset 5; expected one of', status=1),
    case(TRAIN, '--video_path jpg_short --no_val', 'says 5 frames, but the folder holds frames up to 8', status=0,
         line='warning:'),
    case(JPG, '{b}/links {o}/jpg --n_jobs 1 --no_progress', '3 failed', base=False, status=1, line=None),
    case(HDF5, '{b}/links {o}/hdf5 --n_jobs 1 --no_progress', '3 failed', base=False, status=1, line=None),
    case(HDF5, '{b}/frames {o}/hdf5 --n_jobs 1 --no_progress', '3 failed', base=False, status=1, line=None),
    # 8. messages that mislead
    case(TRAIN, '--begin_epoch 5 --n_epochs 2', '--begin_epoch 5 is after --n_epochs 2: nothing to train', status=1),
    case(TRAIN, '--no_train --no_val --resume_path {ckpt}', '--no_train and --no_val: nothing to do', status=1),
    case(TRAIN, '--inference --inference_subset test', "no videos of subset 'testing'", status=1),
]


def check(proc, world, fragment, status, line):
    out = proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    if status is None:
        assert proc.returncode != 0, out[-3000:]
    else:
        assert proc.returncode == status, out[-3000:]
    if line:
        lines = [text for text in proc.stderr.splitlines() if line in text]
        assert len(lines) == 1 and fragment in lines[0], proc.stderr[-3000:]
        if line != 'error:':
            assert 'error:' not in proc.stderr, proc.stderr[-3000:]
    else:
        assert fragment in out, out[-3000:]
    after = tree_digest(world['root'])
    changed = [p for p, digest in world['fingerprint'].items() if after.get(p) != digest]
    assert not changed, changed


@pytest.mark.parametrize('script, args, fragment, status, line', CASES)
def test_odd_value_one_line_and_nothing_lost(world, tmp_path, script, args, fragment, status, line):
    argv = args.format(r=world['root'], b=world['broken'], o=tmp_path, ckpt=world['ckpt'],
                       video=world['video']).split()
    proc = run(script, *argv)
    check(proc, world, fragment, status, line)
    if script == 'main.py' and status:  # nothing trained, so no checkpoint claims otherwise
        assert not os.path.exists(tmp_path / 'run' / 'last.pdparams')
        assert 'checkpoints in' not in proc.stdout


def test_broken_links_are_listed_and_counted(world, tmp_path):
    """Frame extraction, packing and n_frames name each link leading nowhere and each empty folder."""
    root = world['broken']
    proc = run(*JPG[:1], f'{root}/links', tmp_path / 'jpg', '--n_jobs', '1', '--no_progress')
    check(proc, world, '1 converted', 1, None)
    for name, what in (('v_dangling.avi', 'a dangling symbolic link'), ('v_loop.avi', 'a symbolic link loop'),
                       ('Gone', 'a dangling symbolic link where a class folder should be')):
        assert f'FAILED {os.path.join(root, "links", *(["Cls"] if name != "Gone" else []), name)}: {what}' \
            in proc.stdout, proc.stdout
    proc = run(*HDF5[:1], f'{root}/frames', tmp_path / 'hdf5', '--n_jobs', '1', '--no_progress')
    check(proc, world, '3 failed', 1, None)
    assert 'v_empty: a folder without image_NNNNN.jpg frames' in proc.stdout, proc.stdout
    assert 'v_loop: a symbolic link loop where a frames folder should be' in proc.stdout, proc.stdout
    # n_frames over a copy (it writes n_frames files)
    shutil.copytree(f'{root}/frames', tmp_path / 'frames', symlinks=True)
    proc = run(*NFRAMES[:1], tmp_path / 'frames')
    check(proc, world, '2 skipped, 1 without frames', 0, None)
    assert 'v_loop: a symbolic link loop, skipped' in proc.stdout and 'v_dangling: a dangling' in proc.stdout


def test_resumed_warmup_run_prints_no_paddle_warning(world, tmp_path):
    """A cosine run with warm-up, resumed: none of Paddle's 'unused values in state_dict'."""
    result = tmp_path / 'run'
    shutil.copytree(os.path.dirname(world['ckpt']), result)
    proc = run('main.py', *tiny_run_args(world['root'], result, '--n_epochs', '2', '--no_vdl', '--lr_scheduler',
                                         'cosine', '--warmup_epochs', '1', '--resume_path', result / 'last.pdparams'))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'unused values' not in proc.stderr and 'Warning' not in proc.stderr, proc.stderr[-3000:]
    assert 'epoch 2/2' in proc.stdout and 'checkpoints in' in proc.stdout


def test_validation_only_names_the_weights(world, tmp_path):
    """--no_train validates the checkpoint's weights (epoch 1): no 'epoch 2/1' line."""
    proc = run('main.py', *tiny_run_args(world['root'], tmp_path / 'run', '--n_epochs', '1', '--no_vdl',
                                         '--no_train', '--resume_path', world['ckpt']))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'epoch 2/1' not in proc.stdout and 'validation of the weights of epoch 1' in proc.stdout, proc.stdout
    assert 'checkpoints in' not in proc.stdout


# ----------------------------------------------------------------------------------------------
# The notebook builder: one ValueError naming the argument (was a Paddle error at the first forward, or
# weights made non-finite by one SGD step)
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize('kwargs, fragment', [
    (dict(widen_factor=float('nan')), 'widen_factor must be a number > 0 (finite), got nan'),
    (dict(widen_factor=float('inf')), 'widen_factor must be a number > 0 (finite), got inf'),
    (dict(conv1_t_size=0), 'conv1_t_size must be an int >= 1'),
    (dict(conv1_t_stride=-1), 'conv1_t_stride must be an int >= 1'),
    (dict(conv1_t_size=2.5), 'conv1_t_size must be an int >= 1'),
    (dict(regularizer=float('inf')), 'regularizer must be None'),
    (dict(regularizer=float('nan')), 'regularizer must be None'),
    (dict(no_max_pool='yes'), 'no_max_pool must be True or False'),
])
def test_builder_refuses_odd_arguments(kwargs, fragment):
    from models.builder import build_three_d_resnet_18
    with pytest.raises(ValueError) as info:
        build_three_d_resnet_18((4, 16, 16, 3), 2, **kwargs)
    assert fragment in str(info.value)


def test_builder_refuses_an_infinite_decay_object():
    import paddle
    from models.builder import build_three_d_resnet_18
    with pytest.raises(ValueError, match='regularizer coefficient must be a finite number'):
        build_three_d_resnet_18((4, 16, 16, 3), 2, regularizer=paddle.regularizer.L2Decay(math.inf))


# ----------------------------------------------------------------------------------------------
# The machine checks themselves (core/flags.py), with a given machine
# ----------------------------------------------------------------------------------------------

def test_machine_problems_scale_with_the_machine():
    from argparse import Namespace
    from core.flags import machine_problems
    tiny = Namespace(sample_size=32, sample_duration=4, batch_size=4, cpu_threads=8, n_threads=2)
    assert machine_problems(tiny, cores=2, memory=2 ** 30) == []
    assert machine_problems(Namespace(cpu_threads=17), cores=2, memory=None) != []
    assert machine_problems(Namespace(n_threads=16), cores=1, memory=None) == []  # the floor: 16 on any machine
    assert machine_problems(Namespace(cpu_threads=33), cores=8, memory=None) != []
    assert machine_problems(Namespace(cpu_threads=32), cores=8, memory=None) == []
    default = Namespace(sample_size=112, sample_duration=16, batch_size=128)
    assert machine_problems(default, cores=1, memory=8 * 2 ** 30) == []  # the reference's run fits 8 GB
    assert machine_problems(default, cores=1, memory=2 ** 29) != []
