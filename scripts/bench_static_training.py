"""Training in a static graph with oneDNN kernels (issue 14, item 1), measured and checked against the
dynamic graph main.py trains in. Not used by main.py: this is the probe that decides whether it should be.

    python scripts/bench_static_training.py                          # ResNet-18, 2 x 3 x 16 x 112 x 112
    python scripts/bench_static_training.py --model_depth 10 --batch_size 8 --sample_size 48 --sample_duration 8

Paddle 3.3.1's oneDNN training graph has two defects (docs/PERFORMANCE.md); the static step here works
around both:

* batch norm's running statistics come out wrong (measured: from zero running statistics the kernel's
  updated mean is 0.19 x the batch mean, not 0.1: the update is applied twice). Each BatchNorm3D instead computes its batch mean and biased variance with explicit
  reductions in the graph and returns them; the running statistics are then updated outside the graph
  with PyTorch's rule (unbiased variance), as models._common.BatchNorm3D does in the dynamic graph.
  (The kernel's own saved mean and inverse standard deviation are right in a forward-only oneDNN graph
  and in a training graph without oneDNN, but give wrong variances in the oneDNN training graph.)
* the fused softmax cross-entropy overwrites the logits returned from the graph: the loss is
  log_softmax + take_along_axis instead.

Two identical models (same initial weights) train on the same random batches, one step of each in turn:
the report gives the median step time of each and their ratio, and after the steps the loss, parameter
and running-statistic differences (largest |difference| / largest |value| per tensor).
"""
import argparse
import contextlib
import json
import os
import sys
import time
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from engine.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()
import paddle  # noqa: E402
import paddle.nn as nn  # noqa: E402
import paddle.nn.functional as F  # noqa: E402
from paddle.static import InputSpec  # noqa: E402

import models  # noqa: E402
from engine.optim import PyTorchSGD  # noqa: E402
from engine.runtime import configure_cpu  # noqa: E402
from models._common import BatchNorm3D  # noqa: E402


class StatisticsBatchNorm3D(BatchNorm3D):
    """Training-mode batch norm that hands its batch mean and biased variance to ``self.sink`` (a list)
    instead of updating the running statistics."""

    def forward(self, x):
        axes = [0, 2, 3, 4]
        mean = x.mean(axis=axes)
        variance = ((x - mean.reshape([1, -1, 1, 1, 1])) ** 2).mean(axis=axes)
        self.sink.append((self, mean, variance, int(np.prod(x.shape[1:])) // self._num_features))
        # the kernel normalises; its in-place running statistics go to copies that nobody reads
        return F.batch_norm(x, self._mean.detach().clone(), self._variance.detach().clone(), weight=self.weight,
                            bias=self.bias, training=True, momentum=self._momentum, epsilon=self._epsilon,
                            data_format=self._data_format)


class TrainGraph(nn.Layer):
    """(loss, logits, batch means and variances of every batch norm) of one batch."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self.sink = []
        self.norms = []  # (layer, values per channel per clip) in the order of the returned statistics
        for layer in model.sublayers():
            if isinstance(layer, BatchNorm3D):
                layer.__class__ = StatisticsBatchNorm3D
                layer.sink = self.sink

    def forward(self, clips, targets):
        self.sink.clear()
        logits = self.model(clips)
        log_probabilities = F.log_softmax(logits, axis=1)
        loss = -paddle.take_along_axis(log_probabilities, targets.unsqueeze(1), axis=1).mean()
        self.norms = [(layer, per_clip) for layer, _, _, per_clip in self.sink]
        # oneDNN outputs cannot be handed to the dynamic graph directly (engine.runtime.Logits)
        statistics = [paddle.assign(t) for _, mean, variance, _ in self.sink for t in (mean, variance)]
        return [paddle.assign(loss), paddle.assign(logits)] + statistics


class StaticStep:
    """One SGD step through the static oneDNN graph, running statistics updated afterwards."""

    def __init__(self, model, optimizer, clip_shape):
        self.graph = TrainGraph(model)
        self.optimizer = optimizer
        spec = [InputSpec([None] + list(clip_shape), 'float32', 'clips'), InputSpec([None], 'int64', 'targets')]
        self.static = paddle.jit.to_static(self.graph, input_spec=spec, full_graph=True)

    def __call__(self, clips, targets):
        paddle.set_flags({'FLAGS_use_onednn': True})
        try:
            outputs = self.static(clips, targets)
            outputs[0].backward()
        finally:
            paddle.set_flags({'FLAGS_use_onednn': False})
        self.optimizer.step()
        self.optimizer.clear_grad()
        with paddle.no_grad():
            batch = clips.shape[0]
            for (layer, per_clip), mean, variance in zip(self.graph.norms, outputs[2::2], outputs[3::2]):
                n = per_clip * batch
                m = layer._momentum
                paddle.assign(m * layer._mean + (1 - m) * mean, output=layer._mean)
                unbiased = variance * (n / (n - 1)) if n > 1 else variance
                paddle.assign(m * layer._variance + (1 - m) * unbiased, output=layer._variance)
        return float(outputs[0]), outputs[1]  # the logits: equal to the dynamic graph's (not overwritten)


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


@contextlib.contextmanager
def stdout_hidden():
    """File descriptor 1 to /dev/null: the oneDNN graph's first run prints a line per reduction
    ('ReduceMeanCheckIfOneDNNSupport') from C++."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def build(args):
    paddle.seed(args.seed)
    with paddle.utils.unique_name.guard():
        model = models.generate_model(dict(model=args.model, model_depth=args.model_depth, n_classes=args.n_classes,
                                           resnet_shortcut=args.resnet_shortcut,
                                           resnet_widen_factor=args.resnet_widen_factor))
    model.train()
    return model, PyTorchSGD(model.parameters(), args.learning_rate, 0.9, 0.0, 1e-3, False)


def relative_differences(a, b):
    """name -> max |a - b| / max |a| over the two models' state_dicts."""
    sa, sb = a.state_dict(), b.state_dict()
    return {k: float(np.abs(sa[k].numpy() - sb[k].numpy()).max() / (np.abs(sa[k].numpy()).max() + 1e-30)) for k in sa}


def main(argv=None):
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
    args = p.parse_args(argv)
    quiet_paddle()
    # F.batch_norm asks a graph value for its place while tracing: a harmless warning per layer
    warnings.filterwarnings('ignore', message="Tensor do not have 'place' interface")
    threads = configure_cpu(args.threads)
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
            with stdout_hidden() if step == 0 else contextlib.nullcontext():
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
