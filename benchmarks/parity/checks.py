"""Diagnostics behind docs/PARITY.md, comparing our training with the PyTorch side
(benchmarks/parity/torch_reference_training.py) where the seed-level harness (benchmarks/parity/harness.py) cannot:

    python -m benchmarks.parity.checks draws --data_dir data/parity --epochs 10
    python -m benchmarks.parity.checks trajectory --data_dir data/parity --steps 40 --dtype float64
    python -m benchmarks.parity.checks swap --data_dir data/parity --loop torch --loader ours --seed 1 \
        --result_path results/swap/loop_torch-loader_ours/seed1
    python -m benchmarks.parity.checks swap_table --work_dir results/parity --swap_dir results/swap
    python -m benchmarks.parity.checks loader_loss --data_dir data/parity --checkpoint results/parity/default/seed1/train/last.pdparams

* ``draws``: both sides' real training loaders (ours: the DataLoader main.py builds, reseeded per
  epoch as main.py does; the PyTorch side's: its DataLoader and worker seeding) run for some epochs with
  2 workers, recording every clip's temporal start, crop scale and crop position. Prints the counts per
  side, chi-square statistics against uniform draws and between the sides, and how often a video
  gets the same draw in every epoch (a reseeding bug would make that common).
* ``trajectory``: the same model (the PyTorch side's initial weights converted into ours) trained on
  the same batches by both sides, step by step, in float32 or float64; prints the loss difference and
  the largest relative parameter difference. In float64 an implementation difference shows at once,
  rounding only after many steps.

* ``swap``: one training run of the parity recipe with the training loop of one side (model, init,
  SGD, schedule, loss) fed by the training loader of the other (or the same) side; writes
  ``train.log`` (``epoch loss acc lr``, as both sides do). Over seeds, loop x loader tells whether a
  difference between the sides' training curves comes from the data or from the training.
  ``swap_table`` prints the four cells' late-training loss over the finished runs (a side's own pair:
  benchmarks/parity/harness.py's runs).
* ``loader_loss``: one trained checkpoint of ours on fresh batches of both sides' loaders (training
  mode, no updates): if one loader's clips were easier to fit, its mean loss would be lower.

PyTorch is needed (scripts/test.sh installs the CPU build). ``--data_dir`` is benchmarks/parity/harness.py's
dataset (built by it); ``trajectory`` can also run on random batches (``--random_batches``).
"""
import argparse
import collections
import glob
import os
import random
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.preload import before_paddle  # noqa: E402

before_paddle()
# Paddle loads its OpenMP runtime before PyTorch does: the other way round, with OMP_NUM_THREADS=1 inherited (as
# from any parent that imported Paddle, e.g. pytest), the static training graph's oneDNN kernels take another
# thread count than in main.py and round differently. Importing Paddle sets OMP_NUM_THREADS when unset; PyTorch
# then sees the environment benchmarks/parity/torch_reference_training.py sees.
_inherited_omp_threads = os.environ.get('OMP_NUM_THREADS')
import paddle  # noqa: E402,F401
if _inherited_omp_threads is None:
    os.environ.pop('OMP_NUM_THREADS', None)
import torch  # noqa: E402

from benchmarks.parity import torch_reference_training as ref  # noqa: E402


# ------------------------------------------------------------------------------------------ draws
class DrawRecorder:
    """Appends 'epoch video n_frames begin scale position' lines to one file per process under ``folder``
    (DataLoader workers are separate processes)."""

    def __init__(self, folder):
        self.folder = folder

    def write(self, *values):
        with open(os.path.join(self.folder, f'{os.getpid()}.txt'), 'a') as f:
            f.write(' '.join(map(str, values)) + '\n')

    def read(self):
        records = []
        for path in sorted(glob.glob(os.path.join(self.folder, '*.txt'))):
            with open(path) as f:
                for line in f:
                    epoch, video, n, begin, scale, position = line.split()
                    records.append(dict(epoch=int(epoch), video=video, n=int(n), begin=int(begin),
                                        scale=round(float(scale), 3), position=position, process=path))
        return records


def draw_options(data_dir, seed, recorder, recipe_args):
    """swap_options for the draws checks: the harness's recipe, with the dataset's own class count."""
    classes = ['--n_classes', str(n_classes(os.path.join(data_dir, 'ucf101_01.json')))]
    return swap_options(data_dir, seed, recorder.folder, classes + list(recipe_args))


