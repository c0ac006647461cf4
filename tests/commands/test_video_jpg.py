"""utils/video_jpg_ucf101_hmdb51.py and utils/n_frames_ucf101_hmdb51.py on tiny real videos."""
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.fixtures import tree_digest
from utils import video_jpg_ucf101_hmdb51 as v2j

av = pytest.importorskip('av')

SCRIPT = 'utils/video_jpg_ucf101_hmdb51.py'


def _encoder(*names):
    """The first of `names` that PyAV's FFmpeg can encode with, or None."""
    for name in names:
        if name in av.codecs_available:
            try:
                av.Codec(name, 'w')
                return name
            except Exception:  # noqa: BLE001
                continue
    return None


def decoded_count(path):
    with av.open(path) as c:
        return sum(1 for _ in c.decode(video=0))


def frame_files(video_dir):
    return sorted(n for n in os.listdir(video_dir) if n.startswith('image_'))


# (class folder, file name, codec candidates, container format, width, height, expected output size)
CASES = [
    ('Mpeg4Avi', 'v_a.avi', ('mpeg4',), None, 64, 48, (320, 240)),
    ('MjpegAvi', 'v_b.avi', ('mjpeg',), None, 64, 48, (320, 240)),
    ('H264Mp4', 'v_c.mp4', ('libx264', 'h264', 'mpeg4'), None, 64, 48, (320, 240)),
    ('Mpeg4Mkv', 'v_d.mkv', ('mpeg4',), None, 80, 60, (320, 240)),
    ('Vp8Webm', 'v_e.webm', ('libvpx',), None, 64, 48, (320, 240)),
    ('Vp9Webm', 'v_f.webm', ('libvpx-vp9',), None, 64, 48, (320, 240)),
    ('Portrait', 'v_p.avi', ('mpeg4',), None, 48, 64, (240, 320)),   # portrait -> width 240
    ('OddAspect', 'v_o.avi', ('mpeg4',), None, 70, 50, (336, 240)),  # 70*240/50 = 336
    ('Large', 'v_l.mp4', ('mpeg4',), None, 352, 288, (293, 240)),    # downscale, 292.7 -> 293
]


@pytest.fixture(scope='module')
def converted(tmp_path_factory, make_video, run_script):
    """One real run of the script (2 jobs) over a tree with one video per codec/container."""
    root = tmp_path_factory.mktemp('v2j')
    src, dst = root / 'videos', root / 'jpg'
    made = {}
    for i, (cls, name, codecs, fmt, w, h, size) in enumerate(CASES):
        codec = _encoder(*codecs)
        if codec is None:
            continue
        path = make_video(str(src / cls / name), codec=codec, width=w, height=h,
                          n_frames=8 + i, fmt=fmt)
        made[cls] = (path, size, codec)
    (src / 'Mpeg4Avi' / 'notes.txt').write_text('not a video')  # ignored
    before = tree_digest(str(src))
    proc = run_script(SCRIPT, src, dst, '--n_jobs', 2)
    return {'src': src, 'dst': dst, 'made': made, 'proc': proc, 'before': before}


def test_run_succeeds_and_leaves_source_alone(converted):
    proc = converted['proc']
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '0 failed' in proc.stdout
    assert tree_digest(str(converted['src'])) == converted['before']
    leftovers = [d for _, dirs, _ in os.walk(str(converted['dst'])) for d in dirs
                 if d.endswith('.partial')]
    assert leftovers == []


@pytest.mark.parametrize('case', [c[0] for c in CASES])
def test_frame_count_size_and_names(converted, case):
    if case not in converted['made']:
        pytest.skip('PyAV\'s FFmpeg has no encoder for %s here' % case)
    path, size, codec = converted['made'][case]
    out = os.path.join(str(converted['dst']), case, os.path.splitext(os.path.basename(path))[0])
    names = frame_files(out)
    n = decoded_count(path)
    assert n > 0
    assert names == ['image_%05d.jpg' % i for i in range(1, n + 1)], (codec, len(names), n)
    for name in (names[0], names[-1]):
        with Image.open(os.path.join(out, name)) as im:
            assert im.format == 'JPEG'
            assert im.size == size, (codec, im.size)


