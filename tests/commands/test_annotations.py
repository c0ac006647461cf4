"""utils/ucf101_json.py, utils/hmdb51_json.py and utils/splits.py on tiny split files."""
import json
import os

import pytest

from tests.fixtures import write_frame_folder
from utils import splits

UCF = 'utils/ucf101_json.py'
HMDB = 'utils/hmdb51_json.py'

# classInd order is deliberately not alphabetical: labels must keep it
UCF_CLASSES = ['Zeta', 'Alpha', 'Mid']


def write_crlf(path, lines, bom=False):
    with open(str(path), 'wb') as f:
        f.write((b'\xef\xbb\xbf' if bom else b'') + ''.join(l + '\r\n' for l in lines).encode())


def ucf_video(cls, g, c):
    return 'v_%s_g%02d_c%02d' % (cls, g, c)


@pytest.fixture
def ucf_dir(tmp_path):
    """A ucfTrainTestlist folder in UCF-101's own format (CRLF), 3 classes x 4 groups x 1 clip:
    split k tests on group k."""
    d = tmp_path / 'ucfTrainTestlist'
    d.mkdir()
    write_crlf(d / 'classInd.txt', ['%d %s' % (i + 1, c) for i, c in enumerate(UCF_CLASSES)])
    for k in (1, 2, 3):
        train, test = [], []
        for i, c in enumerate(UCF_CLASSES):
            for g in range(1, 5):
                rel = '%s/%s.avi' % (c, ucf_video(c, g, 1))
                if g == k:
                    test.append(rel)
                else:
                    train.append('%s %d' % (rel, i + 1))
        write_crlf(d / ('trainlist%02d.txt' % k), train)
        write_crlf(d / ('testlist%02d.txt' % k), test)
    return d


def load(path):
    with open(str(path)) as f:
        return json.load(f)


def test_ucf101_seed_readme_form(ucf_dir, tmp_path, run_script):
    dst = tmp_path / 'out'
    proc = run_script(UCF, 'annotation_dir_path', ucf_dir, dst)
    assert proc.returncode == 0, proc.stderr
    for k in (1, 2, 3):
        data = load(dst / ('ucf101_%02d.json' % k))
        assert data['labels'] == UCF_CLASSES
        db = data['database']
        assert len(db) == 12
        for c in UCF_CLASSES:
            for g in range(1, 5):
                entry = db[ucf_video(c, g, 1)]
                assert entry['subset'] == ('validation' if g == k else 'training')
                assert entry['annotations'] == {'label': c}  # old JSON: no segment
    assert '9 training + 3 validation' in proc.stdout


def test_ucf101_plain_form_writes_next_to_the_lists(ucf_dir, run_script):
    proc = run_script(UCF, ucf_dir)
    assert proc.returncode == 0, proc.stderr
    assert sorted(n for n in os.listdir(str(ucf_dir)) if n.endswith('.json')) == \
        ['ucf101_01.json', 'ucf101_02.json', 'ucf101_03.json']


def test_ucf101_video_path_adds_segments_and_reports_missing(ucf_dir, tmp_path, run_script):
    jpg = tmp_path / 'jpg'
    for i, c in enumerate(UCF_CLASSES):
        for g in range(1, 5):
            if (c, g) != ('Mid', 3):
                write_frame_folder(jpg, c, ucf_video(c, g, 1), 5 + g + i)
    (jpg / 'Mid' / ucf_video('Mid', 4, 1) / 'image_00001.jpg').unlink()  # one frame fewer
    dst = tmp_path / 'out'
    proc = run_script(UCF, ucf_dir, dst, '--video_path', jpg)
    assert proc.returncode == 0, proc.stderr
    assert 'WARNING: 1 of 12 listed videos have no frames' in proc.stdout
    assert 'Mid/v_Mid_g03_c01' in proc.stdout
    data = load(dst / 'ucf101_01.json')
    db = data['database']
    assert ucf_video('Mid', 3, 1) not in db and len(db) == 11
    assert db[ucf_video('Zeta', 1, 1)]['annotations'] == {'label': 'Zeta', 'segment': [1, 7]}
    assert db[ucf_video('Alpha', 2, 1)]['annotations']['segment'] == [1, 9]
    # one rule with n_frames_ucf101_hmdb51.py: the highest frame number, and a warning about the gap
    assert db[ucf_video('Mid', 4, 1)]['annotations']['segment'] == [1, 12]
    assert 'highest frame 11 but 10 frame files' in proc.stderr
    # --keep_missing keeps it, without segment
    proc = run_script(UCF, ucf_dir, dst, '--video_path', jpg, '--keep_missing', '--splits', 3)
    assert proc.returncode == 0, proc.stderr
    entry = load(dst / 'ucf101_03.json')['database'][ucf_video('Mid', 3, 1)]
    assert entry == {'subset': 'validation', 'annotations': {'label': 'Mid'}}


