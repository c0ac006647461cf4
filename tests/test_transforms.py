"""Temporal and spatial transforms against hand-computed values (reference CVPR2018 semantics)."""
import random
from argparse import Namespace

import numpy as np
import pytest
from PIL import Image

import datasets
from datasets import spatial_transforms as S
from datasets import temporal_transforms as T
from datasets.mean import get_mean, get_mean_std, get_std
from tests.fixtures import make_opt


# --------------------------------------------------------------------------- temporal

def test_loop_padding():
    assert T.LoopPadding(8)([1, 2, 3]) == [1, 2, 3, 1, 2, 3, 1, 2]
    assert T.LoopPadding(3)([4, 5, 6, 7]) == [4, 5, 6, 7]  # never truncates
    src = [1, 2]
    T.LoopPadding(5)(src)
    assert src == [1, 2]  # input not mutated
    with pytest.raises(ValueError):
        T.LoopPadding(4)([])


def test_temporal_random_crop_off_by_one(monkeypatch):
    calls = []
    real = random.randint

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(random, 'randint', spy)
    frames = list(range(1, 21))
    crop = T.TemporalRandomCrop(16)
    crop(frames)
    assert calls == [(0, 3)]  # max(0, 20 - 16 - 1): start position 4 is never drawn
    monkeypatch.setattr(random, 'randint', real)

    starts = set()
    random.seed(0)
    for _ in range(300):
        out = crop(frames)
        assert len(out) == 16 and out == list(range(out[0], out[0] + 16))
        starts.add(out[0])
    assert starts == {1, 2, 3, 4}

    # exactly 16 and 17 frames: only the first window
    assert T.TemporalRandomCrop(16)(list(range(1, 17))) == list(range(1, 17))
    assert T.TemporalRandomCrop(16)(list(range(1, 18))) == list(range(1, 17))
    # short video: loop padding
    assert T.TemporalRandomCrop(16)([1, 2, 3, 4, 5]) == [1, 2, 3, 4, 5] * 3 + [1]


def test_temporal_center_crop_and_subsampling():
    assert T.TemporalCenterCrop(4)(list(range(1, 11))) == [4, 5, 6, 7]  # begin 10//2 - 2 = 3
    assert T.TemporalCenterCrop(8)([1, 2, 3]) == [1, 2, 3, 1, 2, 3, 1, 2]
    assert T.TemporalSubsampling(2)(list(range(1, 10))) == [1, 3, 5, 7, 9]
    comp = T.Compose([T.TemporalSubsampling(2), T.LoopPadding(6)])
    assert comp([1, 2, 3, 4, 5, 6]) == [1, 3, 5, 1, 3, 5]


def test_validation_windows_hand_computed():
    pad = T.LoopPadding(16)
    # 30 frames: step = max(1, ceil((30 - 1 - 16) / 2)) = 7 -> starts 1, 8, 15, 22, 29
    w = T.validation_windows(list(range(1, 31)), 16, 3)
    assert [x[0] for x in w] == [1, 8, 15, 22, 29]
    assert w[0] == list(range(1, 17))
    assert w[2] == list(range(15, 31))
    assert w[3] == list(range(22, 31))
    assert w[4] == [29, 30]
    assert pad(w[4]) == [29, 30] * 8
    # 100 frames: step ceil(83 / 2) = 42 -> 3 full clips
    w = T.validation_windows(list(range(1, 101)), 16, 3)
    assert [x[0] for x in w] == [1, 43, 85] and w[2] == list(range(85, 101))
    # 10 frames: step 1 -> starts 1..9
    w = T.validation_windows(list(range(1, 11)), 16, 3)
    assert [x[0] for x in w] == list(range(1, 10)) and w[-1] == [9, 10]
    # n_samples = 1: first window only; 1-frame video: one window
    assert T.validation_windows(list(range(1, 50)), 16, 1) == [list(range(1, 17))]
    assert T.validation_windows([1], 16, 3) == [[1]]


