"""HDF5 video storage (``--file_type hdf5``, utils/generate_video_hdf5.py, datasets/hdf5.py): the reference's
file layout, conversion from videos and from a JPEG tree, resume, clips equal to the JPEG tree's, end to end."""
import io
import json
import os
import random
import shutil
import signal
from argparse import Namespace

import h5py
import numpy as np
import paddle
import pytest
from PIL import Image

import datasets
from datasets.hdf5 import Hdf5FrameBytes, stored_frame_numbers, write_video
from datasets.safe_clips import SafeClips, clip_shape
from core.errors import BadInput, MissingInput
from tests.fixtures import (make_frame_dataset, make_opt, run, tiny_run_args, write_jpeg_dataset,
                            write_video as write_avi)
from utils import generate_video_hdf5

SCRIPT = 'utils/generate_video_hdf5.py'
GETTERS = {'train': datasets.get_training_set, 'val': datasets.get_validation_set, 'test': datasets.get_test_set}


def jpeg_files(folder):
    names = sorted(n for n in os.listdir(folder) if n.startswith('image_'))
    return [open(os.path.join(folder, n), 'rb').read() for n in names]


def reference_frames(path):
    """What the reference's VideoLoaderHDF5 reads: f['video'][i] opened by PIL from a BytesIO, i from 0."""
    with h5py.File(path, 'r') as f:
        video = f['video']
        return [np.asarray(Image.open(io.BytesIO(video[i])).convert('RGB')) for i in range(len(video))]


def hidden_files(root):
    return [os.path.join(d, n) for d, dirs, files in os.walk(root) for n in dirs + files if n.startswith('.')]


def pack(src, dst, **options):
    return generate_video_hdf5.convert_tree(str(src), str(dst), n_jobs=1, progress=False, **options)


# --------------------------------------------------------------------------- conversion


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """Tiny AVIs (2 classes, 5..8 frames), one broken file, and their JPEG tree (video_jpg_ucf101_hmdb51.py)."""
    root = tmp_path_factory.mktemp('videos')
    for c in ('Jump', 'Run'):
        for v in range(2):
            write_avi(str(root / 'avi' / c / f'v_{c}_g0{v + 1}_c01.avi'), n_frames=5 + 3 * v + (c == 'Run'))
    (root / 'avi' / 'Run' / 'v_Run_g09_c01.avi').write_bytes(b'not a video' * 10)
    proc = run('utils/video_jpg_ucf101_hmdb51.py', root / 'avi', root / 'jpg', '--no_progress')
    assert proc.returncode == 1 and 'v_Run_g09_c01.avi' in proc.stdout  # the broken one
    return root


def test_pack_videos_and_jpeg_tree_in_the_reference_layout(videos, tmp_path, run_script):
    from_videos = run_script(SCRIPT, videos / 'avi', tmp_path / 'from_avi', '--n_jobs', '2', '--no_progress')
    assert from_videos.returncode == 1, from_videos.stderr  # the broken video fails, the others are packed
    failed = [line for line in from_videos.stderr.splitlines() if line.startswith('FAILED')]
    assert len(failed) == 1 and 'v_Run_g09_c01.avi' in failed[0]
    assert '4 converted' in from_videos.stdout and '1 failed' in from_videos.stdout
    from_jpg = run_script(SCRIPT, videos / 'jpg', tmp_path / 'from_jpg', '--n_jobs', '2', '--no_progress')
    assert from_jpg.returncode == 0, from_jpg.stderr
    assert '4 from JPEG folders' in from_jpg.stdout

    for c in ('Jump', 'Run'):
        for v in range(2):
            name = f'v_{c}_g0{v + 1}_c01'
            jpegs = jpeg_files(videos / 'jpg' / c / name)
            assert len(jpegs) == 5 + 3 * v + (c == 'Run')
            for root in ('from_avi', 'from_jpg'):
                path = tmp_path / root / c / (name + '.hdf5')
                with h5py.File(path, 'r') as f:
                    assert list(f.keys()) == ['video']
                    video = f['video']
                    assert video.shape == (len(jpegs),)
                    assert h5py.check_vlen_dtype(video.dtype) == np.dtype('uint8')  # the reference's vlen uint8
                    # the JPEG files byte for byte: from videos the same encoder as the JPEG tree, from the
                    # tree a copy
                    assert [video[i].tobytes() for i in range(len(video))] == jpegs
                ours = [np.asarray(Image.open(io.BytesIO(b)).convert('RGB')) for b in jpegs]
                assert all((a == b).all() for a, b in zip(reference_frames(path), ours))
                assert stored_frame_numbers(str(tmp_path / root / c / name)) == (len(jpegs), len(jpegs))
    assert not os.path.exists(tmp_path / 'from_avi' / 'Run' / 'v_Run_g09_c01.hdf5')
    assert hidden_files(tmp_path / 'from_avi') == [] and hidden_files(tmp_path / 'from_jpg') == []