def our_draws(data_dir, epochs, seed, recorder, recipe_args=()):
    """Every training clip's draws through the loader main.py builds for the harness's recipe (``recipe_args``:
    benchmarks/parity/harness.py's recipe flags)."""
    from engine import training
    from datasets import spatial_transforms, temporal_transforms

    config = draw_options(data_dir, seed, recorder, recipe_args)[0]
    import datasets
    dataset = datasets.get_training_set(config.data)
    state = {}
    crop, draw = temporal_transforms.TemporalRandomCrop.__call__, spatial_transforms.MultiScaleCornerCrop.randomize_parameters

    def recording_crop(self, indices):
        indices = list(indices)
        out = crop(self, indices)
        state['temporal'] = (len(indices), indices.index(out[0]))
        return out

    def recording_draw(self):
        draw(self)
        recorder.write(state['epoch'], state['video'], *state['temporal'], self.scale, self.crop_position)

    get_item = type(dataset).__getitem__

    def recording_get_item(self, index):
        state['video'] = os.path.basename(self.samples[index]['video'])
        return get_item(self, index)

    temporal_transforms.TemporalRandomCrop.__call__ = recording_crop
    spatial_transforms.MultiScaleCornerCrop.randomize_parameters = recording_draw
    type(dataset).__getitem__ = recording_get_item
    try:
        loader = training.build_loader(dataset, config.data, config.train.batch_size, True, 0, 1)
        for epoch in range(1, epochs + 1):
            training.reseed(config.train.manual_seed, epoch, 0)
            state['epoch'] = epoch  # forked into the workers of this epoch
            for _ in loader:
                pass
    finally:
        temporal_transforms.TemporalRandomCrop.__call__ = crop
        spatial_transforms.MultiScaleCornerCrop.randomize_parameters = draw
        type(dataset).__getitem__ = get_item


def reference_draws(data_dir, epochs, seed, recorder, recipe_args=()):
    """The same through the PyTorch side's dataset, DataLoader and worker seeding."""
    opt = draw_options(data_dir, seed, recorder, recipe_args)[1]
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    state = {}

    class RecordingCrop(ref.MultiScaleCornerCrop):
        def randomize_parameters(self):
            super().randomize_parameters()
            recorder.write(state['epoch'], state['video'], *state['temporal'], self.scale, self.position)

    class RecordingClips(ref.TrainingClips):
        def __getitem__(self, index):
            state['video'] = os.path.basename(self.videos[index][1])
            return super().__getitem__(index)

    def recording_crop(indices, size):
        out = crop(indices, size)
        state['temporal'] = (len(indices), indices.index(out[0]))
        return out

    crop = ref.temporal_random_crop
    ref.temporal_random_crop = recording_crop  # looked up by TrainingClips at each call
    try:
        dataset = RecordingClips(ref.read_videos(opt.video_path, opt.annotation_path, 'training'), opt.sample_duration,
                                 ref.Compose([RecordingCrop(opt.sample_size, ref.multiscale_scales()), ToUint8Tensor()]))
        loader = torch.utils.data.DataLoader(dataset, batch_size=opt.batch_size, shuffle=True,
                                             num_workers=opt.n_threads, worker_init_fn=ref.worker_init_fn)
        for epoch in range(1, epochs + 1):
            state['epoch'] = epoch
            for _ in loader:
                pass
    finally:
        ref.temporal_random_crop = crop


class ToUint8Tensor:
    """The clip without normalisation: the draws are what is recorded."""

    def randomize_parameters(self):
        pass

    def __call__(self, img):
        return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def n_classes(annotation_path):
    import json
    with open(annotation_path) as f:
        return len(json.load(f)['labels'])


def chi_square(counts, expected):
    return sum((counts.get(k, 0) - e) ** 2 / e for k, e in expected.items() if e > 0)


