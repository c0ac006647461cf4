"""The fast clip loaders (``--loader fast``, ``--loader fast_draft``) against the PIL one
(``--loader pil``) on textured 320 x 240 JPEG frames, where JPEGs really are decoded at reduced size;
and their decoder (simplejpeg) against Pillow's on Pillow- and FFmpeg-written JPEGs.

Tolerances, in 0..255 pixel units (the options use norm_value 1 and std 1): with the same seed
all loaders cut the same boxes. 'fast' decodes at full size, so its clips equal the PIL clips (crop
then resize: exactly; resize then crop, where the box is computed in floats: up to 1 level, mean
< 0.01). 'fast_draft' decodes at half size where it can (libjpeg's DCT-domain downscaling, then a
short bilinear resize, instead of a full decode and a bilinear downscale) and differs by the two
filters: measured on these frames mean |diff| 1.2..1.8 per clip and max 17; the tests allow a mean
of 2.5 and a max of 24 there. (That difference cost accuracy in benchmarks/parity/harness.py, which is why
'fast' does not draft: docs/PARITY.md.)
"""
import functools
import io
import json
import os
import random
from argparse import Namespace

import numpy as np
import paddle
import pytest
from PIL import Image, ImageFile

import datasets
from datasets import fast_clips
from datasets.fast_clips import EncodedFrame, draft_scale
from datasets.safe_clips import SafeClips, clip_shape
from datasets.spatial_transforms import ClipGeometry
from tests.fixtures import make_opt, textured_frames, write_jpeg_dataset, write_video

# the 'loader' option set: 8-frame 112 x 112 clips, the getters' defaults for the rest
loader_opt = functools.partial(make_opt, base='loader')
MEAN_TOLERANCE = 2.5
MAX_TOLERANCE = 24

GETTERS = {'train': datasets.get_training_set, 'val': datasets.get_validation_set,
           'test': datasets.get_test_set}


@pytest.fixture(scope='module')
def landscape(tmp_path_factory):
    """1 class, 2 training + 1 validation videos of 20 frames, 320 x 240, quality 90."""
    return write_jpeg_dataset(str(tmp_path_factory.mktemp('landscape')), n_classes=1, n_train=2,
                              n_val=1, n_frames=20, quality=90)


@pytest.fixture(scope='module')
def portrait(tmp_path_factory):
    return write_jpeg_dataset(str(tmp_path_factory.mktemp('portrait')), n_classes=1, n_train=1,
                              n_val=1, n_frames=10, width=240, height=320, quality=90)


def normalised(clip, opt):
    """A (uint8) clip as the float32 clip the model gets."""
    batch = paddle.to_tensor(clip[None])
    return datasets.input_normalizer(opt)(batch).numpy()[0]


def both_clips(tree, mode, index, seed, loader='fast', **kw):
    """(``loader``'s clip, pil clip, the ``loader`` dataset), both drawn with ``seed`` and normalised."""
    fast_set = GETTERS[mode](loader_opt(*tree, loader, **kw))
    pil_set = GETTERS[mode](loader_opt(*tree, 'pil', **kw))
    random.seed(seed)
    fast, _ = fast_set[index]
    fast_state = random.getstate()
    random.seed(seed)
    pil, _ = pil_set[index]
    assert random.getstate() == fast_state  # the same random calls, so the same crop and flip
    assert fast.dtype == pil.dtype == np.uint8  # one output type; the batch is normalised later
    return normalised(fast, loader_opt(*tree, **kw)), normalised(pil, loader_opt(*tree, **kw)), fast_set


def last_geometry(dataset, width=320, height=240):
    """The geometry the dataset's transform used for its last clip (parameters are kept)."""
    return dataset.spatial_transform.geometry(ClipGeometry.whole(width, height))


CASES = [
    pytest.param('train', {}, id='train-corner'),
    # the 240-pixel crop, the training crop that is decoded at half size
    pytest.param('train', {'scales': [1.0]}, id='train-corner-full-height'),
    pytest.param('train', {'train_crop': 'center'}, id='train-center'),
    pytest.param('train', {'train_crop': 'random'}, id='train-random'),
    pytest.param('train', {'train_crop': 'multiscale_random'}, id='train-multiscale_random'),
    pytest.param('train', {'no_hflip': True}, id='train-no_hflip'),
    pytest.param('val', {}, id='val'),
    pytest.param('test', {'crop_position_in_test': 'c'}, id='test-c'),
    pytest.param('test', {'crop_position_in_test': 'br', 'scale_in_test': 0.8}, id='test-br-0.8'),
    # Scale(56) then a 112 crop: beyond the frame, padded with black (PIL fallback per clip)
    pytest.param('test', {'crop_position_in_test': 'tl', 'scale_in_test': 2.0}, id='test-tl-2.0'),
    pytest.param('val', {'norm_value': 255, 'mean': [0.4, 0.4, 0.4], 'std': [0.2, 0.25, 0.3]},
                 id='val-norm_value-255-std'),
]


