"""Datasets over a tiny JPEG tree (32 x 24 frames) built in tmp_path."""
import json
import os
import random

import numpy as np
import paddle
import pytest

import datasets
from tests.fixtures import annotation_entry, make_opt, write_annotation, write_frame_folder

LABELS = ['ClassA', 'ClassB']


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path / 'jpg')
    write_frame_folder(root, 'ClassA', 'v_a1', 20)
    write_frame_folder(root, 'ClassA', 'v_a2', 30, n_frames_file=True)
    write_frame_folder(root, 'ClassB', 'v_b1', 20)
    write_frame_folder(root, 'ClassB', 'v_b2', 20)
    write_frame_folder(root, 'ClassA', 'v_a3', 30)
    db = {'v_a1': annotation_entry('training', 'ClassA'), 'v_a2': annotation_entry('training', 'ClassA'),
          'v_b1': annotation_entry('training', 'ClassB'),
          'v_b2': annotation_entry('validation', 'ClassB'), 'v_a3': annotation_entry('validation', 'ClassA')}
    ann = write_annotation(tmp_path / 'ucf101_01.json', LABELS, db)
    return root, ann, tmp_path


@pytest.mark.parametrize('loader,dtype,green', [('fast', np.uint8, 60), ('pil', np.uint8, 60)])
def test_training_set_items(tree, loader, dtype, green):
    root, ann, _ = tree
    ds = datasets.get_training_set(make_opt(root, ann, loader=loader))
    assert isinstance(ds, paddle.io.Dataset)
    assert len(ds) == 3 and ds.class_names == LABELS
    assert ds.video_ids == ['v_a1', 'v_a2', 'v_b1']
    assert [s['label'] for s in ds.samples] == [0, 0, 1]
    assert ds.samples[1]['frame_indices'] == list(range(1, 31))
    assert ds.samples[0]['video'] == os.path.join(root, 'ClassA', 'v_a1')
    assert ds.clip_loader == loader and ds.clip_dtype == dtype
    random.seed(0)
    clip, target = ds[2]
    assert clip.shape == (3, 16, 16, 16) and clip.dtype == dtype
    assert isinstance(target, np.int64) and target == 1
    # G channel is 60 in every frame: uint8 pixels from every loader setting (normalised per batch)
    # after any crop/flip (JPEG may shift it by a little)
    assert abs(float(clip[1].mean()) - green) < 3
    random.seed(5)
    a, _ = ds[0]
    random.seed(5)
    b, _ = ds[0]
    np.testing.assert_array_equal(a, b)


def test_loader_option_defaults_to_fast(tree):
    root, ann, _ = tree
    opt = make_opt(root, ann)
    del opt.loader
    assert datasets.get_validation_set(opt).clip_loader == 'fast'


def test_validation_set_windows(tree):
    root, ann, _ = tree
    ds = datasets.get_validation_set(make_opt(root, ann))
    # v_b2, 20 frames: step max(1, ceil(3 / 2)) = 2 -> starts 1, 3, ..., 19 (10 clips)
    # v_a3, 30 frames: step 7 -> starts 1, 8, 15, 22, 29 (5 clips)
    assert ds.n_clips_per_video == [10, 5] and len(ds) == 15
    starts = [s['frame_indices'][0] for s in ds.samples]
    assert starts == list(range(1, 20, 2)) + [1, 8, 15, 22, 29]
    assert ds.samples[-1]['frame_indices'] == [29, 30]
    clip, target = ds[14]
    assert clip.shape == (3, 16, 16, 16) and target == 0
    # loop padding: frames 29, 30, 29, 30, ...
    np.testing.assert_array_equal(clip[:, 0], clip[:, 2])
    assert ds[0][1] == 1


def test_test_set_targets_are_video_indices(tree):
    root, ann, _ = tree
    ds = datasets.get_test_set(make_opt(root, ann, test_subset='val'))
    assert ds.video_ids == ['v_b2', 'v_a3'] and ds.video_labels == [1, 0]
    # 20 frames -> starts 1, 17; 30 frames -> starts 1, 17
    assert ds.n_clips_per_video == [2, 2]
    assert [s['frame_indices'] for s in ds.samples][:2] == [list(range(1, 17)), [17, 18, 19, 20]]
    assert [int(ds[i][1]) for i in range(len(ds))] == [0, 0, 1, 1]
    assert ds[1][0].shape == (3, 16, 16, 16)
    tr = datasets.get_test_set(make_opt(root, ann, test_subset='train', inference_stride=0))
    assert tr.subset == 'training' and tr.n_clips_per_video == [2, 2, 2]