def test_reference_style_file_is_read(tmp_path):
    """A file written as the reference's script does (h5py.special_dtype, element by element) loads."""
    frames = [np.full((24, 32, 3), 40 * i, np.uint8) for i in range(3)]
    path = tmp_path / 'Jump' / 'v.hdf5'
    path.parent.mkdir()
    with h5py.File(path, 'w') as f:
        video = f.create_dataset('video', (3,), dtype=h5py.special_dtype(vlen='uint8'))
        for i, frame in enumerate(frames):
            buf = io.BytesIO()
            Image.fromarray(frame).save(buf, 'JPEG', quality=95)
            video[i] = np.frombuffer(buf.getvalue(), dtype='uint8')
    data = Hdf5FrameBytes()(str(path), [1, 3])
    assert sorted(data) == [1, 3]
    assert abs(np.asarray(Image.open(io.BytesIO(data[3]))).astype(int) - 80).max() <= 2  # element 2 = frame 3


def test_resume_skips_finished_and_redoes_partial(videos, tmp_path):
    dst = tmp_path / 'h5'
    first = pack(videos / 'jpg', dst)
    assert first['converted'] == 4 and not first['failed']
    done = dst / 'Jump' / 'v_Jump_g01_c01.hdf5'
    before = os.stat(done)
    # a crash mid-file leaves only the hidden working file; the finished name never exists half-written
    redo = dst / 'Run' / 'v_Run_g02_c01.hdf5'
    os.rename(redo, dst / 'Run' / '.v_Run_g02_c01.hdf5.partial')
    with open(dst / 'Run' / '.v_Run_g02_c01.hdf5.partial', 'r+b') as f:
        f.truncate(100)
    second = pack(videos / 'jpg', dst)
    assert (second['skipped'], second['converted'], second['failed']) == (3, 1, [])
    assert os.stat(done).st_mtime_ns == before.st_mtime_ns and os.stat(done).st_ino == before.st_ino
    assert len(reference_frames(redo)) == 9 and hidden_files(dst) == []
    third = pack(videos / 'jpg', dst, overwrite=True)
    assert third['converted'] == 4 and third['skipped'] == 0


def test_bad_sources_and_arguments(videos, tmp_path, run_script):
    gap = tmp_path / 'gap' / 'Jump' / 'v_gap'
    gap.mkdir(parents=True)
    for i, data in enumerate(jpeg_files(videos / 'jpg' / 'Jump' / 'v_Jump_g01_c01'), 1):
        if i != 3:
            (gap / f'image_{i:05d}.jpg').write_bytes(data)
    summary = pack(tmp_path / 'gap', tmp_path / 'out')
    assert len(summary['failed']) == 1 and 'image_00003.jpg' in summary['failed'][0][1]
    assert not os.path.exists(tmp_path / 'out' / 'Jump' / 'v_gap.hdf5') and hidden_files(tmp_path / 'out') == []

    inside = run_script(SCRIPT, videos / 'jpg', videos / 'jpg' / 'h5')
    assert inside.returncode == 1 and inside.stderr.strip().splitlines()[-1].startswith('error: HDF5_ROOT')
    missing = run_script(SCRIPT, tmp_path / 'nope', tmp_path / 'h5')
    assert missing.returncode == 1 and 'SRC_ROOT' in missing.stderr and 'Traceback' not in missing.stderr
    # the reference's third argument: only .avi files for ucf101
    reference_form = run_script(SCRIPT, videos / 'avi', tmp_path / 'ref', 'ucf101', '--no_progress')
    assert '5 videos in' in reference_form.stdout
    (tmp_path / 'mp4' / 'Jump').mkdir(parents=True)
    shutil.copy(videos / 'avi' / 'Jump' / 'v_Jump_g01_c01.avi', tmp_path / 'mp4' / 'Jump' / 'v_Jump_g01_c01.mp4')
    assert '0 videos in' in run_script(SCRIPT, tmp_path / 'mp4', tmp_path / 'ref2', 'ucf101').stdout


