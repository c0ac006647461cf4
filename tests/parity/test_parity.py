"""Isolated parity checks against the reference's training (PyTorch side:
benchmarks/parity/torch_reference_training.py and benchmarks/parity/torch_reference_models.py), one per place where a
systematic difference could make our training learn differently (docs/PARITY.md):

* the tensor a training clip becomes (same frames, same temporal/scale/position draws);
* initialisation statistics (Kaiming-normal fan_out convs, BN 1/0, nn.Linear's uniform);
* a few SGD steps from identical weights on identical batches: loss, weights, BN running stats;
* temporal sampling (training crop, test windows) and the loss reduction;
* validation during training leaves the training itself unchanged;
* benchmarks/parity/harness.py end to end on a tiny dataset.
"""
import json
import os
import random
import re
from argparse import Namespace

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

import datasets
import models
from datasets.temporal_transforms import LoopPadding, TemporalRandomCrop, sliding_windows
from tests.fixtures import make_frame_dataset, run, tiny_run_args, write_jpeg_dataset
from utils.convert_torch_checkpoint import convert_state_dict

if os.environ.get('REQUIRE_TORCH', '') not in ('', '0'):
    import torch
else:
    torch = pytest.importorskip('torch')

from benchmarks.parity import checks as parity_checks  # noqa: E402 - imports torch
from benchmarks.parity import torch_reference_models as trm  # noqa: E402
from benchmarks.parity import torch_reference_training as ref  # noqa: E402

KINETICS = dict(value_scale=1, mean_dataset='kinetics', std_norm=True)


@pytest.fixture(scope='module')
def frames(tmp_path_factory):
    """2 classes x 3 training videos of 12 textured 80 x 60 JPEG frames."""
    return write_jpeg_dataset(str(tmp_path_factory.mktemp('frames')), n_classes=2, n_train=3, n_val=1,
                              n_frames=12, width=80, height=60, quality=90)


def our_training_set(tree, loader, sample_size=32, sample_duration=8):
    video_path, annotation_path = tree
    opt = Namespace(video_path=video_path, annotation_path=annotation_path, loader=loader,
                    sample_size=sample_size, sample_duration=sample_duration, no_hflip=True,
                    norm_value=255.0, mean=ref.KINETICS_MEAN, std=ref.KINETICS_STD)
    return datasets.get_training_set(opt), opt


def reference_training_set(tree, sample_size=32, sample_duration=8):
    video_path, annotation_path = tree
    videos = ref.read_videos(video_path, annotation_path, 'training')
    transform = ref.Compose([ref.MultiScaleCornerCrop(sample_size, ref.multiscale_scales()),
                             ref.normalizer(Namespace(**KINETICS))])
    return ref.TrainingClips(videos, sample_duration, transform)


@pytest.mark.parametrize('loader', ['fast', 'pil'])
def test_training_clip_equals_reference_pipeline(frames, loader):
    """Where both pipelines cut the same box, the same values. The boxes differ by one pixel in two
    cases, both CVPR2018 (ours) vs 2020 reference: the scales (ours multiply by 0.84089641525,
    so the smallest is 0.49999999999 and int(60 x it) = 29, not 30) and the centre box of an odd side
    (ours [c - side // 2, c + side // 2), one pixel narrower)."""
    ours, opt = our_training_set(frames, loader)
    theirs = reference_training_set(frames)
    by_id = {video_id: i for i, (video_id, *_) in enumerate(theirs.videos)}
    normalize = datasets.input_normalizer(opt)
    same_box = other_box = 0
    for seed in range(40):
        index = seed % len(ours)
        random.seed(seed)
        clip, label = ours[index]
        random.seed(seed)  # the same calls in the same order: temporal start, scale, position
        their_clip, their_label = theirs[by_id[ours.samples[index]['video_id']]]
        assert label == their_label
        clip = normalize(paddle.to_tensor(clip[None])).numpy()[0]
        box = ours.spatial_transform.transforms[0].crop_box(80, 60)
        their_box = theirs.spatial_transform.transforms[0].crop_box(80, 60)
        if box != their_box:
            assert max(abs(a - b) for a, b in zip(box, their_box)) == 1, (box, their_box)
            other_box += 1
            continue
        np.testing.assert_allclose(clip, their_clip.numpy(), rtol=0, atol=2e-6)
        same_box += 1
    assert same_box >= 20 and other_box >= 1