def test_sample_t_stride(tree):
    root, ann, _ = tree
    opt = make_opt(root, ann, sample_t_stride=2, sample_duration=4)
    ds = datasets.get_training_set(opt)
    random.seed(0)
    idx = ds.temporal_transform(ds.samples[1]['frame_indices'])
    assert len(idx) == 4 and all(b - a == 2 for a, b in zip(idx, idx[1:]))
    assert ds[1][0].shape == (3, 4, 16, 16)
    val = datasets.get_validation_set(opt)
    assert all(len(val.temporal_transform(s['frame_indices'])) == 4 for s in val.samples)


def test_n_frames_sources(tmp_path):
    root = str(tmp_path / 'jpg')
    d1 = write_frame_folder(root, 'ClassA', 'seg', 20)
    d2 = write_frame_folder(root, 'ClassA', 'file', 20)
    with open(os.path.join(d2, 'n_frames'), 'w') as f:
        f.write('12')  # the n_frames file wins over counting
    write_frame_folder(root, 'ClassB', 'count', 7)
    ann = write_annotation(tmp_path / 'a.json', LABELS, {
        'seg': annotation_entry('training', 'ClassA', segment=[1, 11]),
        'file': annotation_entry('training', 'ClassA', segment=[1, 21]),
        'count': annotation_entry('training', 'ClassB')})
    ds = datasets.get_training_set(make_opt(root, ann))
    assert [s['n_frames'] for s in ds.samples] == [10, 12, 7]
    assert ds.samples[0]['frame_indices'] == list(range(1, 11))
    assert d1 in ds.video_paths


@pytest.mark.parametrize('loader', datasets.CLIP_LOADERS)
def test_missing_frame_names_the_file(tree, loader):
    root, ann, _ = tree
    missing = os.path.join(root, 'ClassB', 'v_b2', 'image_00005.jpg')
    os.remove(missing)
    ds = datasets.get_test_set(make_opt(root, ann, loader=loader))
    with pytest.raises(FileNotFoundError) as e:
        ds[0]
    assert str(e.value) == 'missing frame: {} (frame 5 of video folder {})'.format(
        missing, os.path.dirname(missing))
    ds[1]  # frames 17..20 are fine