def draw_statistics(records):
    """Counts of scales, positions and temporal-start deciles; chi-square against uniform draws; the share
    of videos drawn identically in every epoch; how many (scale, position) pairs a video gets over the epochs
    and how often a worker's consecutive clips share one (independent draws: 25 (1 - (24/25)^epochs) and
    1/25)."""
    n = len(records)
    scales = collections.Counter(r['scale'] for r in records)
    positions = collections.Counter(r['position'] for r in records)
    deciles = collections.Counter(min(9, int(10 * r['begin'] / max(1, r['n'] - 8))) for r in records
                                  if r['n'] > 9)
    per_video = collections.defaultdict(set)
    epochs = collections.defaultdict(int)
    for r in records:
        per_video[r['video']].add((r['begin'], r['scale'], r['position']))
        epochs[r['video']] += 1
    repeated = sum(1 for v, draws in per_video.items() if len(draws) == 1 and epochs[v] > 1)
    pairs_per_video = [len({(scale, position) for _, scale, position in draws}) for draws in per_video.values()]
    consecutive = [(a, b) for a, b in zip(records, records[1:])
                   if a['process'] == b['process'] and a['epoch'] == b['epoch']]
    same_as_previous = sum((a['scale'], a['position']) == (b['scale'], b['position']) for a, b in consecutive)
    return dict(n=n, scales=dict(sorted(scales.items())), positions=dict(sorted(positions.items())),
                start_deciles=dict(sorted(deciles.items())),
                chi2_scale=chi_square(scales, {k: n / 5 for k in scales}),
                chi2_position=chi_square(positions, {k: n / 5 for k in ('c', 'tl', 'tr', 'bl', 'br')}),
                videos=len(per_video), videos_repeating_one_draw=repeated,
                scale_position_pairs_per_video=sum(pairs_per_video) / len(pairs_per_video),
                consecutive_same_scale_position=same_as_previous / max(1, len(consecutive)),
                processes=len({r['process'] for r in records}))


def two_sample_chi_square(a, b):
    """Chi-square of a 2 x k contingency table (the two sides' counts of the same categories)."""
    keys = sorted(set(a) | set(b))
    total_a, total_b = sum(a.values()), sum(b.values())
    stat = 0.0
    for k in keys:
        column = a.get(k, 0) + b.get(k, 0)
        for counts, total in ((a, total_a), (b, total_b)):
            expected = column * total / (total_a + total_b)
            if expected:
                stat += (counts.get(k, 0) - expected) ** 2 / expected
    return stat, len(keys) - 1


def compare_draws(args):
    statistics = {}
    for side, collect in (('ours', our_draws), ('torch', reference_draws)):
        with tempfile.TemporaryDirectory() as folder:
            recorder = DrawRecorder(folder)
            collect(args.data_dir, args.epochs, args.seed, recorder)
            statistics[side] = draw_statistics(recorder.read())
    for side, s in statistics.items():
        print(f"{side}: {s['n']} clips from {s['processes']} worker processes, {s['videos']} videos")
        print(f"  scales {s['scales']}  chi2 vs uniform {s['chi2_scale']:.1f} (4 dof)")
        print(f"  positions {s['positions']}  chi2 vs uniform {s['chi2_position']:.1f} (4 dof)")
        print(f"  temporal start deciles {s['start_deciles']}")
        print(f"  videos drawn identically in all {args.epochs} epochs: {s['videos_repeating_one_draw']}")
        print(f"  (scale, position) pairs per video over the epochs: {s['scale_position_pairs_per_video']:.2f} "
              f"(independent draws: {25 * (1 - (24 / 25) ** args.epochs):.2f}); a worker's consecutive clips "
              f"sharing one: {s['consecutive_same_scale_position']:.3f} (0.040)")
    for key in ('scales', 'positions', 'start_deciles'):
        stat, dof = two_sample_chi_square(statistics['ours'][key], statistics['torch'][key])
        print(f'ours vs torch, {key}: chi2 {stat:.1f} ({dof} dof)')
    return statistics


# ------------------------------------------------------------------------------------- trajectory
def paired_models(dtype, widen_factor, n_classes_, seed=0):
    """(ours, theirs): the PyTorch side's initial weights (reference init) converted into our model."""
    import paddle
    import models
    from utils.convert_torch_checkpoint import convert_state_dict

    paddle.set_default_dtype(dtype)
    torch.set_default_dtype(getattr(torch, dtype))
    torch.manual_seed(seed)
    theirs = ref.reference_init_(ref.torch_reference_models.build(
        'resnet', 10, n_classes=n_classes_, resnet_shortcut='B', resnet_widen_factor=widen_factor))
    with paddle.utils.unique_name.guard():
        ours = models.generate_model(dict(model='resnet', model_depth=10, n_classes=n_classes_,
                                          resnet_shortcut='B', resnet_widen_factor=widen_factor))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.set_state_dict({k: paddle.to_tensor(v) for k, v in convert_state_dict(state, ours).items()})
    return ours, theirs