def test_fast_draft_differs_from_reference_pixels(frames):
    draft, opt = our_training_set(frames, 'fast_draft', sample_size=16)
    exact, _ = our_training_set(frames, 'fast', sample_size=16)
    diffs = []
    for seed in range(10):
        random.seed(seed)
        a, _ = draft[seed % len(draft)]
        random.seed(seed)
        b, _ = exact[seed % len(exact)]
        diffs.append(np.abs(a.astype(np.float32) - b).mean())
    assert max(diffs) > 0  # a 16-pixel output from 60-row frames is decoded at reduced size


def test_initialisation_statistics_match_reference():
    with paddle.utils.unique_name.guard():
        ours = models.generate_model(dict(model='resnet', model_depth=10, n_classes=6, resnet_widen_factor=0.5))
    theirs = ref.reference_init_(trm.build('resnet', 10, n_classes=6, resnet_widen_factor=0.5))
    their_params = dict(theirs.named_parameters())
    checked = 0
    for name, p in ours.named_parameters():
        if name.endswith(('._mean', '._variance')):
            continue  # running statistics: Paddle keeps them as parameters, torch as buffers
        w = p.numpy()
        t = their_params[name].detach().numpy()
        if name.endswith('fc.weight'):
            bound = 1 / np.sqrt(w.shape[0])  # [in, out] here, [out, in] in torch
            assert np.abs(w).max() <= bound and np.abs(t).max() <= bound
            assert abs(w.std() - bound / np.sqrt(3)) < 0.15 * bound
        elif name.endswith('fc.bias'):
            assert np.abs(w).max() <= 1 / np.sqrt(ours.fc.weight.shape[0])
        elif w.ndim == 5:
            expected = np.sqrt(2.0 / (w.shape[0] * np.prod(w.shape[2:])))  # kaiming fan_out, relu
            # the sample std of n normal draws is within a few sqrt(1 / 2n) of the truth
            tolerance = 5 * expected / np.sqrt(2 * w.size)
            assert abs(w.std() - expected) < tolerance, name
            assert abs(t.std() - expected) < tolerance, name
            assert abs(w.mean()) < 5 * expected / np.sqrt(w.size), name
        else:  # BN
            value = 1.0 if name.endswith('weight') else 0.0
            assert np.all(w == value) and np.all(t == value), name
        checked += 1
    assert checked == len(their_params)


def paired_models(shortcut='B'):
    torch.manual_seed(0)
    theirs = trm.build('resnet', 10, n_classes=6, resnet_shortcut=shortcut, resnet_widen_factor=0.25)
    with paddle.utils.unique_name.guard():
        ours = models.generate_model(dict(model='resnet', model_depth=10, n_classes=6, resnet_shortcut=shortcut,
                                          resnet_widen_factor=0.25))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.set_state_dict({k: paddle.to_tensor(v) for k, v in convert_state_dict(state, ours).items()})
    return ours, theirs


@pytest.mark.parametrize('shortcut,dampening', [('B', 0.0), ('A', 0.9)])
def test_sgd_steps_match_reference(shortcut, dampening):
    """Loss, every weight and the BN running statistics after several steps on varying batches
    (the last one of 2 clips, as an epoch's remainder): the BN running variance must be updated with
    the unbiased batch variance, as PyTorch does."""
    ours, theirs = paired_models(shortcut)
    before = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    rng = np.random.RandomState(0)
    # the recipe's clips: >= 8 values per BN channel
    batches = ((rng.randn(batch, 3, 8, 48, 48).astype('float32'), rng.randint(0, 6, batch)) for batch in (4, 4, 2))
    rows = parity_checks.trajectory(ours, theirs, batches, steps=3, learning_rate=0.05, momentum=0.9,
                                    dampening=dampening, weight_decay=1e-3)
    for row in rows:
        assert abs(row['loss_ours'] - row['loss_theirs']) < 1e-4 * max(1.0, abs(row['loss_theirs'])), row
    expected = convert_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()}, ours)
    for name, value in ours.state_dict().items():
        # float32 rounding grows over the steps (measured: < 1 % of each tensor's change); a missing
        # weight decay, dampening or variance correction changes the update by far more
        update, reference_update = value.numpy() - before[name], expected[name] - before[name]
        error = np.linalg.norm(update - reference_update) / np.linalg.norm(reference_update)
        assert error < 0.02, (name, error)