def assert_same_pixels(diff):
    # the same resampling; a box from a scaled image's crop carries float rounding
    assert diff.max() <= 1 + 1e-3 and diff.mean() < 0.01, (diff.max(), diff.mean())


@pytest.mark.parametrize('mode,kw', CASES)
def test_fast_equals_pil(landscape, mode, kw):
    _, _, std = datasets.normalization_values(loader_opt(*landscape, **kw))
    scale = np.asarray(std, np.float32)[:, None, None, None] * kw.get('norm_value', 1)
    n_clips = len(GETTERS[mode](loader_opt(*landscape, **kw)))
    for seed in range(6):
        fast, pil, _ = both_clips(landscape, mode, seed % n_clips, seed, **kw)
        assert fast.shape == pil.shape == (3, 8, 112, 112)
        assert_same_pixels(np.abs(fast - pil) * scale)


@pytest.mark.parametrize('mode,kw', CASES)
def test_fast_draft_close_to_pil(landscape, mode, kw):
    # values back on the 0..255 scale for the tolerances
    _, _, std = datasets.normalization_values(loader_opt(*landscape, **kw))
    scale = np.asarray(std, np.float32)[:, None, None, None] * kw.get('norm_value', 1)
    n_clips = len(GETTERS[mode](loader_opt(*landscape, **kw)))
    reductions = set()
    for seed in range(6):
        fast, pil, fast_set = both_clips(landscape, mode, seed % n_clips, seed, 'fast_draft', **kw)
        assert fast.shape == pil.shape == (3, 8, 112, 112)
        diff = np.abs(fast - pil) * scale
        geometry = last_geometry(fast_set)
        if not geometry.inside(320, 240):
            reductions.add('pil fallback')
            assert diff.max() < 1e-3
        elif draft_scale(geometry) == 1:
            reductions.add(1)
            assert_same_pixels(diff)
        else:
            reductions.add(draft_scale(geometry))
            assert diff.mean() < MEAN_TOLERANCE and diff.max() <= MAX_TOLERANCE, (
                geometry, diff.mean(), diff.max())
    if mode == 'val' or kw.get('scales') == [1.0]:
        assert reductions == {2}  # 240 rows -> 112: decoded at 160 x 120
    if kw.get('scale_in_test') == 2.0:
        assert reductions == {'pil fallback'}


def test_portrait_frames(portrait):
    for mode in ('train', 'val'):
        for seed in range(3):
            fast, pil, _ = both_clips(portrait, mode, 0, seed)
            assert_same_pixels(np.abs(fast - pil))
            fast, pil, fast_set = both_clips(portrait, mode, 0, seed, 'fast_draft')
            diff = np.abs(fast - pil)
            assert diff.mean() < MEAN_TOLERANCE and diff.max() <= MAX_TOLERANCE
            if draft_scale(last_geometry(fast_set, 240, 320)) == 1:
                assert diff.max() <= 1


@pytest.fixture
def decoded_sizes(monkeypatch):
    """The sizes of the frames decoded (by Pillow, or by the fast loaders' decoder) while the test runs."""
    sizes = set()
    real_load = ImageFile.ImageFile.load
    real_decode = EncodedFrame.decode

    def load(self):
        result = real_load(self)
        sizes.add(self.size)
        return result

    def decode(self, scale=1):
        img = real_decode(self, scale)
        sizes.add(img.size)
        return img

    monkeypatch.setattr(ImageFile.ImageFile, 'load', load)
    monkeypatch.setattr(EncodedFrame, 'decode', decode)
    return sizes


def test_draft_decodes_at_reduced_size(landscape, decoded_sizes):
    ds = datasets.get_validation_set(loader_opt(*landscape, 'fast_draft'))
    clip, _ = ds[0]
    assert clip.shape == (3, 8, 112, 112)
    assert decoded_sizes == {(160, 120)}  # the 240-row centre crop has >= 2 x 112 rows