@pytest.mark.parametrize('n_jobs', ['1', '2'])
def test_full_disk_is_one_error_line(videos, tmp_path, n_jobs):
    """HDF5 reports a failed write with the system's errno only in its text: still one line, no partial file."""
    from tests.commands.test_cli_errors import run as run_limited
    proc = run_limited(SCRIPT, videos / 'jpg', tmp_path / 'h5', '--n_jobs', n_jobs, '--no_progress',
                       limit_file_size=3000)
    errors = [line for line in proc.stderr.splitlines() if 'error:' in line]
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr and 'FAILED' not in proc.stderr
    assert len(errors) == 1 and 'cannot write' in errors[0] and 'File too large' in errors[0], proc.stderr
    assert [f for _, _, files in os.walk(tmp_path / 'h5') for f in files] == []


def packed_frames(root):
    """{relative .hdf5 path: [frame bytes]} of an HDF5 tree."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            with h5py.File(os.path.join(folder, name), 'r') as f:
                out[os.path.relpath(os.path.join(folder, name), root)] = [x.tobytes() for x in f['video']]
    return out


@pytest.mark.parametrize('jobs, signum', [('1', signal.SIGINT), ('2', signal.SIGTERM)])
def test_interrupted_then_rerun_equals_uninterrupted(tmp_path, jobs, signum):
    """A signal mid-video (a stand-in ffmpeg hangs on v_c): one line, no v_c.hdf5, and the same command
    finishes the tree exactly as an uninterrupted run."""
    from tests.commands.test_cli_errors import interrupt_conversion, run as run_cli
    from tests.fixtures import fake_ffmpeg_flags
    src = tmp_path / 'videos' / 'Cls'
    src.mkdir(parents=True)
    for name in ('v_a', 'v_b', 'v_c', 'v_d'):
        (src / f'{name}.avi').write_text(name)
    argv = [tmp_path / 'videos', *fake_ffmpeg_flags(tmp_path, jobs)]
    interrupt_conversion(SCRIPT, [argv[0], tmp_path / 'h5', *argv[1:]], tmp_path, signum)
    assert not os.path.exists(tmp_path / 'h5' / 'Cls' / 'v_c.hdf5')  # never looks finished

    rerun = run_cli(SCRIPT, argv[0], tmp_path / 'h5', *argv[1:])
    straight = run_cli(SCRIPT, argv[0], tmp_path / 'straight', *argv[1:])
    assert rerun.returncode == straight.returncode == 0, rerun.stderr + straight.stderr
    assert packed_frames(tmp_path / 'h5') == packed_frames(tmp_path / 'straight')
    assert len(packed_frames(tmp_path / 'h5')) == 4 and hidden_files(tmp_path / 'h5') == []


def test_annotation_counts_frames_of_hdf5_videos(videos, tmp_path, run_script):
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'classInd.txt').write_text('1 Jump\r\n2 Run\r\n')
    (lists / 'trainlist01.txt').write_text('Jump/v_Jump_g01_c01.avi 1\r\nRun/v_Run_g01_c01.avi 2\r\n')
    (lists / 'testlist01.txt').write_text('Jump/v_Jump_g02_c01.avi\r\nRun/v_Run_g02_c01.avi\r\n'
                                          'Run/v_Run_g09_c01.avi\r\n')
    pack(videos / 'jpg', tmp_path / 'h5')
    written = {}
    for storage in ('jpg', 'h5'):
        root = videos / 'jpg' if storage == 'jpg' else tmp_path / 'h5'
        proc = run_script('utils/ucf101_json.py', lists, tmp_path / storage / 'json', '--video_path', root,
                          '--splits', '1')
        assert proc.returncode == 0, proc.stderr
        assert '1 of 5 listed videos have no frames' in proc.stdout  # the broken video
        written[storage] = json.load(open(tmp_path / storage / 'json' / 'ucf101_01.json'))
    assert written['h5'] == written['jpg']
    n_frames = run_script('utils/n_frames_ucf101_hmdb51.py', tmp_path / 'h5')
    assert n_frames.returncode == 0 and 'note: 4 .hdf5 videos' in n_frames.stdout
    assert [f for _, _, files in os.walk(tmp_path / 'h5') for f in files if f == 'n_frames'] == []
    assert written['h5']['database']['v_Run_g02_c01']['annotations']['segment'] == [1, 10]


# --------------------------------------------------------------------------- loading


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """tests/fixtures.py's make_frame_dataset (3 classes x 6 videos of 10 frames) and the same frames as HDF5."""
    root = tmp_path_factory.mktemp('tiny_h5')
    make_frame_dataset(root, n_frames=10)
    summary = pack(root / 'jpg', root / 'h5')
    assert summary['converted'] == 18 and not summary['failed']
    return root