def test_float64_training_steps_equal_reference_to_rounding():
    """In float64 an implementation difference cannot hide in rounding: from identical weights on identical
    batches the losses agree to ~1e-9 and every learned parameter to ~1e-8 of its largest value over
    several steps (measured 2e-11, 1.5e-8, 2.6e-8), against up to 2 % in float32
    (test_sgd_steps_match_reference). What remains is Paddle's kernels holding momenta as float32: SGD's 0.9
    is applied as 0.899999976 (a ~1e-8 drift per step) and BN's 0.1 as 0.1 + 2.4e-9 (2.4e-7 in the running
    statistics). A missing weight decay would show as lr x wd = 3e-6 of every weight per step, the biased
    running variance as percents."""
    try:
        rows = parity_checks.trajectory(*parity_checks.paired_models('float64', 0.25, 6),
                                        parity_checks.random_batches('float64', 6, 32, 8, batch_size=4), steps=4)
    finally:
        paddle.set_default_dtype('float32')
        torch.set_default_dtype(torch.float32)
    for row in rows:
        assert abs(row['loss_ours'] - row['loss_theirs']) < 1e-7, row
        assert row['weight_error'] < 1e-6, row
        assert row['statistics_error'] < 1e-6, row


def test_loader_draws_are_fresh_every_epoch_and_worker(tmp_path):
    """main.py's training loader with 2 workers, reseeded per epoch: every scale and position is drawn,
    each worker process draws its own stream, no video repeats one draw in every epoch."""
    root = tmp_path / 'data'
    make_frame_dataset(root, n_train=4, n_val=1, n_frames=16)
    recorder = parity_checks.DrawRecorder(str(tmp_path))
    parity_checks.our_draws(str(root), 6, 1, recorder, ['--sample_size', '16'])
    records = recorder.read()
    stats = parity_checks.draw_statistics(records)
    assert stats['n'] == 6 * 12 and stats['processes'] == 6 * 2
    assert len(stats['scales']) == 5 and len(stats['positions']) == 5
    assert stats['videos_repeating_one_draw'] == 0
    streams = {}
    for r in records:
        streams.setdefault(r['process'], []).append((r['begin'], r['scale'], r['position']))
    assert len({tuple(s) for s in streams.values()}) == len(streams)


