"""Files the project writes get the mode a normal file gets under the user's umask (0644 under umask 022), not
mkstemp's 0600: checkpoints, ucf101_0*.json, val.json, val_metrics.json, per_class.csv, n_frames, TSV logs."""
import contextlib
import json
import os
import stat
import subprocess
import sys

import pytest

from core import files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@contextlib.contextmanager
def umask(mask):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize('mask, expected', [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_writers_give_a_normal_files_mode(tmp_path, mask, expected):
    with umask(mask):
        assert files.current_umask() == mask
        files.write_json_atomic({'a': 1}, str(tmp_path / 'a.json'))
        files.write_text_atomic(str(tmp_path / 'n_frames'), '8')
        with files.atomic_path(str(tmp_path / 'w.bin')) as tmp:
            with open(tmp, 'wb') as f:
                f.write(b'x')
    for name in ('a.json', 'n_frames', 'w.bin'):
        assert mode(tmp_path / name) == expected, name
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'n_frames', 'w.bin']  # no temporary file left


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = str(tmp_path / 'a.json')
    files.write_json_atomic({'old': 1}, path)
    with pytest.raises(TypeError):
        files.write_json_atomic({'new': object()}, path)
    assert json.load(open(path)) == {'old': 1} and os.listdir(tmp_path) == ['a.json']


def test_project_writers_under_umask_022(tmp_path):
    from engine.video_accuracy import write_json_atomic, write_per_class_csv
    from utils.splits import write_json
    from utils.n_frames_ucf101_hmdb51 import write_n_frames
    from engine.logger import TSVLogger, drop_epochs_from
    with umask(0o022):
        write_json_atomic({'results': {}}, str(tmp_path / 'val.json'))
        write_json_atomic({'video_top1': 1.0}, str(tmp_path / 'val_metrics.json'))
        write_json(str(tmp_path / 'ucf101_01.json'), {'labels': [], 'database': {}})
        write_per_class_csv(str(tmp_path / 'per_class.csv'), [{'class_index': 0}])
        (tmp_path / 'v').mkdir()
        write_n_frames(str(tmp_path / 'v'), 8)
        log = TSVLogger(str(tmp_path / 'val.log'), ['epoch', 'loss'])
        log.log({'epoch': 1, 'loss': 1.0})
        log.log({'epoch': 2, 'loss': 1.0})
        log.close()
        drop_epochs_from(str(tmp_path / 'val.log'), 2)  # rewritten atomically
    for name in ('val.json', 'val_metrics.json', 'ucf101_01.json', 'per_class.csv', 'v/n_frames', 'val.log'):
        assert mode(tmp_path / name) == 0o644, name


def test_checkpoints_under_umask_022(tmp_path):
    """save_checkpoint (engine/checkpoint.py) through core.files.atomic_path; link_checkpoint shares the file."""
    code = ('import os, sys; os.umask(0o022); from engine.checkpoint import save_checkpoint, link_checkpoint; '
            'p = sys.argv[1]; save_checkpoint({"epoch": 1}, p + "/last.pdparams"); '
            'link_checkpoint(p + "/last.pdparams", p + "/save_1.pdparams")')
    subprocess.run([sys.executable, '-c', code, str(tmp_path)], check=True, cwd=REPO)
    assert mode(tmp_path / 'last.pdparams') == 0o644
    assert mode(tmp_path / 'save_1.pdparams') == 0o644
    assert sorted(os.listdir(tmp_path)) == ['last.pdparams', 'save_1.pdparams']


def test_annotation_command_writes_readable_json(tmp_path):
    """utils/ucf101_json.py as a user runs it, under umask 022: ucf101_01.json .. 03 are 0644."""
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'classInd.txt').write_text('1 ApplyEyeMakeup\n')
    for split in (1, 2, 3):
        (lists / f'trainlist0{split}.txt').write_text('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n')
        (lists / f'testlist0{split}.txt').write_text('ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n')
    proc = subprocess.run(['sh', '-c', 'umask 022 && exec "$0" "$@"', sys.executable,
                           os.path.join(REPO, 'utils', 'ucf101_json.py'), str(lists), str(tmp_path / 'out')],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    written = sorted(n for n in os.listdir(tmp_path / 'out') if n.endswith('.json'))
    assert written == ['ucf101_01.json', 'ucf101_02.json', 'ucf101_03.json']
    for name in written:
        assert mode(tmp_path / 'out' / name) == 0o644, name