@pytest.mark.parametrize('loader', datasets.CLIP_LOADERS)
def test_corrupt_frame_names_the_file(tree, loader):
    root, ann, _ = tree
    bad = os.path.join(root, 'ClassB', 'v_b2', 'image_00003.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    ds = datasets.get_test_set(make_opt(root, ann, loader=loader))
    with pytest.raises(OSError, match='image_00003.jpg'):
        ds[0]


def test_empty_folder_is_an_error(tree):
    root, ann, _ = tree
    d = os.path.join(root, 'ClassA', 'v_a3')
    for name in os.listdir(d):
        os.remove(os.path.join(d, name))
    with pytest.raises(FileNotFoundError) as e:
        datasets.get_validation_set(make_opt(root, ann))
    assert d in str(e.value) and 'no frames' in str(e.value)
    # n_frames file saying 0 as well
    with open(os.path.join(d, 'n_frames'), 'w') as f:
        f.write('0')
    with pytest.raises(FileNotFoundError, match='v_a3'):
        datasets.get_validation_set(make_opt(root, ann))


def test_missing_folder_error_and_allow_missing(tree):
    root, ann, tmp_path = tree
    db = json.load(open(ann))['database']
    db['v_gone'] = annotation_entry('training', 'ClassB')
    db['v_gone2'] = annotation_entry('training', 'ClassA')
    ann2 = write_annotation(tmp_path / 'b.json', LABELS, db)
    with pytest.raises(FileNotFoundError) as e:
        datasets.get_training_set(make_opt(root, ann2))
    assert os.path.join(root, 'ClassB', 'v_gone') in str(e.value)
    ds = datasets.get_training_set(make_opt(root, ann2, allow_missing=True))
    assert len(ds.missing_videos) == 2 and len(ds) == 3
    assert os.path.join(root, 'ClassA', 'v_gone2') in ds.missing_videos
    assert 'v_gone' not in ds.video_ids
    # all missing -> still an error
    with pytest.raises(FileNotFoundError, match='none of the'):
        datasets.get_training_set(make_opt(str(tmp_path), ann2, allow_missing=True))


def test_unknown_label_names_the_annotation(tree):
    root, ann, tmp_path = tree
    db = json.load(open(ann))['database']
    db['v_a1'] = annotation_entry('training', 'Biking')
    ann2 = write_annotation(tmp_path / 'c.json', LABELS, db)
    with pytest.raises(ValueError) as e:
        datasets.get_training_set(make_opt(root, ann2))
    assert str(ann2) in str(e.value) and 'Biking' in str(e.value)


def test_load_annotation_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        datasets.load_annotation(tmp_path / 'nope.json')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"labels": [')
    with pytest.raises(ValueError, match='bad.json.*not valid JSON'):
        datasets.load_annotation(bad)
    nokeys = tmp_path / 'nokeys.json'
    nokeys.write_text('{"labels": []}')
    with pytest.raises(ValueError, match="nokeys.json.*'database'"):
        datasets.load_annotation(nokeys)
    nolabels = tmp_path / 'nolabels.json'
    nolabels.write_text('{"database": {}}')
    with pytest.raises(ValueError, match="nolabels.json.*'labels'"):
        datasets.load_annotation(nolabels)
    ok = tmp_path / 'ok.json'
    ok.write_text('{"labels": ["a"], "database": {}}')
    assert datasets.load_annotation(ok)['labels'] == ['a']


def test_empty_subset_is_an_error(tree):
    root, ann, _ = tree
    with pytest.raises(ValueError, match="no videos of subset 'testing'"):
        datasets.get_test_set(make_opt(root, ann, test_subset='test'))


def test_kinetics_testing_layout(tmp_path):
    root = str(tmp_path / 'jpg')
    write_frame_folder(root, 'test', 'abc_000010_000020', 18)
    write_frame_folder(root, 'ClassA', 'xyz_000000_000010', 18)
    ann = write_annotation(tmp_path / 'k.json', LABELS, {
        'abc_000010_000020': {'subset': 'testing', 'annotations': {}},
        'xyz_000000_000010': annotation_entry('training', 'ClassA')})
    ds = datasets.get_test_set(make_opt(root, ann, dataset='kinetics', test_subset='test'))
    assert ds.video_ids == ['abc_000010_000020'] and ds.video_labels == [-1]
    assert ds.video_paths == [os.path.join(root, 'test', 'abc_000010_000020')]
    assert ds[0][0].shape == (3, 16, 16, 16) and ds[0][1] == 0


@pytest.mark.parametrize('loader,dtype', [('fast', paddle.uint8), ('pil', paddle.uint8)])
def test_dataloader_batches(tree, loader, dtype):
    root, ann, _ = tree
    ds = datasets.get_validation_set(make_opt(root, ann, sample_duration=8, loader=loader))
    loader = paddle.io.DataLoader(ds, batch_size=4, shuffle=False, num_workers=0, drop_last=False)
    shapes = []
    for clips, targets in loader:
        assert clips.dtype == dtype and targets.dtype == paddle.int64
        shapes.append((tuple(clips.shape), tuple(targets.shape)))
    n = len(ds)
    assert shapes[0] == ((4, 3, 8, 16, 16), (4,))
    assert sum(s[0][0] for s in shapes) == n


def test_truncated_video_fails_at_construction(tree):
    root, ann, _ = tree
    d = os.path.join(root, 'ClassA', 'v_a2')
    with open(os.path.join(d, 'n_frames'), 'w') as f:
        f.write('35')  # only 30 frames on disk
    with pytest.raises(FileNotFoundError) as e:
        datasets.get_training_set(make_opt(root, ann))
    assert os.path.join(d, 'image_00035.jpg') in str(e.value)
    ds = datasets.get_training_set(make_opt(root, ann, allow_missing=True))
    assert ds.missing_videos == [d] and ds.video_ids == ['v_a1', 'v_b1']


def test_sliding_stride_and_dataset_repr(tree):
    root, ann, _ = tree
    ds = datasets.get_test_set(make_opt(root, ann, inference_stride=8))
    # 20 frames: starts 1, 9, 17; 30 frames: starts 1, 9, 17, 25
    assert ds.n_clips_per_video == [3, 4]
    assert 'videos=2' in repr(ds)


def test_activitynet_segments(tmp_path):
    root = str(tmp_path / 'jpg')
    d = write_frame_folder(root, None, 'v_vid1', 40)
    with open(os.path.join(d, 'fps'), 'w') as f:
        f.write('10')
    db = {'vid1': {'subset': 'training', 'annotations': [
        {'segment': [0.0, 2.0], 'label': 'ClassA'}, {'segment': [2.5, 3.9], 'label': 'ClassB'}]}}
    ann = write_annotation(tmp_path / 'anet.json', LABELS, db)
    ds = datasets.get_training_set(make_opt(root, ann, dataset='activitynet'))
    assert [(s['label'], s['segment']) for s in ds.samples] == [(0, [1, 20]), (1, [25, 39])]
    assert ds[1][0].shape == (3, 16, 16, 16)
    te = datasets.get_test_set(make_opt(root, ann, dataset='activitynet', test_subset='train'))
    assert te.video_ids == ['vid1'] and te.n_clips_per_video == [3]  # untrimmed: 40 frames