def test_colours_match_the_decoder(converted):
    """The JPEG of frame 1 equals the decoded frame scaled (no range/colour-matrix slip)."""
    path, size, _ = converted['made']['Mpeg4Avi']
    with av.open(path) as c:
        first = next(c.decode(video=0)).to_ndarray(format='rgb24')
    ref = np.asarray(Image.fromarray(first).resize(size, Image.BICUBIC), dtype=np.float64)
    out = os.path.join(str(converted['dst']), 'Mpeg4Avi', 'v_a', 'image_00001.jpg')
    got = np.asarray(Image.open(out).convert('RGB'), dtype=np.float64)
    assert np.abs(got - ref).mean() < 8.0


def test_rerun_skips_complete_videos(converted, run_script):
    dst = str(converted['dst'])
    before = tree_digest(dst)
    proc = run_script(SCRIPT, converted['src'], dst, '--n_jobs', 1)
    assert proc.returncode == 0, proc.stderr
    assert '%d already converted, 0 to convert' % len(converted['made']) in proc.stdout
    assert tree_digest(dst) == before


def test_scaled_size_rounds_like_ffmpeg():
    assert v2j.scaled_size(320, 240) == (320, 240)
    assert v2j.scaled_size(352, 288) == (293, 240)
    assert v2j.scaled_size(400, 226) == (425, 240)
    assert v2j.scaled_size(180, 320) == (240, 427)
    assert v2j.scaled_size(240, 240) == (240, 240)
    assert v2j.scaled_size(640, 480, size=120) == (160, 120)


def test_cfr_fills_dropped_frames_like_ffmpeg(tmp_path, make_video):
    """An AVI with holes in its timeline (dropped frames): ffmpeg's image output (cfr) fills
    them with copies, 15 files here (checked against the ffmpeg 9.0 program); passthrough writes
    the 10 decoded frames."""
    path = make_video(str(tmp_path / 'gap.avi'), pts=[0, 1, 2, 3, 6, 7, 8, 12, 13, 14])
    assert decoded_count(path) == 10
    for mode, expected in (('cfr', 15), ('passthrough', 10)):
        out = tmp_path / mode
        out.mkdir()
        n, warnings = v2j.convert_video_pyav(path, str(out), fps_mode=mode)
        assert n == expected == len(frame_files(str(out)))
    # the copies are of the neighbouring frames: frame 5 repeats frame 4 (ffmpeg's choice)
    a = np.asarray(Image.open(str(tmp_path / 'cfr' / 'image_00004.jpg')))
    b = np.asarray(Image.open(str(tmp_path / 'cfr' / 'image_00005.jpg')))
    assert np.array_equal(a, b)


def test_cfr_sync_rules():
    sync = v2j.CfrSync()
    counts = [sync.push(float(t), 1.0) for t in [0, 1, 2, 3, 6, 7, 8, 12]]
    assert counts == [(0, 1)] * 4 + [(1, 3), (0, 1), (0, 1), (2, 4)]
    assert sync.finish() == 0
    # a late first frame is copied to fill the start (cfr), not with a single-stream file (vscfr)
    assert v2j.CfrSync().push(3.0, 1.0) == (2, 4)
    assert v2j.CfrSync(vscfr=True).push(3.0, 1.0) == (0, 1)


def test_qscale_changes_quality(tmp_path, make_video):
    path = make_video(str(tmp_path / 'q.avi'), n_frames=6)
    sizes = {}
    for q in (None, 2, 31):
        out = tmp_path / ('q%s' % q)
        out.mkdir()
        v2j.convert_video_pyav(path, str(out), qscale=q)
        sizes[q] = sum(os.path.getsize(str(out / n)) for n in frame_files(str(out)))
    assert sizes[2] > sizes[31]


def test_interrupted_and_half_written_videos_are_redone(tmp_path, make_video, run_script):
    src, dst = tmp_path / 'videos', tmp_path / 'jpg'
    for name, n in (('v_done', 9), ('v_half', 11), ('v_empty', 7)):
        make_video(str(src / 'Cls' / (name + '.avi')), n_frames=n)
    assert run_script(SCRIPT, src, dst, '--n_jobs', 1).returncode == 0
    done_before = tree_digest(str(dst / 'Cls' / 'v_done'))
    # simulate a crash: v_half was being written (only .<video>.partial, half its frames), and
    # v_empty has a folder without frames (e.g. left by another tool)
    os.rename(str(dst / 'Cls' / 'v_half'), str(dst / 'Cls' / '.v_half.partial'))
    for name in frame_files(str(dst / 'Cls' / '.v_half.partial'))[5:]:
        os.remove(str(dst / 'Cls' / '.v_half.partial' / name))
    shutil.rmtree(str(dst / 'Cls' / 'v_empty'))
    (dst / 'Cls' / 'v_empty').mkdir()
    proc = run_script(SCRIPT, src, dst, '--n_jobs', 2)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '1 already converted, 2 to convert' in proc.stdout
    assert sorted(os.listdir(str(dst / 'Cls'))) == ['v_done', 'v_empty', 'v_half']
    assert len(frame_files(str(dst / 'Cls' / 'v_half'))) == 11
    assert len(frame_files(str(dst / 'Cls' / 'v_empty'))) == 7
    assert tree_digest(str(dst / 'Cls' / 'v_done')) == done_before


