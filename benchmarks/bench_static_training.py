"""Training in a static graph with oneDNN kernels (issue 14, item 1), measured and checked against the
dynamic graph main.py trains in. main.py uses it with --train_graph static (or auto).

    python -m benchmarks.bench_static_training                          # ResNet-18, 2 x 3 x 16 x 112 x 112
    python -m benchmarks.bench_static_training --model_depth 10 --batch_size 8 --sample_size 48 --sample_duration 8
    python -m benchmarks.bench_static_training --sweep          # one step, every family x kernel x SE the CLI offers

The static step is engine.static_training's (``--train_graph static``), which works around Paddle 3.3.1's
oneDNN training-graph defects (batch-norm running statistics, the in-place loss).

Two identical models (same initial weights) train on the same random batches, one step of each in turn:
the report gives the median step time of each and their ratio, and after the steps the loss, parameter
and running-statistic differences (largest |difference| / largest |value| per tensor).

``--sweep`` checks one step for every model family (its smallest depth) x kernel type x SE, each in a
child process (a oneDNN abort ends only that case): the static step's update of every parameter and
running statistic against the truth, the same step in the dynamic graph in float64, next to the dynamic
float32 step's error (main.py's default), the yardstick: the static step passes when its whole update (every
tensor, 2-norm) is as close to the truth as that, within a factor of 10. (A comparison of the two float32 steps alone cannot tell: at tiny
shapes, batch norm over a few values per channel amplifies rounding so much that the dynamic step's loss
moves by 3e-5 when its input is scaled by 1 + 1e-7, and two dynamic runs 1e-6 apart differ by 50 % after
three steps.)
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


from core.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()
import paddle  # noqa: E402
import paddle.nn.functional as F  # noqa: E402

import models  # noqa: E402
from engine.optim import PyTorchSGD  # noqa: E402
from engine.runtime import configure_cpu  # noqa: E402
from engine.static_training import StaticTrainStep  # noqa: E402


class StaticStep:
    """One SGD step through engine.static_training's static oneDNN graph (what --train_graph static runs)."""

    def __init__(self, model, optimizer, clip_shape):
        self.step, self.optimizer = StaticTrainStep(model, clip_shape), optimizer

    def __call__(self, clips, targets):
        logits, loss = self.step(clips, targets)
        self.step.backward(loss)
        self.optimizer.step()
        self.optimizer.clear_grad()
        return float(loss), logits


class DynamicStep:
    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def __call__(self, clips, targets):
        logits = self.model(clips)
        loss = F.cross_entropy(logits, targets)
        loss.backward()
        self.optimizer.step()
        self.optimizer.clear_grad()
        return float(loss), logits


def build(args):
    paddle.seed(args.seed)
    with paddle.utils.unique_name.guard():
        model = models.generate_model(dict(model=args.model, model_depth=args.model_depth, n_classes=args.n_classes,
                                           resnet_shortcut=args.resnet_shortcut,
                                           resnet_widen_factor=args.resnet_widen_factor))
    model.train()
    return model, PyTorchSGD(model.parameters(), args.learning_rate, 0.9, 0.0, 1e-3, False)


def sweep_cases():
    """(family, smallest depth, kernel type, se) for everything --model / --kernel_type / --se accept."""
    return [(name, min(family.depths), kernel, se) for name, family in models.registry.FAMILIES.items()
            for kernel in family.kernel_types for se in ((False, True) if family.se else (False,))]