def test_sliding_windows_hand_computed():
    w = T.sliding_windows(list(range(1, 41)), 16)
    assert w == [list(range(1, 17)), list(range(17, 33)), list(range(33, 41))]
    assert T.sliding_windows(list(range(1, 17)), 16) == [list(range(1, 17))]
    # range(1, 17, 16) = [1]: frame 17 of a 17-frame video is never used (reference)
    assert T.sliding_windows(list(range(1, 18)), 16) == [list(range(1, 17))]
    assert [x[0] for x in T.sliding_windows(list(range(1, 41)), 16, stride=8)] == [1, 9, 17, 25, 33]
    assert T.sliding_windows(list(range(1, 41)), 16, stride=0) == T.sliding_windows(
        list(range(1, 41)), 16, stride=None)
    assert T.sliding_windows([1], 16) == [[1]]
    # t_stride 2: windows of 32 raw frames, later subsampled to 16
    w = T.sliding_windows(list(range(1, 41)), 16, t_stride=2)
    assert w == [list(range(1, 33)), list(range(33, 41))]


def test_temporal_even_crop_new_layout():
    assert T.TemporalEvenCrop(16, 3)(list(range(1, 101))) == [
        list(range(1, 17)), list(range(43, 59)), list(range(85, 101))]


def test_build_temporal_transform():
    opt = Namespace(sample_duration=4, sample_t_stride=1, train_t_crop='center')
    assert datasets.build_temporal_transform(opt, 'train')(list(range(1, 11))) == [4, 5, 6, 7]
    opt.sample_t_stride = 2
    assert datasets.build_temporal_transform(opt, 'train')(list(range(1, 11))) == [1, 3, 5, 7]
    assert datasets.build_temporal_transform(opt, 'val')([1, 2, 3]) == [1, 3, 1, 3]
    opt.train_t_crop = 'bogus'
    with pytest.raises(ValueError, match='train_t_crop'):
        datasets.build_temporal_transform(opt, 'train')


# --------------------------------------------------------------------------- spatial

def pattern(w, h, t=0):
    """R = x, G = y, B = t (all < 256 for the sizes used)."""
    x = np.arange(w, dtype=np.uint8)[None, :].repeat(h, 0)
    y = np.arange(h, dtype=np.uint8)[:, None].repeat(w, 1)
    b = np.full((h, w), t, np.uint8)
    return Image.fromarray(np.stack([x, y, b], axis=2), 'RGB')


def test_multiscale_corner_crop_sides_320x240():
    scales = datasets.default_scales()
    assert scales[-1] == pytest.approx(0.5) and scales[-1] < 0.5
    crop = S.MultiScaleCornerCrop(scales, 112)
    sides = []
    for s in scales:
        crop.scale = s
        crop.crop_position = 'tl'
        x1, y1, x2, y2 = crop.crop_box(320, 240)
        sides.append(x2 - x1)
        assert (x1, y1) == (0, 0) and y2 - y1 == x2 - x1
    assert sides == [240, 201, 169, 142, 119]

    crop.scale = scales[-1]  # crop 119
    expected = {'c': (101, 61, 219, 179),  # [cx - 59, cx + 59): one pixel smaller (odd crop)
                'tl': (0, 0, 119, 119), 'tr': (201, 0, 320, 119),
                'bl': (0, 121, 119, 240), 'br': (201, 121, 320, 240)}
    for pos, box in expected.items():
        crop.crop_position = pos
        assert crop.crop_box(320, 240) == box
    crop.crop_position = 'c'
    crop.scale = 1.0
    assert crop.crop_box(320, 240) == (40, 0, 280, 240)
    assert crop(pattern(320, 240)).size == (112, 112)


def test_multiscale_corner_crop_draws_all_combinations():
    crop = S.MultiScaleCornerCrop(datasets.default_scales(), 112)
    random.seed(1)
    seen = set()
    for _ in range(500):
        crop.randomize_parameters()
        seen.add((crop.scale, crop.crop_position))
    assert len(seen) == 25
    centre_only = S.MultiScaleCornerCrop(datasets.default_scales(), 112, crop_positions=['c'])
    for _ in range(20):
        centre_only.randomize_parameters()
        assert centre_only.crop_position == 'c'