CRASHER = r'''
import os, sys
from utils import video_jpg_ucf101_hmdb51 as m
writes = [0]
real = m._write_jpeg
def dying_write(path, data):
    real(path, data)
    writes[0] += 1
    if writes[0] == {after}:
        os._exit(9)  # like a kill: no cleanup runs
m._write_jpeg = dying_write
sys.exit(m.main(sys.argv[1:]))
'''


def test_real_process_dying_mid_video_resumes(tmp_path, make_video, run_script):
    src, dst = tmp_path / 'videos', tmp_path / 'jpg'
    for name in ('v_1', 'v_2', 'v_3'):
        make_video(str(src / 'Cls' / (name + '.avi')), n_frames=10)
    code = CRASHER.format(after=14)  # dies at frame 4 of the second video
    proc = run_script('-c', code, src, dst, '--n_jobs', '1')
    assert proc.returncode == 9
    left = sorted(os.listdir(str(dst / 'Cls')))
    assert left == ['.v_2.partial', 'v_1']  # the half video never looks complete
    assert len(frame_files(str(dst / 'Cls' / '.v_2.partial'))) == 4
    proc = run_script(SCRIPT, src, dst, '--n_jobs', 1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '1 already converted, 2 to convert' in proc.stdout
    assert sorted(os.listdir(str(dst / 'Cls'))) == ['v_1', 'v_2', 'v_3']
    for name in ('v_1', 'v_2', 'v_3'):
        assert len(frame_files(str(dst / 'Cls' / name))) == 10


def test_corrupt_and_empty_videos_are_reported_and_skipped(tmp_path, make_video, run_script):
    src, dst = tmp_path / 'videos', tmp_path / 'jpg'
    make_video(str(src / 'Cls' / 'v_good.avi'), n_frames=6)
    (src / 'Cls' / 'v_empty.avi').write_bytes(b'')
    (src / 'Cls' / 'v_garbage.avi').write_bytes(np.random.default_rng(0).bytes(5000))
    make_video(str(src / 'Other' / 'v_noframes.mkv'), n_frames=0)
    before = tree_digest(str(src))
    proc = run_script(SCRIPT, src, dst, '--n_jobs', 2)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert '1 converted' in proc.stdout and '3 failed' in proc.stdout
    for name in ('v_empty.avi', 'v_garbage.avi', 'v_noframes.mkv'):
        line = [l for l in proc.stdout.splitlines() if 'FAILED' in l and name in l]
        assert line, out
        assert line[0].split(name + ':', 1)[1].strip()  # a reason follows the file name
    assert len(frame_files(str(dst / 'Cls' / 'v_good'))) == 6
    assert sorted(os.listdir(str(dst / 'Cls'))) == ['v_good']
    assert os.listdir(str(dst / 'Other')) == []
    assert tree_digest(str(src)) == before


def test_truncated_video_keeps_readable_frames_or_fails_with_strict(tmp_path, make_video,
                                                                    run_script):
    good = make_video(str(tmp_path / 'full.avi'), width=160, height=120, n_frames=30)
    data = open(good, 'rb').read()
    (tmp_path / 'videos' / 'Cls').mkdir(parents=True)
    (tmp_path / 'videos' / 'Cls' / 'v_cut.avi').write_bytes(data[:len(data) * 6 // 10])
    proc = run_script(SCRIPT, tmp_path / 'videos', tmp_path / 'jpg', '--n_jobs', 1)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'WARNING' in proc.stdout and 'v_cut.avi' in proc.stdout
    assert 0 < len(frame_files(str(tmp_path / 'jpg' / 'Cls' / 'v_cut'))) < 30
    proc = run_script(SCRIPT, tmp_path / 'videos', tmp_path / 'strict', '--strict')
    assert proc.returncode == 1
    assert 'FAILED' in proc.stdout and '--strict' in proc.stdout
    assert os.listdir(str(tmp_path / 'strict' / 'Cls')) == []


def test_output_inside_source_is_refused(tmp_path, make_video, run_script):
    make_video(str(tmp_path / 'videos' / 'Cls' / 'v.avi'), n_frames=3)
    proc = run_script(SCRIPT, tmp_path / 'videos', tmp_path / 'videos' / 'jpg')
    assert proc.returncode == 1  # one policy: a UserError exits with status 1
    assert 'inside AVI_ROOT' in proc.stderr
    assert not (tmp_path / 'videos' / 'jpg').exists()


def test_ffmpeg_backend_without_ffmpeg_says_so(tmp_path, make_video, run_script):
    make_video(str(tmp_path / 'videos' / 'Cls' / 'v.avi'), n_frames=3)
    proc = run_script(SCRIPT, tmp_path / 'videos', tmp_path / 'jpg', '--backend', 'ffmpeg',
                      '--ffmpeg', str(tmp_path / 'no-such-ffmpeg'))
    assert proc.returncode == 1
    assert 'needs the ffmpeg program' in proc.stderr and 'was not found' in proc.stderr
    assert '--backend pyav' in proc.stderr


@pytest.mark.skipif(shutil.which('ffmpeg') is None,
                    reason='the ffmpeg program is not installed (only --backend ffmpeg needs it)')
def test_ffmpeg_backend_matches_pyav(tmp_path, make_video, run_script):
    src = tmp_path / 'videos'
    make_video(str(src / 'A' / 'v_a.avi'), n_frames=9)
    make_video(str(src / 'A' / 'v_p.avi'), width=48, height=64, n_frames=7)
    make_video(str(src / 'B' / 'v_gap.avi'), pts=[0, 1, 2, 5, 6, 9])
    for backend in ('pyav', 'ffmpeg'):
        proc = run_script(SCRIPT, src, tmp_path / backend, '--backend', backend)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    for rel in ('A/v_a', 'A/v_p', 'B/v_gap'):
        a, b = str(tmp_path / 'pyav' / rel), str(tmp_path / 'ffmpeg' / rel)
        assert frame_files(a) == frame_files(b)
        for name in frame_files(a):
            x = np.asarray(Image.open(os.path.join(a, name)), dtype=np.int16)
            y = np.asarray(Image.open(os.path.join(b, name)), dtype=np.int16)
            assert x.shape == y.shape
            assert np.abs(x - y).mean() < 2.0  # identical with matching FFmpeg versions


def test_n_frames_script(tmp_path, run_script):
    root = tmp_path / 'jpg'
    for video, n in (('v_a', 5), ('v_b', 12)):
        d = root / 'Cls' / video
        d.mkdir(parents=True)
        for i in range(1, n + 1):
            (d / ('image_%05d.jpg' % i)).write_bytes(b'x')
    (root / 'Cls' / '.v_c.partial').mkdir()
    (root / 'Cls' / '.v_c.partial' / 'image_00001.jpg').write_bytes(b'x')
    (root / 'Other' / 'v_empty').mkdir(parents=True)
    proc = run_script('utils/n_frames_ucf101_hmdb51.py', root)
    assert proc.returncode == 0, proc.stderr
    assert (root / 'Cls' / 'v_a' / 'n_frames').read_text() == '5'
    assert (root / 'Cls' / 'v_b' / 'n_frames').read_text() == '12'
    assert (root / 'Other' / 'v_empty' / 'n_frames').read_text() == '0'
    assert not (root / 'Cls' / '.v_c.partial' / 'n_frames').exists()
    assert 'unfinished conversion' in proc.stdout and '.v_c.partial' in proc.stdout
    assert 'wrote n_frames for 3 videos' in proc.stdout


@pytest.mark.parametrize('script, options', [
    (SCRIPT, ['AVI_ROOT', 'JPG_ROOT', '--n_jobs', '--backend', '--ffmpeg', '--size', '--qscale',
              '--fps_mode', '--ext', '--strict', '--overwrite', '--no_progress']),
    ('utils/n_frames_ucf101_hmdb51.py', ['JPG_ROOT']),
])
def test_help_explains_every_argument(run_script, script, options):
    proc = run_script(script, '--help')
    assert proc.returncode == 0
    for option in options:
        assert option in proc.stdout