def one_step_errors(case, args):
    """One SGD step of the same model from the same weights on the same batch, three ways: the dynamic graph
    in float64 (the truth), the dynamic graph in float32 (what main.py runs by default) and the static oneDNN
    graph in float32. Returns {'loss_static', 'loss_dynamic': relative loss errors against the truth,
    'static', 'dynamic': the largest update error against the truth over the state dict's tensors (relative
    to the tensor's largest true update, at least lr x 1e-3), 'worst': the tensor where the static step's is,
    'overall_static', 'overall_dynamic': the error of the whole update (every tensor) in the 2-norm, relative
    to the true update's}."""
    family, depth, kernel_type, se = case
    options = dict(model=family, model_depth=depth, kernel_type=kernel_type, se=se, n_classes=args.n_classes,
                   resnet_widen_factor=args.resnet_widen_factor)
    copies = []
    for dtype in ('float64', 'float32', 'float32'):
        paddle.seed(args.seed)
        with paddle.utils.unique_name.guard():
            model = models.generate_model(options)
        model.to(dtype=dtype)
        model.train()
        copies.append((model, PyTorchSGD(model.parameters(), args.learning_rate, 0.9, 0.0, 1e-3, False)))
    before = {k: v.numpy().astype('float64') for k, v in copies[0][0].state_dict().items()}
    clip_shape = [3, args.sample_duration, args.sample_size, args.sample_size]
    rng = np.random.RandomState(args.seed)
    clips = rng.randn(args.batch_size, *clip_shape).astype('float32')
    targets = paddle.to_tensor(rng.randint(0, args.n_classes, args.batch_size).astype('int64'))
    losses = [DynamicStep(*copies[0])(paddle.to_tensor(clips.astype('float64')), targets)[0],
              DynamicStep(*copies[1])(paddle.to_tensor(clips), targets)[0],
              StaticStep(*copies[2], clip_shape)(paddle.to_tensor(clips), targets)[0]]
    truth, dynamic, static = [{k: v.numpy().astype('float64') - before[k] for k, v in model.state_dict().items()}
                              for model, _ in copies]

    def errors(update):
        # a tensor whose true update is ~0 (e.g. a bias before another batch norm) is held to lr x 1e-3
        floor = args.learning_rate * 1e-3
        return {k: float(np.abs(update[k] - truth[k]).max() / max(np.abs(truth[k]).max(), floor)) for k in truth}

    def overall(update):
        return float(np.sqrt(sum(((update[k] - truth[k]) ** 2).sum() for k in truth)
                             / sum((truth[k] ** 2).sum() for k in truth)))

    static_errors = errors(static)
    worst = max(static_errors, key=static_errors.get)
    return {'loss_static': abs(losses[2] - losses[0]) / abs(losses[0]),
            'loss_dynamic': abs(losses[1] - losses[0]) / abs(losses[0]),
            'static': static_errors[worst], 'worst': worst, 'dynamic': max(errors(dynamic).values()),
            'overall_static': overall(static), 'overall_dynamic': overall(dynamic)}


def sweep(args):
    """Every case of sweep_cases() in a child process; prints a markdown table, returns the rows."""
    rows = []
    print('| model | kernel | SE | loss error, static / dynamic | largest tensor update error, static (tensor) | '
          'the same, dynamic | whole-update error, static / dynamic | verdict |')
    print('|---|---|---|---|---|---|---|---|')
    for case in sweep_cases():
        if args.only and case[0] not in args.only:
            continue
        command = [sys.executable, '-m', 'benchmarks.bench_static_training', '--case', json.dumps(case), '--threads', '1',
                   '--batch_size', str(args.batch_size), '--sample_size', str(args.sample_size),
                   '--sample_duration', str(args.sample_duration), '--n_classes', str(args.n_classes),
                   '--resnet_widen_factor', str(args.resnet_widen_factor), '--learning_rate', str(args.learning_rate)]
        child = subprocess.run(command, capture_output=True, text=True)
        row = {'case': case}
        if child.returncode == 0:
            row.update(json.loads(child.stdout.strip().splitlines()[-1]))
            # as close to the float64 truth as the dynamic float32 step, within a factor of 10 (or 1e-4)
            row['verdict'] = 'equal' if row['overall_static'] <= 10 * max(row['overall_dynamic'], 1e-5) else 'differs'
            cells = (f"{row['loss_static']:.1e} / {row['loss_dynamic']:.1e} | {row['static']:.1e} ({row['worst']}) | "
                     f"{row['dynamic']:.1e} | {row['overall_static']:.1e} / {row['overall_dynamic']:.1e}")
        else:
            last = (child.stderr.strip().splitlines() or ['(no message)'])[-1]
            row.update(verdict=f'aborts (exit code {child.returncode})', message=last)
            cells = '– | – | – | –'
        rows.append(row)
        family, depth, kernel, se = case
        print(f"| {family}-{depth} | {kernel} | {'yes' if se else 'no'} | {cells} | {row['verdict']} |", flush=True)
    return rows