def opt_for(root, file_type, loader='fast', **kw):
    """Options over the tree ``tiny`` of ``file_type`` (its JPEG or HDF5 copy)."""
    options = dict(video_path=str(root / ('h5' if file_type == 'hdf5' else 'jpg')), file_type=file_type,
                   annotation_path=str(root / 'ucf101_01.json'), loader=loader)
    options.update(kw)  # may replace the paths
    return make_opt(base='small', **options)


@pytest.mark.parametrize('loader', ['fast', 'pil', 'fast_draft'])
@pytest.mark.parametrize('mode,kw', [('train', {}), ('train', {'train_crop': 'random'}), ('val', {}),
                                     ('test', {'crop_position_in_test': 'br', 'scale_in_test': 0.8}),
                                     ('test', {'scale_in_test': 2.0})])  # a crop beyond the frame: PIL padding
def test_clips_equal_the_jpeg_trees(tiny, loader, mode, kw):
    jpg_set = GETTERS[mode](opt_for(tiny, 'jpg', loader, **kw))
    h5_set = GETTERS[mode](opt_for(tiny, 'hdf5', loader, **kw))
    assert h5_set.file_type == 'hdf5' and h5_set.video_paths[0].endswith('.hdf5')
    assert [s['frame_indices'] for s in h5_set.samples] == [s['frame_indices'] for s in jpg_set.samples]
    for index in range(0, len(jpg_set), 3):
        random.seed(index)
        a, ta = jpg_set[index]
        random.seed(index)
        b, tb = h5_set[index]
        assert a.dtype == b.dtype == np.uint8 and ta == tb
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('workers', [0, 2])
def test_dataloader_workers_read_hdf5(tiny, workers):
    """Files are opened per clip in the worker that loads it (nothing open across the fork)."""
    opt = opt_for(tiny, 'hdf5')
    h5_set = datasets.get_validation_set(opt)
    jpg_set = datasets.get_validation_set(opt_for(tiny, 'jpg'))
    loader = paddle.io.DataLoader(SafeClips(h5_set, clip_shape(opt)), batch_size=4, shuffle=False,
                                  num_workers=workers)
    seen = 0
    for clips, _, indices, ok, messages in loader:
        assert bool(ok.numpy().all()), loader.dataset.first_error(indices.numpy(), ok.numpy(), messages.numpy())
        np.testing.assert_array_equal(clips.numpy(), np.stack([jpg_set[int(i)][0] for i in indices.numpy()]))
        seen += clips.shape[0]
    assert seen == len(h5_set) == len(jpg_set)