def test_ucf101_newer_reference_three_path_form(ucf_dir, tmp_path, run_script):
    jpg = tmp_path / 'jpg'
    write_frame_folder(jpg, 'Zeta', ucf_video('Zeta', 2, 1), 4)
    proc = run_script(UCF, ucf_dir, jpg, tmp_path / 'out', '--splits', 1)
    assert proc.returncode == 0, proc.stderr
    db = load(tmp_path / 'out' / 'ucf101_01.json')['database']
    assert db == {ucf_video('Zeta', 2, 1): {'subset': 'training',
                                            'annotations': {'label': 'Zeta', 'segment': [1, 5]}}}


def test_ucf101_wrong_video_path_is_an_error(ucf_dir, tmp_path, run_script):
    (tmp_path / 'empty').mkdir()
    proc = run_script(UCF, ucf_dir, tmp_path / 'out', '--video_path', tmp_path / 'empty')
    assert proc.returncode == 1
    assert 'no listed video has frames' in proc.stderr


def test_crlf_bom_blank_lines_and_trailing_spaces(tmp_path):
    d = tmp_path / 'lists'
    d.mkdir()
    write_crlf(d / 'classInd.txt', ['1 Zeta ', '2 Alpha', '', ''], bom=True)
    write_crlf(d / 'trainlist01.txt', ['Zeta/v_Zeta_g02_c01.avi 1', '', 'Alpha/v_Alpha_g02_c01.avi 2 '])
    write_crlf(d / 'testlist01.txt', ['Zeta/v_Zeta_g01_c01.avi', 'Alpha/v_Alpha_g01_c01.avi 2'])
    labels, entries = splits.load_ucf101_split(str(d), 1)
    assert labels == ['Zeta', 'Alpha']
    assert entries == [('v_Zeta_g02_c01', 'Zeta', 'training'),
                       ('v_Alpha_g02_c01', 'Alpha', 'training'),
                       ('v_Zeta_g01_c01', 'Zeta', 'validation'),
                       ('v_Alpha_g01_c01', 'Alpha', 'validation')]


@pytest.mark.parametrize('file_name, lines, line_no, words', [
    ('trainlist01.txt', ['Zeta/v_a.avi 1', 'Zeta/v_b.avi 1 extra'], 2, 'got 3 fields'),
    ('trainlist01.txt', ['Zeta/v_a.avi 1', 'Beta/v_b.avi 2'], 2, "unknown class 'Beta'"),
    ('trainlist01.txt', ['Zeta/v_a.avi 1', 'Alpha/v_c.avi 2', 'Zeta/v_a.avi 1'], 3,
     "duplicate video 'v_a'"),
    ('testlist01.txt', ['Zeta/v_a.avi'], 1, "duplicate video 'v_a' (already listed in"),
    ('trainlist01.txt', ['Zeta/v_a.avi 2'], 1, "label 2 does not match class 'Zeta'"),
    ('trainlist01.txt', ['Zeta/v_a.avi one'], 1, "label 'one' is not an integer"),
    ('testlist01.txt', ['v_z.avi'], 1, "expected '<Class>/<video>.avi'"),
    ('classInd.txt', ['1 Zeta', '3 Alpha'], 2, 'class index 3 out of order'),
    ('classInd.txt', ['1 Zeta', 'Alpha'], 2, "expected '<index> <ClassName>'"),
    ('classInd.txt', ['1 Zeta', '2 Zeta'], 2, "duplicate class 'Zeta'"),
])
def test_bad_ucf101_lines_name_file_and_line(tmp_path, file_name, lines, line_no, words):
    d = tmp_path / 'lists'
    d.mkdir()
    write_crlf(d / 'classInd.txt', ['1 Zeta', '2 Alpha'])
    write_crlf(d / 'trainlist01.txt', ['Zeta/v_a.avi 1'])
    write_crlf(d / 'testlist01.txt', ['Alpha/v_t.avi'])
    write_crlf(d / file_name, lines)
    with pytest.raises(splits.SplitFileError) as info:
        splits.load_ucf101_split(str(d), 1)
    msg = str(info.value)
    assert msg.startswith('%s, line %d: ' % (d / file_name, line_no)), msg
    assert words in msg


def test_bad_line_stops_the_script_with_one_clear_error(ucf_dir, run_script):
    with open(str(ucf_dir / 'testlist02.txt'), 'ab') as f:
        f.write(b'Nope/v_Nope_g01_c01.avi\r\n')
    proc = run_script(UCF, 'annotation_dir_path', ucf_dir, ucf_dir)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1
    assert err[0] == ("error: %s, line 4: unknown class 'Nope' (not in classInd.txt) "
                      "(line reads 'Nope/v_Nope_g01_c01.avi')" % (ucf_dir / 'testlist02.txt'))