def relative_differences(a, b):
    """name -> max |a - b| / max |a| over the two models' state_dicts."""
    sa, sb = a.state_dict(), b.state_dict()
    return {k: float(np.abs(sa[k].numpy() - sb[k].numpy()).max() / (np.abs(sa[k].numpy()).max() + 1e-30)) for k in sa}


def main_parser():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--model', default='resnet')
    p.add_argument('--model_depth', type=int, default=18)
    p.add_argument('--resnet_shortcut', default='B')
    p.add_argument('--resnet_widen_factor', type=float, default=1.0)
    p.add_argument('--n_classes', type=int, default=101)
    p.add_argument('--batch_size', type=int, default=2)
    p.add_argument('--sample_size', type=int, default=112)
    p.add_argument('--sample_duration', type=int, default=16)
    p.add_argument('--steps', type=int, default=4, help='timed steps of each (after one untimed step each)')
    p.add_argument('--learning_rate', type=float, default=0.001)
    p.add_argument('--threads', type=int, default=0, help='math threads (0: one per core)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--json', default='', help='also write the numbers to this file')
    p.add_argument('--sweep', action='store_true',
                   help='one step of every family x kernel x SE (use with a tiny shape, e.g. --model_depth is '
                        'ignored, --resnet_widen_factor 0.25 --batch_size 4 --sample_size 32 --sample_duration 4)')
    p.add_argument('--only', nargs='+', default=[], help='--sweep: only these families')
    p.add_argument('--case', default='', help=argparse.SUPPRESS)  # a --sweep child: json [family, depth, kernel, se]
    return p


def main(argv=None):
    args = main_parser().parse_args(argv)
    quiet_paddle()
    threads = configure_cpu(args.threads)
    if args.case:
        print(json.dumps(one_step_errors(json.loads(args.case), args)))
        return 0
    if args.sweep:
        rows = sweep(args)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'options': vars(args), 'rows': rows}, f, indent=2)
        return 0
    clip_shape = [3, args.sample_duration, args.sample_size, args.sample_size]
    dynamic_model, dynamic_sgd = build(args)
    static_model, static_sgd = build(args)
    steps = {'dynamic graph': DynamicStep(dynamic_model, dynamic_sgd),
             'static oneDNN graph': StaticStep(static_model, static_sgd, clip_shape)}
    rng = np.random.RandomState(args.seed)
    times = {name: [] for name in steps}
    losses = {name: [] for name in steps}
    for step in range(args.steps + 1):
        clips = paddle.to_tensor(rng.randn(args.batch_size, *clip_shape).astype('float32'))
        targets = paddle.to_tensor(rng.randint(0, args.n_classes, args.batch_size).astype('int64'))
        for name, run in steps.items():
            start = time.perf_counter()
            loss, _ = run(clips, targets)
            if step:  # the first call of each traces or warms up
                times[name].append(time.perf_counter() - start)
            losses[name].append(loss)
    print(f'{args.model}-{args.model_depth} (widen {args.resnet_widen_factor}), batch {args.batch_size} x '
          f'{clip_shape}, {threads} math threads, {args.steps} timed steps each (interleaved)')
    medians = {name: float(np.median(t)) for name, t in times.items()}
    for name, seconds in medians.items():
        print(f'  {name:20s} median step {seconds:.3f} s')
    print(f'  static / dynamic: {medians["static oneDNN graph"] / medians["dynamic graph"]:.2f}')
    differences = relative_differences(dynamic_model, static_model)
    learned = {k: v for k, v in differences.items() if not k.endswith(('_mean', '_variance'))}
    running = {k: v for k, v in differences.items() if k not in learned}
    worst, worst_running = max(learned, key=learned.get), max(running, key=running.get)
    print(f'  after {args.steps + 1} steps: losses {["%.6f" % v for v in losses["dynamic graph"]]} (dynamic) vs '
          f'{["%.6f" % v for v in losses["static oneDNN graph"]]} (static)')
    print(f'  largest parameter difference {learned[worst]:.2e} ({worst}); running statistics '
          f'{running[worst_running]:.2e} ({worst_running})')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump({'options': vars(args), 'threads': threads, 'median_seconds': medians, 'losses': losses,
                       'parameter_difference': learned[worst], 'running_statistics_difference': running[worst_running]},
                      f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