def test_same_crop_and_flip_for_all_frames_of_a_clip():
    scales = datasets.default_scales()
    tf = S.Compose([S.MultiScaleCornerCrop(scales, 16), S.RandomHorizontalFlip(), S.ToTensor(1)])
    frames = [pattern(64, 48, t=10 * t) for t in range(6)]
    random.seed(3)
    flips = set()
    for _ in range(30):
        clip = S.transform_clip(tf, frames)
        assert clip.shape == (3, 6, 16, 16) and clip.dtype == np.float32
        crop, flip = tf.transforms[0], tf.transforms[1]
        flips.add(flip.flipped)
        # R/G identical across frames (same crop + flip), B carries the frame number
        for t in range(6):
            np.testing.assert_array_equal(clip[:2, t], clip[:2, 0])
            np.testing.assert_array_equal(clip[2, t], np.full((16, 16), 10 * t, np.float32))
        # and equal to the expected box, resized, then flipped
        box = crop.crop_box(64, 48)
        ref = pattern(64, 48).crop(box).resize((16, 16), S.BILINEAR)
        if flip.flipped:
            ref = ref.transpose(Image.FLIP_LEFT_RIGHT)
        np.testing.assert_array_equal(clip[:2, 0], np.asarray(ref, np.float32).transpose(2, 0, 1)[:2])
        # flipped clips have R decreasing along x
        row = clip[0, 0, 8]
        assert (row[0] > row[-1]) == flip.flipped
    assert flips == {True, False}


def test_corner_crop_and_flip_exact_pixels():
    img = pattern(40, 30)
    arr = np.asarray(img)
    for pos, (ys, xs) in {'tl': (slice(0, 10), slice(0, 10)), 'tr': (slice(0, 10), slice(30, 40)),
                          'bl': (slice(20, 30), slice(0, 10)), 'br': (slice(20, 30), slice(30, 40)),
                          'c': (slice(10, 20), slice(15, 25))}.items():
        out = np.asarray(S.CornerCrop(10, pos)(img))
        np.testing.assert_array_equal(out, arr[ys, xs])
    flip = S.RandomHorizontalFlip()
    flip._draw = 0.2
    np.testing.assert_array_equal(np.asarray(flip(img)), arr[:, ::-1])
    flip._draw = 0.7
    np.testing.assert_array_equal(np.asarray(flip(img)), arr)


def test_scale_and_center_crop():
    assert S.Scale(112)(pattern(320, 240)).size == (149, 112)  # int(112 * 320 / 240)
    assert S.Scale(112)(pattern(240, 320)).size == (112, 149)
    img = pattern(112, 200)
    assert S.Scale(112)(img) is img
    # offset round((149 - 112) / 2) = round(18.5) = 18 (Python rounds half to even)
    img = pattern(149, 112)
    out = np.asarray(S.CenterCrop(112)(img))
    np.testing.assert_array_equal(out, np.asarray(img)[:, 18:130])
    out = np.asarray(S.CornerCrop(112, 'c')(img))
    np.testing.assert_array_equal(out, np.asarray(img)[:, 18:130])


def test_to_tensor_and_normalize_values():
    img = Image.new('RGB', (4, 3), (200, 100, 50))
    x = S.ToTensor(1)(img)
    assert x.shape == (3, 3, 4) and x.dtype == np.float32
    assert x[:, 0, 0].tolist() == [200.0, 100.0, 50.0]
    np.testing.assert_allclose(S.ToTensor(255)(img)[:, 0, 0], [200 / 255, 100 / 255, 50 / 255],
                               rtol=1e-6)
    mean = get_mean(1, 'activitynet')
    y = S.Normalize(mean, [1, 1, 1])(x)
    np.testing.assert_allclose(y[:, 1, 2], [200 - 114.7748, 100 - 107.7354, 50 - 99.4750],
                               rtol=1e-5)
    std = get_std(1)
    z = S.Normalize(mean, std)(x)
    np.testing.assert_allclose(z[:, 0, 0], [(200 - 114.7748) / 38.7568578,
                                            (100 - 107.7354) / 37.88248729,
                                            (50 - 99.4750) / 40.02898126], rtol=1e-5)