def test_fast_decodes_at_full_size(landscape, decoded_sizes):
    for loader in ('fast', 'pil'):
        datasets.get_validation_set(loader_opt(*landscape, loader))[0]
        datasets.get_training_set(loader_opt(*landscape, loader, sample_size=28))[0]
    assert decoded_sizes == {(320, 240)}


def test_small_crop_is_decoded_at_full_size(landscape, decoded_sizes):
    # a 119-pixel crop (scale 0.5) resized to 112 x 112: halving would leave too few pixels
    ds = datasets.get_training_set(loader_opt(*landscape, 'fast_draft', scales=[0.5]))
    ds[0]
    assert decoded_sizes == {(320, 240)}
    # a 32-pixel output from the same crop may be decoded at a quarter of the size
    decoded_sizes.clear()
    datasets.get_training_set(loader_opt(*landscape, 'fast_draft', scales=[0.5], sample_size=28))[0]
    assert decoded_sizes == {(80, 60)}


def test_draft_scale():
    assert draft_scale(ClipGeometry((0, 0, 240, 240), (112, 112))) == 2
    assert draft_scale(ClipGeometry((0, 0, 223, 240), (112, 112))) == 1
    assert draft_scale(ClipGeometry((0, 0, 240, 240), (30, 30))) == 8
    assert draft_scale(ClipGeometry((0, 0, 240, 120), (60, 60))) == 2  # the short direction rules


def test_uint8_clips_and_loop_padding(landscape, monkeypatch):
    opt = loader_opt(*landscape, sample_duration=16, n_val_samples=3)
    ds = datasets.get_validation_set(opt)
    assert ds.clip_loader == 'fast' and ds.clip_dtype == np.uint8
    # 20 frames, 16-frame windows: step 2 -> the last window is frame 19, 20 (loop padded)
    assert ds.samples[-1]['frame_indices'] == [19, 20]
    decoded = []
    real_decode = EncodedFrame.decode
    monkeypatch.setattr(EncodedFrame, 'decode', lambda self, *a: decoded.append(self) or real_decode(self, *a))
    clip, target = ds[len(ds) - 1]
    assert len(decoded) == 2  # each distinct frame decoded once
    assert clip.dtype == np.uint8 and clip.shape == (3, 16, 112, 112) and target == 0
    assert clip.flags['C_CONTIGUOUS']
    for t in range(2, 16):
        np.testing.assert_array_equal(clip[:, t], clip[:, t % 2])
    assert not np.array_equal(clip[:, 0], clip[:, 1])


def test_missing_frame_names_the_file(landscape, tmp_path):
    video_path, annotation_path = landscape
    ds = datasets.get_validation_set(loader_opt(*landscape))
    video = ds.samples[0]['video']
    path = os.path.join(video, 'image_00003.jpg')
    os.rename(path, path + '.away')
    try:
        with pytest.raises(FileNotFoundError) as e:
            ds[0]
    finally:
        os.rename(path + '.away', path)
    assert str(e.value) == 'missing frame: {} (frame 3 of video folder {})'.format(path, video)