def random_batches(dtype, n_classes_, sample_size, sample_duration, batch_size=8, seed=0):
    rng = np.random.RandomState(seed)
    while True:
        yield (rng.randn(batch_size, 3, sample_duration, sample_size, sample_size).astype(dtype),
               rng.randint(0, n_classes_, batch_size))


def dataset_batches(data_dir, dtype, sample_size, sample_duration, batch_size=8, seed=0):
    """Training batches of the PyTorch side's pipeline (normalised clips), epoch after epoch."""
    random.seed(seed)
    torch.manual_seed(seed)
    opt = argparse.Namespace(value_scale=1, mean_dataset='kinetics', std_norm=True)
    transform = ref.Compose([ref.MultiScaleCornerCrop(sample_size, ref.multiscale_scales()), ref.normalizer(opt)])
    dataset = ref.TrainingClips(ref.read_videos(os.path.join(data_dir, 'jpg'), os.path.join(data_dir, 'ucf101_01.json'),
                                                'training'), sample_duration, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0)
    while True:
        for clips, targets in loader:
            yield clips.numpy().astype(dtype), targets.numpy()


def trajectory(ours, theirs, batches, steps, learning_rate=0.003, momentum=0.9, dampening=0.0, weight_decay=1e-3,
               report=None):
    """Train both models on the same batches; [{step, loss_ours, loss_theirs, weight_error, worst,
    statistics_error}] after each step: the largest relative difference (max |diff| / max |value|) over the
    learned parameters (naming the worst) and over the BN running statistics."""
    import paddle
    import paddle.nn.functional as F
    import torch.nn.functional as TF
    from engine.optim import PyTorchSGD
    from utils.convert_torch_checkpoint import convert_state_dict

    ours.train()
    theirs.train()
    ours_sgd = PyTorchSGD(ours.parameters(), learning_rate, momentum, dampening, weight_decay, False)
    their_sgd = torch.optim.SGD(theirs.parameters(), lr=learning_rate, momentum=momentum, dampening=dampening,
                                weight_decay=weight_decay)
    rows = []
    for step in range(1, steps + 1):
        clips, targets = next(batches)
        their_loss = TF.cross_entropy(theirs(torch.from_numpy(clips)), torch.from_numpy(targets))
        their_sgd.zero_grad()
        their_loss.backward()
        their_sgd.step()
        our_loss = F.cross_entropy(ours(paddle.to_tensor(clips)), paddle.to_tensor(targets))
        our_loss.backward()
        ours_sgd.step()
        ours_sgd.clear_grad()
        expected = convert_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()}, ours)
        errors = {name: float(np.abs(value.numpy() - expected[name]).max() / (np.abs(expected[name]).max() + 1e-30))
                  for name, value in ours.state_dict().items()}
        learned = {k: v for k, v in errors.items() if not k.endswith(('._mean', '._variance'))}
        worst = max(learned, key=learned.get)
        rows.append(dict(step=step, loss_ours=our_loss.item(), loss_theirs=their_loss.item(),
                         weight_error=learned[worst], worst=worst,
                         statistics_error=max(v for k, v in errors.items() if k not in learned)))
        if report:
            report(rows[-1])
    return rows


# ------------------------------------------------------------------------------------------- swap
def swap_options(data_dir, seed, result_path, recipe_args=()):
    """(our Config, the PyTorch side's options) for one seed: the flags benchmarks/parity/harness.py gives main.py and
    benchmarks/parity/torch_reference_training.py, with ``recipe_args`` (parity.py's recipe flags, e.g. --n_epochs 2)."""
    import opts
    from benchmarks.parity import harness as parity

    recipe = parity.parse_args(list(recipe_args))
    main_command = parity.paddle_commands(recipe, data_dir, result_path, seed)[0]
    torch_command = parity.torch_commands(recipe, data_dir, result_path, seed)[0]
    ours = opts.parse_main(main_command[main_command.index('main.py') + 1:])[0]
    theirs = ref.parse_args(torch_command[torch_command.index('benchmarks.parity.torch_reference_training') + 1:])
    return ours, theirs