def test_mean_std_values():
    assert get_mean(1) == [114.7748, 107.7354, 99.4750]
    assert get_mean(1, 'kinetics') == [110.63666788, 103.16065604, 96.29023126]
    np.testing.assert_allclose(get_mean(255), [114.7748 / 255, 107.7354 / 255, 99.4750 / 255])
    assert get_std(1) == [38.7568578, 37.88248729, 40.02898126]
    mean, std = get_mean_std(1, 'activitynet')
    assert mean == [0.4477, 0.4209, 0.3906] and std == [0.2767, 0.2695, 0.2714]
    mean, std = get_mean_std(255, 'kinetics')
    np.testing.assert_allclose(mean, [0.4345 * 255, 0.4051 * 255, 0.3775 * 255])
    np.testing.assert_allclose(std, [0.2768 * 255, 0.2713 * 255, 0.2737 * 255])
    assert get_mean_std(1, 0.5) == ([0.5] * 3, [0.5] * 3)
    with pytest.raises(ValueError):
        get_mean(1, 'imagenet')


def test_random_resized_crop_once_per_clip():
    rrc = S.RandomResizedCrop(16, (0.25, 1.0), (0.75, 4 / 3))
    tf = S.Compose([rrc, S.ToTensor(1)])
    frames = [pattern(64, 48, t) for t in range(4)]
    random.seed(0)
    for _ in range(20):
        clip = S.transform_clip(tf, frames)
        i, j, h, w = rrc._params
        assert 0 <= i and i + h <= 48 and 0 <= j and j + w <= 64
        assert 0.25 * 64 * 48 * 0.8 <= h * w <= 64 * 48
        for t in range(4):
            np.testing.assert_array_equal(clip[:2, t], clip[:2, 0])


def test_build_spatial_transform_modes():
    img = Image.new('RGB', (32, 24), (200, 100, 50))
    for mode in ('train', 'val', 'test'):
        tf = datasets.build_spatial_transform(make_opt(base='transforms'), mode)
        tf.randomize_parameters()
        out = tf(img)
        assert out.shape == (3, 16, 16)
        np.testing.assert_allclose(out[:, 5, 5], [200 - 114.7748, 100 - 107.7354, 50 - 99.475],
                                   rtol=1e-5)
    names = [type(t).__name__ for t in datasets.build_spatial_transform(make_opt(base='transforms'), 'train').transforms]
    assert names == ['MultiScaleCornerCrop', 'RandomHorizontalFlip', 'ToTensor', 'Normalize']
    names = [type(t).__name__ for t in
             datasets.build_spatial_transform(make_opt(base='transforms', no_hflip=True, train_crop='random'), 'train').transforms]
    assert names == ['RandomResizedCrop', 'ToTensor', 'Normalize']
    tf = datasets.build_spatial_transform(make_opt(base='transforms', train_crop='center'), 'train')
    assert tf.transforms[0].crop_positions == ['c']
    tf = datasets.build_spatial_transform(make_opt(base='transforms', train_crop='multiscale_random'), 'train')
    assert isinstance(tf.transforms[0], S.MultiScaleRandomCrop)
    tf = datasets.build_spatial_transform(make_opt(base='transforms', scale_in_test=0.5, crop_position_in_test='br'), 'test')
    assert tf.transforms[0].size == 32 and tf.transforms[1].crop_position == 'br'
    with pytest.raises(ValueError, match='train_crop'):
        datasets.build_spatial_transform(make_opt(base='transforms', train_crop='nope'), 'train')
    # norm_value 255 -> [0, 1] inputs
    tf = datasets.build_spatial_transform(make_opt(base='transforms', norm_value=255, mean=[0, 0, 0]), 'val')
    np.testing.assert_allclose(tf(img)[:, 0, 0], [200 / 255, 100 / 255, 50 / 255], rtol=1e-6)


def test_one_seed_controls_everything():
    tf = datasets.build_spatial_transform(make_opt(base='transforms'), 'train')
    frames = [pattern(64, 48, t) for t in range(3)]
    random.seed(42)
    a = S.transform_clip(tf, frames)
    random.seed(42)
    b = S.transform_clip(tf, frames)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------- geometry