def test_batch_norm_running_variance_is_unbiased():
    layer = models._common.batch_norm(2)
    layer.train()
    x = np.random.RandomState(1).randn(3, 2, 1, 2, 2).astype('float32')  # n = 12 values per channel
    layer(paddle.to_tensor(x))
    unbiased = x.transpose(1, 0, 2, 3, 4).reshape(2, -1).var(axis=1, ddof=1)
    np.testing.assert_allclose(layer._variance.numpy(), 0.9 * 1 + 0.1 * unbiased, rtol=1e-5)
    np.testing.assert_allclose(layer._mean.numpy(), 0.1 * x.mean(axis=(0, 2, 3, 4)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('n_frames', [3, 8, 9, 10, 23, 40])
def test_temporal_random_crop_matches_reference(n_frames):
    indices = list(range(1, n_frames + 1))
    for seed in range(30):
        random.seed(seed)
        ours = TemporalRandomCrop(8)(indices)
        random.seed(seed)
        assert ours == ref.temporal_random_crop(indices, 8)


@pytest.mark.parametrize('n_frames', range(1, 30))
def test_test_windows_match_reference_sliding_window(n_frames):
    """Non-overlapping test windows. CVPR2018 (ours) starts a window at every frame but the last,
    the 2020 reference at every frame: where the last frame starts a window (n = 1 mod 8), the 2020
    reference adds a one-frame clip (padded to 8 copies) that ours does not."""
    indices = list(range(1, n_frames + 1))
    ours = [LoopPadding(8)(w) for w in sliding_windows(indices, 8)]
    theirs = ref.sliding_window(indices, 8, 8)
    if n_frames % 8 == 1 and n_frames > 1:
        assert theirs[:-1] == ours and theirs[-1] == [n_frames] * 8
    else:
        assert ours == theirs


def test_loss_is_the_batch_mean_cross_entropy():
    rng = np.random.RandomState(2)
    logits, targets = rng.randn(5, 6).astype('float32'), rng.randint(0, 6, 5)
    ours = F.cross_entropy(paddle.to_tensor(logits), paddle.to_tensor(targets)).item()
    theirs = torch.nn.CrossEntropyLoss()(torch.from_numpy(logits), torch.from_numpy(targets)).item()
    assert abs(ours - theirs) < 1e-6


def test_validation_does_not_change_training(tmp_path):
    root = tmp_path / 'data'
    make_frame_dataset(root)
    states = {}
    for name, extra in (('with_val', []), ('no_val', ['--no_val'])):
        result = tmp_path / name
        proc = run('main.py', *tiny_run_args(root, result, '--n_epochs', '2', *extra))
        assert proc.returncode == 0, proc.stderr[-2000:]
        states[name] = paddle.load(str(result / 'last.pdparams'))['state_dict']
    assert set(states['with_val']) == set(states['no_val'])
    for key, value in states['with_val'].items():
        np.testing.assert_array_equal(value.numpy(), states['no_val'][key].numpy(), err_msg=key)


def read_losses(path):
    """[epoch, loss, acc] rows of a train.log (ours prints 6 significant digits)."""
    with open(path) as f:
        return [[float(v) for v in line.split('\t')[:3]] for line in f.read().splitlines()[1:]]


def test_parity_script_end_to_end(tmp_path):
    """Both sides train a tiny recipe over two seeds; the summary holds every run's numbers, and
    parity_checks' swap (one side's loop, one side's loader) reproduces them with each side's own pair."""
    root = tmp_path / 'data'
    make_frame_dataset(root, n_train=4, n_val=1, n_frames=10)  # 12 clips: whole batches of 4
    with open(root / 'ucf101_01.json') as f:
        n_classes = len(json.load(f)['labels'])
    work = tmp_path / 'runs'
    tiny_recipe = ['--n_classes', n_classes, '--widen_factor', '0.125', '--sample_size', '16', '--sample_duration',
                   '4', '--batch_size', '4', '--milestones', '1', '--n_epochs', '2', '--n_threads', '0']
    proc = run('benchmarks/parity/harness.py', '--data_dir', root, '--work_dir', work, '--seeds', '1', '2', *tiny_recipe)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert 'paddle - torch over 2 seeds: late loss' in proc.stdout
    with open(work / 'default' / 'summary.json') as f:
        summary = json.load(f)
    for side in ('torch', 'paddle'):
        for seed in ('1', '2'):
            loss, top1 = summary['results'][side][seed]
            assert 0 < loss < 5 and 0 <= top1 <= 1
    assert (work / 'torch' / 'seed1' / 'train.log').is_file()
    assert (work / 'default' / 'seed2' / 'train' / 'last.pdparams').is_file()
    # a second call reuses the finished runs
    finished = sorted(work.glob('*/seed*/seconds.txt'))
    assert len(finished) == 4
    stamps = [p.stat().st_mtime_ns for p in finished]
    for side, loop_and_loader in (('torch', ['--loop', 'torch', '--loader', 'torch']),
                                  ('default', ['--loop', 'ours', '--loader', 'ours'])):
        # the swap check's same-side runs are the harness's runs: every logged digit equal
        swap = run('benchmarks/parity/checks.py', 'swap', '--data_dir', root, *loop_and_loader, '--seed', '1',
                   '--result_path', tmp_path / side, '--', *tiny_recipe)
        assert swap.returncode == 0, swap.stderr[-3000:]
        harness_log = work / side / 'seed1' / ('train.log' if side == 'torch' else 'train/train.log')
        swapped, harness = read_losses(tmp_path / side / 'train.log'), read_losses(harness_log)
        assert len(swapped) == len(harness) == 2
        for row, expected in zip(swapped, harness):
            assert row == pytest.approx(expected, rel=1e-5, abs=1e-9)
    crossed = tmp_path / 'swap' / 'loop_torch-loader_ours' / 'seed1'
    swap = run('benchmarks/parity/checks.py', 'swap', '--data_dir', root, '--loop', 'torch', '--loader', 'ours',
               '--seed', '1', '--result_path', crossed, '--', *tiny_recipe)
    assert swap.returncode == 0, swap.stderr[-3000:]
    table = run('benchmarks/parity/checks.py', 'swap_table', '--work_dir', work, '--swap_dir', tmp_path / 'swap', '--',
                *tiny_recipe)
    assert table.returncode == 0, table.stderr[-3000:]
    cells = {tuple(line.split(' | ')[:3]) for line in table.stdout.splitlines()[2:]}
    assert cells == {('| torch', 'torch', '2'), ('| torch', 'ours', '1'), ('| ours', 'ours', '2')}
    losses = run('benchmarks/parity/checks.py', 'loader_loss', '--data_dir', root, '--checkpoint',
                 work / 'default' / 'seed1' / 'train' / 'last.pdparams', '--epochs', '1', '--', *tiny_recipe)
    assert losses.returncode == 0, losses.stderr[-3000:]
    assert re.search(r'^ours loader: 12 clips, mean loss \d', losses.stdout, re.M)
    assert re.search(r'^torch loader: 12 clips, mean loss \d', losses.stdout, re.M)
    again = run('benchmarks/parity/harness.py', '--data_dir', root, '--work_dir', work, '--seeds', '1', '2', *tiny_recipe)
    assert again.returncode == proc.returncode and again.stdout == proc.stdout
    assert [p.stat().st_mtime_ns for p in finished] == stamps