def our_loader(config):
    """epoch -> normalised float32 batches of main.py's training loader, reseeded per epoch as main.py
    reseeds it."""
    import datasets
    from engine import training

    loader = training.build_loader(datasets.get_training_set(config.data), config.data, config.train.batch_size,
                                   True, 0, 1)
    normalize = datasets.input_normalizer(config.data, config.model.data_format)

    def epoch_batches(epoch):
        training.reseed(config.train.manual_seed, epoch, 0)
        for clips, targets in training.checked(loader, loader):
            yield normalize(clips).numpy(), targets.numpy()

    return epoch_batches


def reference_loader(opt, own_generator=False):
    """The same from the PyTorch side's dataset, transforms, DataLoader and worker seeding. The reference
    draws the shuffle and worker seeds from torch's global generator, the one that also initialises its
    model; ``own_generator`` gives the DataLoader a generator of its own (seeded --manual_seed) instead."""
    random.seed(opt.manual_seed)
    np.random.seed(opt.manual_seed)
    torch.manual_seed(opt.manual_seed)  # the PyTorch loop seeds again before its model, as ref.run does
    generator = torch.Generator().manual_seed(opt.manual_seed) if own_generator else None
    transform = ref.Compose([ref.MultiScaleCornerCrop(opt.sample_size, ref.multiscale_scales()), ref.normalizer(opt)])
    dataset = ref.TrainingClips(ref.read_videos(opt.video_path, opt.annotation_path, 'training'),
                                opt.sample_duration, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=opt.batch_size, shuffle=True, num_workers=opt.n_threads,
                                         worker_init_fn=ref.worker_init_fn, generator=generator)

    def epoch_batches(epoch):
        for clips, targets in loader:
            yield clips.numpy(), targets.numpy()

    return epoch_batches


def train_reference_loop(opt, epoch_batches, log):
    """The PyTorch side's model, initialisation, SGD, MultiStepLR and loss (ref.run's training)."""
    torch.manual_seed(opt.manual_seed)
    model = ref.build_model(opt)
    optimizer = torch.optim.SGD(model.parameters(), lr=opt.learning_rate, momentum=opt.momentum,
                                dampening=opt.dampening, weight_decay=opt.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, opt.multistep_milestones)
    criterion = torch.nn.CrossEntropyLoss()
    for epoch in range(1, opt.n_epochs + 1):
        lr = optimizer.param_groups[0]['lr']
        batches = ((torch.from_numpy(clips), torch.from_numpy(targets)) for clips, targets in epoch_batches(epoch))
        loss, acc = ref.train_epoch(model, batches, criterion, optimizer)
        scheduler.step()
        log(epoch, loss, acc, lr)


def train_our_loop(config, epoch_batches, log):
    """Our model, initialisation, PyTorchSGD, schedule and loss, as engine.training's fit runs them."""
    import paddle
    from engine import training

    setup = training.set_up(config)
    state = training.build_state(config, setup)
    for epoch in range(1, config.train.n_epochs + 1):
        training.reseed(config.train.manual_seed, epoch, 0)
        state.train_step.train()  # in the graph --train_graph chooses, as main.py trains
        lr = state.optimizer.get_lr()
        loss_sum = correct = count = 0.0
        for clips, targets in epoch_batches(epoch):
            outputs, loss_value = training.train_step(state.train_step, paddle.to_tensor(clips),
                                                      paddle.to_tensor(targets))
            training.apply_update(state.optimizer, None)
            n = len(targets)
            loss_sum, count = loss_sum + loss_value * n, count + n
            correct += int((outputs.argmax(axis=1).numpy() == targets).sum())
        training.step_scheduler(state.scheduler, None)
        log(epoch, loss_sum / count, correct / count, lr)


def swap(args):
    ours, theirs = swap_options(args.data_dir, args.seed, args.result_path, args.recipe)
    os.makedirs(args.result_path, exist_ok=True)
    epoch_batches = (our_loader(ours) if args.loader == 'ours' else
                     reference_loader(theirs, own_generator=args.loader == 'torch_generator'))
    with open(os.path.join(args.result_path, 'train.log'), 'w') as f:
        f.write('epoch\tloss\tacc\tlr\n')

        def log(epoch, loss, acc, lr):
            f.write(f'{epoch}\t{loss}\t{acc}\t{lr}\n')
            f.flush()
            print(f'epoch {epoch}/{ours.train.n_epochs} loss {loss:.4f} acc {acc:.4f} lr {lr:.3g}', flush=True)

        if args.loop == 'ours':
            train_our_loop(ours, epoch_batches, log)
        else:
            train_reference_loop(theirs, epoch_batches, log)