def test_build_spatial_transform_without_tensor_describes_geometry():
    for mode in ('train', 'val', 'test'):
        assert not S.describes_geometry(datasets.build_spatial_transform(make_opt(base='transforms'), mode))
        tf = datasets.build_spatial_transform(make_opt(base='transforms'), mode, to_tensor=False)
        assert S.describes_geometry(tf)
        assert not any(isinstance(t, (S.ToTensor, S.Normalize)) for t in tf.transforms)
    assert not S.describes_geometry(None)


def test_geometry_of_scale_and_center_crop_320x240():
    tf = S.Compose([S.Scale(112), S.CenterCrop(112)])
    g = tf.geometry(S.ClipGeometry.whole(320, 240))
    # Scale -> 149 x 112 (320 / 149 source pixels per pixel), crop at x = round(18.5) = 18
    assert g.size == (112, 112) and not g.flip
    assert g.box == pytest.approx((18 * 320 / 149, 0, 130 * 320 / 149, 240))
    assert g.domain == (0, 0, 320, 240)  # resized before the crop: the whole frame is read
    assert g.inside(320, 240)
    # a short side already at the size: no resize, only a crop
    g = tf.geometry(S.ClipGeometry.whole(149, 112))
    assert g.box == g.domain == (18, 0, 130, 112) and not g.resampled


def test_geometry_of_multiscale_corner_crop_and_flip():
    crop = S.MultiScaleCornerCrop(datasets.default_scales(), 112)
    flip = S.RandomHorizontalFlip()
    tf = S.Compose([crop, flip])
    crop.scale, crop.crop_position = crop.scales[-1], 'br'
    flip._draw = 0.2
    g = tf.geometry(S.ClipGeometry.whole(320, 240))
    # cropped before the resize: the resize must not read beyond the crop
    assert g.box == g.domain == (201, 121, 320, 240)
    assert g.size == (112, 112) and g.flip and g.resampled
    flip._draw = 0.7
    assert not tf.geometry(S.ClipGeometry.whole(320, 240)).flip


def test_geometry_crop_after_flip_is_mirrored():
    img = pattern(40, 30)
    flip = S.RandomHorizontalFlip()
    flip._draw = 0.1
    tf = S.Compose([flip, S.CornerCrop(10, 'tl')])
    g = tf.geometry(S.ClipGeometry.whole(40, 30))
    assert g.box == (30, 0, 40, 10) and g.flip
    np.testing.assert_array_equal(np.asarray(tf(img)), np.asarray(img.crop(g.box))[:, ::-1])


def test_geometry_of_random_crops_uses_the_drawn_box():
    rrc = S.RandomResizedCrop(16, (0.25, 1.0), (0.75, 4 / 3))
    random.seed(4)
    rrc.randomize_parameters()
    g = rrc.geometry(S.ClipGeometry.whole(64, 48))
    state = random.getstate()
    assert rrc.geometry(S.ClipGeometry.whole(64, 48)) == g  # drawn once per clip
    assert random.getstate() == state
    i, j, h, w = rrc._params
    assert g.box == (j, i, j + w, i + h) and g.size == (16, 16)
    # the PIL path draws the same box from the same state
    random.seed(4)
    rrc.randomize_parameters()
    rrc(pattern(64, 48))
    assert rrc._params == (i, j, h, w) and random.getstate() == state

    msr = S.MultiScaleRandomCrop(datasets.default_scales(), 16)
    msr.scale, msr.tl_x, msr.tl_y = msr.scales[1], 0.5, 0.25
    # crop int(48 * 0.8409) = 40 at (0.5 * 24, 0.25 * 8) = (12, 2), PIL's rounding
    assert msr.geometry(S.ClipGeometry.whole(64, 48)).box == (12, 2, 52, 42)


def test_geometry_of_a_crop_beyond_the_frame():
    tf = S.Compose([S.Scale(56), S.CornerCrop(112, 'c')])
    g = tf.geometry(S.ClipGeometry.whole(320, 240))
    assert not g.inside(320, 240)  # PIL pads the crop with black: not a source box