def test_missing_test_list_is_named(ucf_dir, run_script):
    (ucf_dir / 'testlist03.txt').unlink()
    proc = run_script(UCF, ucf_dir)
    assert proc.returncode == 1
    assert 'testlist03.txt: missing' in proc.stderr


# --------------------------------------------------------------------------------------------------
# HMDB-51

HMDB_CLASSES = ['wave', 'brush_hair', 'cartwheel']  # written unsorted; labels come out sorted


def hmdb_video(c, i):
    return 'April_09_%s_u_nm_np1_ba_goo_%d' % (c, i)


@pytest.fixture
def hmdb_dir(tmp_path):
    """testTrainMulti_7030_splits: 4 videos per class; in split k video k is testing (2),
    video (k % 4) + 1 unused (0), the rest training (1).  Real files: trailing space, CRLF."""
    d = tmp_path / 'testTrainMulti_7030_splits'
    d.mkdir()
    for c in HMDB_CLASSES:
        for k in (1, 2, 3):
            lines = []
            for i in range(1, 5):
                flag = 2 if i == k else (0 if i == k % 4 + 1 else 1)
                lines.append('%s.avi %d ' % (hmdb_video(c, i), flag))
            write_crlf(d / ('%s_test_split%d.txt' % (c, k)), lines)
    return d


def test_hmdb51_seed_form_and_subsets(hmdb_dir, tmp_path, run_script):
    dst = tmp_path / 'out'
    proc = run_script(HMDB, 'annotation_dir_path', hmdb_dir, dst)
    assert proc.returncode == 0, proc.stderr
    for k in (1, 2, 3):
        data = load(dst / ('hmdb51_%d.json' % k))
        assert data['labels'] == sorted(HMDB_CLASSES)
        db = data['database']
        assert len(db) == 9
        for c in HMDB_CLASSES:
            assert db[hmdb_video(c, k)] == {'subset': 'validation', 'annotations': {'label': c}}
            assert hmdb_video(c, k % 4 + 1) not in db
            others = [i for i in range(1, 5) if i not in (k, k % 4 + 1)]
            for i in others:
                assert db[hmdb_video(c, i)]['subset'] == 'training'


def test_hmdb51_plain_form_with_video_path(hmdb_dir, tmp_path, run_script):
    jpg = tmp_path / 'jpg'
    for c in HMDB_CLASSES:
        for i in range(1, 5):
            write_frame_folder(jpg, c, hmdb_video(c, i), 3 + i)
    proc = run_script(HMDB, hmdb_dir, '--video_path', jpg)
    assert proc.returncode == 0, proc.stderr
    db = load(hmdb_dir / 'hmdb51_2.json')['database']
    assert db[hmdb_video('wave', 2)]['annotations'] == {'label': 'wave', 'segment': [1, 6]}
    assert 'WARNING' not in proc.stdout


@pytest.mark.parametrize('lines, line_no, words', [
    (['%s.avi 1 ' % hmdb_video('wave', 1), 'x.avi 3'], 2, "flag '3' is not 0"),
    (['%s.avi 1' % hmdb_video('wave', 1), 'x.avi'], 2, "expected '<video>.avi <0|1|2>'"),
    (['%s.avi 1' % hmdb_video('brush_hair', 1)], 1, 'duplicate video'),
])
def test_bad_hmdb51_lines_name_file_and_line(hmdb_dir, lines, line_no, words):
    path = hmdb_dir / 'wave_test_split2.txt'
    write_crlf(path, lines)
    with pytest.raises(splits.SplitFileError) as info:
        splits.load_hmdb51_splits(str(hmdb_dir))
    msg = str(info.value)
    assert msg.startswith('%s, line %d: ' % (path, line_no)), msg
    assert words in msg


def test_hmdb51_missing_split_file_is_named(hmdb_dir, run_script):
    (hmdb_dir / 'cartwheel_test_split3.txt').unlink()
    proc = run_script(HMDB, hmdb_dir)
    assert proc.returncode == 1
    assert 'cartwheel_test_split3.txt: missing' in proc.stderr


@pytest.mark.parametrize('script', [UCF, HMDB])
def test_help_explains_every_argument(run_script, script):
    proc = run_script(script, '--help')
    assert proc.returncode == 0
    for word in ('annotation_dir_path', 'SPLIT_DIR', 'DST_DIR', 'JPG_ROOT', '--video_path',
                 '--keep_missing', '--splits'):
        assert word in proc.stdout