def loader_loss(args):
    """A trained checkpoint of ours, in training mode (batch statistics, as train.log's loss is measured), over
    --epochs epochs of fresh batches from each side's loader: mean per-clip loss and its standard error."""
    import paddle
    import paddle.nn.functional as F
    from engine import training
    from engine.checkpoint import checkpoint_state_dict, load_checkpoint

    ours, theirs = swap_options(args.data_dir, args.seed, os.path.dirname(args.checkpoint), args.recipe)
    model = training.build_model(ours.model)
    model.set_state_dict(checkpoint_state_dict(load_checkpoint(args.checkpoint), args.checkpoint))
    model.train()  # no update is made, so the running statistics it keeps do not matter
    results = {}
    for side, epoch_batches in (('ours', our_loader(ours)), ('torch', reference_loader(theirs))):
        losses = []
        with paddle.no_grad():
            for epoch in range(1, args.epochs + 1):
                for clips, targets in epoch_batches(1000 + epoch):  # epochs the run never drew
                    logits = model(paddle.to_tensor(clips))
                    losses += F.cross_entropy(logits, paddle.to_tensor(targets), reduction='none').numpy().ravel().tolist()
        losses = np.array(losses)
        results[side] = (losses.mean(), losses.std(ddof=1) / np.sqrt(len(losses)), len(losses))
        print(f'{side} loader: {len(losses)} clips, mean loss {results[side][0]:.4f} ± {results[side][1]:.4f} (SE)',
              flush=True)
    print(f"ours / torch: {results['ours'][0] / results['torch'][0]:.3f}")
    return results


SWAP_CELLS = (('torch', 'torch'), ('torch', 'ours'), ('ours', 'torch'), ('ours', 'ours'), ('torch', 'torch_generator'))


def swap_run_dirs(work_dir, swap_dir, loop, loader, label='default'):
    """seed -> run folder holding train.log: the harness's own runs for a side's own pair, swap runs else."""
    if (loop, loader) == ('torch', 'torch'):
        pattern, inner = os.path.join(work_dir, 'torch', 'seed*'), ''
    elif (loop, loader) == ('ours', 'ours'):
        pattern, inner = os.path.join(work_dir, label, 'seed*'), 'train'
    else:
        pattern, inner = os.path.join(swap_dir, f'loop_{loop}-loader_{loader}', 'seed*'), ''
    return {int(os.path.basename(d)[len('seed'):]): os.path.join(d, inner) for d in glob.glob(pattern)}


def swap_table(args):
    """Late-training loss (and epochs 5..first milestone) per loop x loader cell over the finished runs."""
    from benchmarks.parity import harness as parity

    recipe = parity.parse_args(list(args.recipe))
    first_milestone = recipe.milestones[0]
    rows = []
    for loop, loader in SWAP_CELLS:
        late, early = {}, {}
        for seed, run_dir in sorted(swap_run_dirs(args.work_dir, args.swap_dir, loop, loader).items()):
            path = os.path.join(run_dir, 'train.log')
            log = parity.read_train_log(path) if os.path.isfile(path) else []
            if len(log) < recipe.n_epochs:
                continue  # unfinished
            late[seed] = parity.late_loss(log, first_milestone)
            early[seed] = sum(r['loss'] for r in log if 5 <= r['epoch'] <= first_milestone) / (first_milestone - 4)
        if not late:
            continue
        (late_mean, late_sd), (early_mean, early_sd) = parity.spread(list(late.values())), parity.spread(list(early.values()))
        rows.append(f'| {loop} | {loader} | {len(late)} | {late_mean:.4f} ± {late_sd:.4f} | '
                    f'{early_mean:.4f} ± {early_sd:.4f} | ' + ' '.join(f'{s}: {v:.3f}' for s, v in late.items()) + ' |')
    print(f'| loop | loader | runs | late loss (epochs > {first_milestone}), mean ± sd | '
          f'loss, epochs 5-{first_milestone} | late loss by seed |')
    print('|---|---|---|---|---|---|')
    print('\n'.join(rows))