@pytest.mark.parametrize('damage', ['garbage', 'truncated'])
def test_undecodable_frame_names_the_file(landscape, damage):
    ds = datasets.get_validation_set(loader_opt(*landscape))
    path = os.path.join(ds.samples[0]['video'], 'image_00002.jpg')
    with open(path, 'rb') as f:
        good = f.read()
    try:
        with open(path, 'wb') as f:
            f.write(b'not a jpeg' if damage == 'garbage' else good[:len(good) // 3])
        with pytest.raises(OSError) as e:
            ds[0]
        assert str(e.value).startswith('cannot read frame {}: '.format(path))
    finally:
        with open(path, 'wb') as f:
            f.write(good)


def test_safe_clips_zeros_have_the_dataset_dtype(landscape):
    for loader, dtype in (('fast', np.uint8), ('fast_draft', np.uint8), ('pil', np.uint8)):
        opt = loader_opt(*landscape, loader)
        ds = datasets.get_validation_set(opt)
        ds.samples[1] = dict(ds.samples[1], frame_indices=[999])  # no such frame
        safe = SafeClips(ds, clip_shape(opt))
        good, bad = safe[0], safe[1]
        assert good[0].dtype == bad[0].dtype == dtype and int(bad[3]) == 0
        assert bad[0].shape == good[0].shape == (3, 8, 112, 112) and not bad[0].any()
        assert 'image_00999.jpg' in safe.load_error(1)


class Grey(object):
    """A PIL transform without geometry: the loader takes the per-frame path for it."""

    def randomize_parameters(self):
        pass

    def __call__(self, img):
        return img.convert('L').convert('RGB').resize((112, 112))


def test_transforms_without_geometry_use_the_per_frame_path(landscape):
    video_path, annotation_path = landscape
    opt = loader_opt(*landscape)
    temporal = datasets.build_temporal_transform(opt, 'val')
    ds = datasets.VideoDataset(video_path, annotation_path, 'validation', mode='val', spatial_transform=Grey(),
                               temporal_transform=temporal, sample_duration=8, clip_loader='fast')
    assert not ds.loader.uses_geometry(ds.spatial_transform)
    clip, _ = ds[0]
    assert clip.dtype == np.uint8 and clip.shape == (3, 8, 112, 112)
    assert (clip[0] == clip[1]).all() and (clip[1] == clip[2]).all()
    # a transform ending with ToTensor + Normalize gives floats: the loader names the fix
    with_tensor = datasets.build_spatial_transform(opt, 'val')
    ds = datasets.VideoDataset(video_path, annotation_path, 'validation', mode='val', spatial_transform=with_tensor,
                               temporal_transform=temporal, sample_duration=8, clip_loader='fast')
    with pytest.raises(TypeError, match='to_tensor=False'):
        ds[0]
    with pytest.raises(ValueError, match='loader'):
        datasets.get_validation_set(loader_opt(*landscape, loader='turbo'))


def test_frames_of_different_sizes_in_one_clip(tmp_path):
    """Each frame's crop comes from its own size, as in the PIL path."""
    video_path, annotation_path = write_jpeg_dataset(str(tmp_path), n_classes=1, n_train=1,
                                                     n_val=1, n_frames=4)
    for root, _, files in os.walk(video_path):
        if 'image_00002.jpg' in files:
            path = os.path.join(root, 'image_00002.jpg')
            Image.open(path).resize((300, 200)).save(path, quality=90)
    for mode in ('train', 'val'):
        for seed in range(4):
            fast, pil, _ = both_clips((video_path, annotation_path), mode, 0, seed,
                                      sample_duration=4)
            assert_same_pixels(np.abs(fast - pil))


# --------------------------------------------------------------------------- input_normalizer

def uint8_batch(shape=(2, 3, 4, 5, 6), seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize('norm_value,std', [(1, None), (255, [0.2, 0.25, 0.3])])
def test_input_normalizer_values(norm_value, std):
    mean = [0.4, 0.45, 0.5] if norm_value == 255 else datasets.get_mean(1)
    opt = Namespace(norm_value=norm_value, mean=mean, std=std)
    x = uint8_batch()
    out = datasets.input_normalizer(opt)(paddle.to_tensor(x))
    assert out.dtype == paddle.float32 and tuple(out.shape) == x.shape
    s = np.ones(3) if std is None else np.asarray(std)
    expected = (x / norm_value - np.asarray(mean)[:, None, None, None]) / s[:, None, None, None]
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)
    # the float32 arithmetic of ToTensor + Normalize, exactly
    norm_value, mean, std = datasets.normalization_values(opt)
    tf = datasets.spatial_transforms.Compose([datasets.ToTensor(norm_value),
                                              datasets.Normalize(mean, std)])
    per_frame = np.stack([tf(x[0, :, t].transpose(1, 2, 0)) for t in range(x.shape[2])], axis=1)
    np.testing.assert_array_equal(out.numpy()[0], per_frame)


def test_accelerator_normalisation_matches_the_cpu_one():
    """The paddle-ops path used for batches on a GPU, run here on the CPU."""
    from datasets.normalization import _normalize_on_device
    x = paddle.to_tensor(uint8_batch())
    values = (255, [0.4, 0.45, 0.5], [0.2, 0.25, 0.3])
    opt = Namespace(norm_value=values[0], mean=values[1], std=values[2])
    np.testing.assert_allclose(_normalize_on_device(x, *values).numpy(),
                               datasets.input_normalizer(opt)(x).numpy(), rtol=1e-6, atol=1e-6)


def test_input_normalizer_defaults_to_the_reference_mean():
    out = datasets.input_normalizer(Namespace())(paddle.to_tensor(np.full((1, 3, 1, 1, 1), 100,
                                                                          np.uint8)))
    np.testing.assert_allclose(out.numpy().reshape(3), [100 - m for m in datasets.get_mean(1)],
                               atol=1e-5)


def test_input_normalizer_channels_last():
    x = uint8_batch()
    first = datasets.input_normalizer(Namespace())(paddle.to_tensor(x)).numpy()
    for normalize in (datasets.input_normalizer(Namespace(), data_format='NDHWC'),
                      datasets.input_normalizer(Namespace(data_format='NDHWC'))):
        last = normalize(paddle.to_tensor(x))
        assert tuple(last.shape) == (2, 4, 5, 6, 3)
        np.testing.assert_array_equal(last.numpy(), first.transpose(0, 2, 3, 4, 1))
    # an explicit argument wins over the option
    same = datasets.input_normalizer(Namespace(data_format='NDHWC'), data_format='NCDHW')
    assert tuple(same(paddle.to_tensor(x)).shape) == x.shape
    with pytest.raises(ValueError, match='data_format'):
        datasets.input_normalizer(Namespace(), data_format='NHWC')


def test_input_normalizer_passes_float_batches_through():
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_array_equal(datasets.input_normalizer(Namespace())(paddle.to_tensor(x))
                                  .numpy(), x)
    last = datasets.input_normalizer(Namespace(), 'NDHWC')(paddle.to_tensor(x))
    np.testing.assert_array_equal(last.numpy(), x.transpose(0, 2, 3, 4, 1))


# --------------------------------------------------------------------------- DataLoader

@pytest.mark.parametrize('workers', [0, 2])
def test_dataloader_batches_equal_direct_indexing(landscape, workers):
    opt = loader_opt(*landscape)
    ds = datasets.get_validation_set(opt)  # deterministic: no random draws
    safe = SafeClips(ds, clip_shape(opt))
    loader = paddle.io.DataLoader(safe, batch_size=3, shuffle=False, num_workers=workers)
    normalize = datasets.input_normalizer(opt)
    seen = 0
    for clips, targets, indices, ok, _ in loader:
        assert clips.dtype == paddle.uint8 and bool(ok.numpy().all())
        expected = np.stack([ds[int(i)][0] for i in indices.numpy()])
        np.testing.assert_array_equal(clips.numpy(), expected)
        batch = normalize(clips)
        assert batch.dtype == paddle.float32
        np.testing.assert_array_equal(batch.numpy()[0], normalised(expected[0], opt))
        seen += clips.shape[0]
    assert seen == len(ds)


# --------------------------------------------------------------------------- benchmark script

def test_bench_loader_runs_and_writes_json(tmp_path):
    from benchmarks import bench_loader
    video_path, annotation_path = write_jpeg_dataset(
        str(tmp_path / 'data'), n_classes=1, n_train=1, n_val=1, n_frames=8, width=64, height=48)
    r = bench_loader.loader_throughput(video_path, annotation_path, 'fast', 'train', 0, 8,
                                       sample_size=32, sample_duration=4, batch_size=4)
    assert r['clips'] == 4 and r['clips_per_s'] > 0 and r['batch_shape'] == [4, 3, 4, 32, 32]
    assert r['frames_per_s'] == pytest.approx(4 * r['clips_per_s'])
    assert r['clips_per_cpu_s'] > 0  # in-process: the per-core rate is known
    out = tmp_path / 'bench.json'
    assert bench_loader.main(['--video_path', video_path, '--annotation_path', annotation_path,
                              '--workers', '0', '--n_clips', '8', '--batch_size', '4',
                              '--sample_size', '32', '--sample_duration', '4',
                              '--json', str(out)]) == 0
    results = json.load(open(str(out)))['results']
    assert sorted((r['mode'], r['loader']) for r in results) == [
        ('train', 'fast'), ('train', 'fast_draft'), ('train', 'naive'), ('train', 'pil'), ('val', 'fast'),
        ('val', 'fast_draft'), ('val', 'naive'), ('val', 'pil')]
    # the naive loader (the reference's float32 pipeline) gives the same batch shape
    naive = bench_loader.loader_throughput(video_path, annotation_path, 'naive', 'val', 0, 8,
                                           sample_size=32, sample_duration=4, batch_size=4)
    assert naive['batch_shape'] == [4, 3, 4, 32, 32]


def _encoded(img, fmt='JPEG', **options):
    buf = io.BytesIO()
    img.save(buf, fmt, **options)
    return buf.getvalue()


def _pillow_pixels(data, scale=1):
    """The reference pipeline's decode (Image.open + convert), with Image.draft for scale > 1."""
    with Image.open(io.BytesIO(data)) as img:
        if scale > 1:
            img.draft('RGB', (img.size[0] // scale, img.size[1] // scale))
        return np.asarray(img.convert('RGB'))


def _decoded_pixels(data, scale=1):
    return np.asarray(EncodedFrame(data).decode(scale))[:, :, :3]


@pytest.fixture(scope='module')
def encoded_frames(tmp_path_factory):
    """{name: file bytes}: textured frames as Pillow writes them with various JPEG options (odd sizes
    too), and frames FFmpeg's mjpeg encoder writes through utils/video_jpg_ucf101_hmdb51.py."""
    from utils.video_jpg_ucf101_hmdb51 import convert_video_pyav
    frame = Image.fromarray(textured_frames(np.random.default_rng(3), 1, width=157, height=118)[0])
    frames = {'q75 4:2:0': _encoded(frame, quality=75), 'q95 4:4:4': _encoded(frame, quality=95, subsampling=0),
              'q90 4:2:2': _encoded(frame, quality=90, subsampling=1), 'q20': _encoded(frame, quality=20),
              'progressive': _encoded(frame, progressive=True), 'grey': _encoded(frame.convert('L')),
              'cmyk': _encoded(frame.convert('CMYK')), 'png': _encoded(frame, 'PNG')}
    root = tmp_path_factory.mktemp('ffmpeg_frames')
    video = write_video(str(root / 'v.avi'), width=96, height=72, n_frames=3)
    os.makedirs(str(root / 'jpg'))
    convert_video_pyav(video, str(root / 'jpg'))
    for name in sorted(os.listdir(str(root / 'jpg')))[:3]:
        with open(str(root / 'jpg' / name), 'rb') as f:
            frames['ffmpeg ' + name] = f.read()
    return frames


def test_decoder_gives_pillows_pixels(encoded_frames):
    for name, data in encoded_frames.items():
        frame = EncodedFrame(data)
        # libjpeg-turbo decodes the YCbCr and grey JPEGs; CMYK and other formats go to Pillow
        assert frame.turbo == (name not in ('cmyk', 'png')), name
        reference = _pillow_pixels(data)
        assert frame.size == reference.shape[1::-1]
        np.testing.assert_array_equal(_decoded_pixels(data), reference, err_msg=name)
        for scale in (2, 4, 8):  # the reduced-size decoding of --loader fast_draft equals Image.draft's
            np.testing.assert_array_equal(_decoded_pixels(data, scale), _pillow_pixels(data, scale),
                                          err_msg='{} at 1/{}'.format(name, scale))


def test_decoder_leaves_damaged_jpegs_to_pillow(encoded_frames, monkeypatch):
    good = encoded_frames['q75 4:2:0']
    with pytest.raises(OSError):  # Pillow's error, as the reference pipeline raises
        EncodedFrame(good[:len(good) // 2]).decode()
    # what Pillow is told to accept, it decodes (strict libjpeg-turbo does not)
    monkeypatch.setattr(ImageFile, 'LOAD_TRUNCATED_IMAGES', True)
    np.testing.assert_array_equal(_decoded_pixels(good[:len(good) // 2]), _pillow_pixels(good[:len(good) // 2]))


def test_reader_takes_file_bytes(landscape):
    """``ClipFrameReader.pixels(bytes)``: frames stored elsewhere than in files (e.g. HDF5) go the same way."""
    ds = datasets.get_training_set(loader_opt(*landscape))  # corner crops: exactly the PIL pixels
    transform = ds.spatial_transform
    transform.randomize_parameters()
    reader = fast_clips.ClipFrameReader(transform, draft=False)
    path = os.path.join(ds.samples[0]['video'], 'image_00001.jpg')
    with open(path, 'rb') as f:
        data = f.read()
    np.testing.assert_array_equal(reader.pixels(data), reader(path))
    np.testing.assert_array_equal(reader(path), np.asarray(transform(Image.open(path).convert('RGB'))))