def test_frame_counts_segments_and_errors(tiny, tmp_path):
    opt = opt_for(tiny, 'hdf5')
    annotation = json.load(open(opt.annotation_path))
    for entry in annotation['database'].values():  # no segments: the files' lengths count
        entry['annotations'].pop('segment', None)
    video = 'v_RedThings_g01_c01'
    # the reference's Kinetics HDF5 JSON counts from 0: [0, n) is frames 1..n
    annotation['database'][video]['annotations']['segment'] = [0, 10]
    path = tmp_path / 'a.json'
    path.write_text(json.dumps(annotation))
    test_set = datasets.get_test_set(Namespace(**dict(vars(opt), annotation_path=str(path))))
    counts = {s['video_id']: s['n_frames'] for s in test_set.samples}
    assert set(counts.values()) == {10}
    assert [s['frame_indices'][0] for s in test_set.samples if s['video_id'] == video] == [1, 5, 9]

    annotation['database'][video]['annotations']['segment'] = [1, 12]  # beyond the file's 10 frames
    path.write_text(json.dumps(annotation))
    with pytest.raises(MissingInput, match=r'v_RedThings_g01_c01\.hdf5 holds 10 frames.*1\.\.11'):
        datasets.get_test_set(Namespace(**dict(vars(opt), annotation_path=str(path))))

    with pytest.raises(MissingInput, match=r'HDF5 video not found: .*v_RedThings_g01_c01\.hdf5'):
        datasets.get_test_set(opt_for(tiny, 'hdf5', video_path=str(tmp_path)))

    # the other storage's tree: the error says which --file_type reads it
    with pytest.raises(MissingInput, match=r'is a JPEG frames folder: pass --file_type jpg'):
        datasets.get_test_set(opt_for(tiny, 'hdf5', video_path=str(tiny / 'jpg')))
    with pytest.raises(MissingInput, match=r'is an HDF5 video: pass --file_type hdf5'):
        datasets.get_test_set(opt_for(tiny, 'jpg', video_path=str(tiny / 'h5')))

    bad = tmp_path / 'bad'
    (bad / 'RedThings').mkdir(parents=True)
    with h5py.File(bad / 'RedThings' / 'v_RedThings_g01_c01.hdf5', 'w') as f:
        f.create_dataset('frames', data=np.zeros(3))
    with pytest.raises(BadInput, match=r"holds no 1-D dataset 'video' \(found: frames\)"):
        datasets.get_test_set(opt_for(tiny, 'hdf5', video_path=str(bad), allow_missing=True))

    with pytest.raises(FileNotFoundError, match=r'frame 11 of .*\.hdf5, which holds 10 frames'):
        Hdf5FrameBytes()(str(tiny / 'h5' / 'RedThings' / (video + '.hdf5')), [10, 11])


def test_undecodable_frame_names_the_video_and_frame(tmp_path):
    write_video(str(tmp_path / 'v.hdf5'), [b'not a jpeg'])
    loader = datasets.ClipLoader('fast', frame_bytes=Hdf5FrameBytes())
    with pytest.raises(OSError, match=r'v\.hdf5 \(frame 1\)'):
        loader(str(tmp_path / 'v.hdf5'), [1, 1], None)


# --------------------------------------------------------------------------- end to end


def test_main_and_test_py_give_the_jpeg_runs_results(tiny, tmp_path):
    """Training and video-level evaluation on the HDF5 tree reproduce the JPEG run exactly (same seed, frames)."""
    outputs = {}
    for file_type, video_path in (('jpg', 'jpg'), ('hdf5', 'h5')):
        result = tmp_path / file_type
        args = tiny_run_args(tiny, result, '--n_epochs', '2', '--file_type', file_type)
        args[args.index('--video_path') + 1] = video_path
        run('main.py', *args, expect_ok=True)
        test_args = [a for a in args if a not in ('--n_epochs', '2')]
        test_args[test_args.index('--result_path') + 1] = str(result / 'val')
        printed = run('test.py', *test_args, '--resume_path', str(result / 'last.pdparams'), expect_ok=True).stdout
        outputs[file_type] = {'train.log': (result / 'train.log').read_text(),
                              'val.log': (result / 'val.log').read_text(),
                              'val.json': json.load(open(result / 'val' / 'val.json')),
                              'accuracy': [ln for ln in printed.splitlines() if 'accuracy' in ln]}
    assert json.load(open(tmp_path / 'hdf5' / 'opts.json'))['file_type'] == 'hdf5'
    assert len(outputs['jpg']['val.json']['results']) == 6 and len(outputs['jpg']['accuracy']) >= 2
    assert outputs['hdf5'] == outputs['jpg']


def test_bench_loader_measures_both_storages(tmp_path):
    from benchmarks import bench_loader
    video_path, annotation_path = write_jpeg_dataset(
        str(tmp_path / 'data'), n_classes=1, n_train=1, n_val=1, n_frames=8, width=64, height=48)
    out = tmp_path / 'bench.json'
    assert bench_loader.main(['--video_path', video_path, '--annotation_path', annotation_path, '--workers', '0',
                              '--n_clips', '8', '--batch_size', '4', '--sample_size', '32', '--sample_duration',
                              '4', '--modes', 'val', '--file_types', 'jpg', 'hdf5', '--json', str(out)]) == 0
    results = json.load(open(out))['results']
    # the reference's naive loader, the baseline of the ratios, reads the JPEG tree only
    assert sorted((r['file_type'], r['loader']) for r in results) == [
        (f, name) for f in ('hdf5', 'jpg') for name in ('fast', 'fast_draft', 'naive', 'pil') if f == 'jpg' or
        name != 'naive']
    assert all(r['clips'] == 4 and r['clips_per_s'] > 0 for r in results)