def compare_trajectory(args):
    ours, theirs = paired_models(args.dtype, args.widen_factor, args.n_classes)
    if args.random_batches:
        batches = random_batches(args.dtype, args.n_classes, args.sample_size, args.sample_duration)
    else:
        batches = dataset_batches(args.data_dir, args.dtype, args.sample_size, args.sample_duration)

    def report(row):
        print('step {step:4d}  loss ours {loss_ours:.10f}  torch {loss_theirs:.10f}  (diff {d:+.2e})  '
              'parameters max rel diff {weight_error:.2e} ({worst})  BN statistics {statistics_error:.2e}'
              .format(d=row['loss_ours'] - row['loss_theirs'], **row), flush=True)

    return trajectory(ours, theirs, batches, args.steps, report=report)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    sub = p.add_subparsers(dest='check', required=True)
    draws = sub.add_parser('draws', help='data draws of both sides over epochs', allow_abbrev=False)
    draws.add_argument('--epochs', type=int, default=10)
    draws.add_argument('--seed', type=int, default=1)
    path = sub.add_parser('trajectory', help='paired training from identical weights on identical batches',
                          allow_abbrev=False)
    path.add_argument('--steps', type=int, default=40)
    path.add_argument('--dtype', choices=('float32', 'float64'), default='float64')
    path.add_argument('--widen_factor', type=float, default=1.0)
    path.add_argument('--n_classes', type=int, default=6)
    path.add_argument('--sample_size', type=int, default=48)
    path.add_argument('--sample_duration', type=int, default=8)
    path.add_argument('--random_batches', action='store_true', help='Gaussian batches instead of the dataset')
    swapped = sub.add_parser('swap', help="one run of the recipe: one side's training loop, one side's loader",
                             allow_abbrev=False)
    swapped.add_argument('--loop', choices=('ours', 'torch'), required=True)
    swapped.add_argument('--loader', choices=('ours', 'torch', 'torch_generator'), required=True,
                         help="torch_generator: the PyTorch side's loader on a generator of its own")
    swapped.add_argument('--seed', type=int, default=1)
    swapped.add_argument('--result_path', required=True, help='where train.log is written')
    swapped.add_argument('recipe', nargs='*', help="after --: benchmarks/parity/harness.py's recipe flags (default: its recipe)")
    loaders = sub.add_parser('loader_loss', help="a trained checkpoint's loss on fresh batches of each side's loader",
                             allow_abbrev=False)
    loaders.add_argument('--checkpoint', required=True, help="one of ours, e.g. the harness's seed<N>/train/last.pdparams")
    loaders.add_argument('--seed', type=int, default=1, help='seeds both loaders')
    loaders.add_argument('--epochs', type=int, default=12)
    loaders.add_argument('recipe', nargs='*', help="after --: benchmarks/parity/harness.py's recipe flags (default: its recipe)")
    table = sub.add_parser('swap_table', help='the loop x loader table over finished runs', allow_abbrev=False)
    table.add_argument('--work_dir', required=True, help="benchmarks/parity/harness.py's --work_dir (the same-side runs)")
    table.add_argument('--swap_dir', required=True, help='where the swap runs are: loop_<loop>-loader_<loader>/seed<N>')
    table.add_argument('recipe', nargs='*', help="after --: benchmarks/parity/harness.py's recipe flags (default: its recipe)")
    for parser in (draws, path, swapped, loaders):
        parser.add_argument('--data_dir', default=os.path.join('data', 'parity'),
                            help="benchmarks/parity/harness.py's dataset (jpg/ and ucf101_01.json)")
    args = p.parse_args(argv)
    if args.check == 'swap_table':
        args.work_dir, args.swap_dir = os.path.abspath(args.work_dir), os.path.abspath(args.swap_dir)
        return args
    args.data_dir = os.path.abspath(args.data_dir)
    if args.check == 'swap':
        args.result_path = os.path.abspath(args.result_path)
    if args.check == 'loader_loss':
        args.checkpoint = os.path.abspath(args.checkpoint)
    needs_data = not getattr(args, 'random_batches', False)
    if needs_data and not os.path.isfile(os.path.join(args.data_dir, 'ucf101_01.json')):
        p.error(f'{args.data_dir} holds no ucf101_01.json; build it with benchmarks/parity/harness.py --data_dir '
                f'{args.data_dir} (or pass --random_batches to trajectory)')
    return args


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    {'draws': compare_draws, 'trajectory': compare_trajectory, 'swap': swap, 'loader_loss': loader_loss,
     'swap_table': swap_table}[args.check](args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
