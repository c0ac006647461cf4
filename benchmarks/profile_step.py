"""An op-by-op account of one CPU training step, this project's against PyTorch's, at the same shape.

    python -m benchmarks.profile_step                                  # the parity recipe's shape and ResNet-18's
    python -m benchmarks.profile_step --shapes recipe --json prof.json # one shape; the table as JSON too
    python -m benchmarks.profile_step --shapes tiny                    # seconds: what tests/test_profile_step.py runs

Each side runs in its own process (Paddle's oneDNN flags and PyTorch's threads do not meet), with the same math
threads, from fresh weights on one random batch:

* ours: engine.steps' static oneDNN training step (``--train_graph auto`` on a CPU) + engine.optim.PyTorchSGD,
  exactly what ``main.py`` runs per batch (forward, backward, the batch norms' running statistics, the
  PyTorch-rule gradient rewrite, Paddle's Momentum update, ``float(loss)``);
* PyTorch: benchmarks/parity/torch_reference_models.py + ``torch.optim.SGD`` (the reference's loop).

Per side: warm-up steps, then ``--steps`` timed steps (the median is the step's wall time), then one step under
the framework's profiler (``paddle.profiler`` / ``torch.profiler``): every event's self time goes to the row its
own op name names, else to the row of the nearest enclosing op (a kernel launch belongs to its op), and
everything inside the gradient rewrite / optimizer step / running-statistics update (marked with a
RecordEvent / record_function) to that row. What no op covers (Python, dispatch, Paddle's executor between
ops) is the last row, so the rows add up to the profiled step's wall time. A third process per side runs one
step with ``ONEDNN_VERBOSE=1`` (both frameworks call oneDNN): its primitive times split each side's convolution
backward into backward-data and backward-filter, and give oneDNN's reorders (layout conversions inside the
ops, which the profilers count in the op). Profiled times are above the timed ones (the profiler's own cost):
read the rows as shares, the first line as the step's time.
"""
import argparse
import contextlib
import ctypes
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHAPES = {  # name: model depth, batch, clip duration, clip size, classes, widen factor
    'recipe': dict(depth=10, batch=8, duration=8, size=48, classes=6, widen=1.0),
    'resnet18': dict(depth=18, batch=2, duration=16, size=112, classes=101, widen=1.0),
    'tiny': dict(depth=10, batch=2, duration=4, size=32, classes=6, widen=0.25),
}
SHAPE_LABELS = {'recipe': 'ResNet-10-B, 8 × 3 × 8 × 48² (the parity recipe)',
                'resnet18': 'ResNet-18-B, 2 × 3 × 16 × 112²', 'tiny': 'ResNet-10-B ×0.25, 2 × 3 × 4 × 32²'}

# Rows, in print order, and who owns each on our side: 'Paddle' (its kernels), 'ours' (this project's code),
# 'both' (Paddle's kernels for work that this project chose to add).
ROWS = [
    ('conv3d forward', 'Paddle'),
    ('conv3d backward-data', 'Paddle'),
    ('conv3d backward-filter', 'Paddle'),
    ('batch norm forward + backward', 'Paddle'),
    ('batch-norm batch statistics (explicit reductions)', 'ours'),
    ('batch-norm running-statistics update', 'ours'),
    ('ReLU forward + backward', 'Paddle'),
    ('pooling forward + backward', 'Paddle'),
    ('residual adds, gradient sums', 'Paddle'),
    ('linear (fc) forward + backward', 'Paddle'),
    ('loss (log-softmax, pick, mean) + backward', 'Paddle'),
    ('gradient rewrite (PyTorch rule: + wd·p, dampening)', 'ours'),
    ('optimizer update (momentum kernel)', 'Paddle'),
    ('layout conversion ops (onednn_to_paddle_layout, assign/copies)', 'both'),
    ('zeroing gradients', 'Paddle'),
    ('everything else: Python, dispatch, executor, small ops', 'both'),
]
ROW_NAMES = [name for name, _ in ROWS]

# user ranges (RecordEvent / record_function) that own everything inside them
RANGES = {'profile_step.rewrite': 'gradient rewrite (PyTorch rule: + wd·p, dampening)',
          'profile_step.optimizer': 'optimizer update (momentum kernel)',
          'profile_step.running_statistics': 'batch-norm running-statistics update',
          'profile_step.zero_grad': 'zeroing gradients'}

# (row, pattern on the op name with the framework prefix removed), first match wins
OP_PATTERNS = [
    ('conv3d backward-data', r'^(conv3d_grad|convolution_backward|mkldnn_convolution_backward|'
                             r'slow_conv3d_backward|conv_depthwise3d_backward)'),
    ('conv3d forward', r'^(conv3d|conv2d|convolution|_convolution|conv3d_forward|mkldnn_convolution|'
                       r'slow_conv3d|_nnpack)'),
    ('batch norm forward + backward', r'^(batch_norm|native_batch_norm|_batch_norm|cudnn_batch_norm|'
                                      r'_native_batch_norm_legit|batch_norm_backward)'),
    ('batch-norm batch statistics (explicit reductions)', r'^(mean|subtract|elementwise_pow|pow|reshape|square)$'),
    ('ReLU forward + backward', r'^(relu|relu_|relu_grad|threshold_backward|clamp_min)'),
    ('pooling forward + backward', r'^(pool3d|max_pool3d|adaptive_avg_pool3d|avg_pool3d|'
                                   r'max_pool3d_with_indices|_adaptive_avg_pool3d)'),
    ('residual adds, gradient sums', r'^(add|add_|add_grad|add_n|sum)$'),
    ('linear (fc) forward + backward', r'^(matmul|matmul_grad|linear|addmm|mm|t|flatten|flatten_grad)$'),
    ('loss (log-softmax, pick, mean) + backward', r'^(log_softmax|_log_softmax|log_softmax_grad|'
                                                  r'_log_softmax_backward_data|take_along_axis|'
                                                  r'take_along_axis_grad|nll_loss|nll_loss_forward|'
                                                  r'nll_loss_backward|nll_loss_nd|cross_entropy_loss|'
                                                  r'mean_grad|expand|expand_grad|unsqueeze|scale)'),
    ('layout conversion ops (onednn_to_paddle_layout, assign/copies)', r'^(onednn_to_paddle_layout|assign|'
                                                                       r'assign_|assign_out_|share_data_|'
                                                                       r'copy_|to|_to_copy|contiguous|clone)$'),
]


def op_row(name):
    """The row of a framework op name (None: not an op this table names)."""
    base = re.sub(r'\[[^\]]*\]$', '', name).strip()
    base = re.sub(r'^(onednn_op|pd_op|aten|cinn_op)(\.|::)', '', base)
    base = re.sub(r' (dygraph|kernel launch|infer_meta|compute)$', '', base)
    for row, pattern in OP_PATTERNS:
        if re.search(pattern, base):
            return row
    return None


def account(events, wall_ms):
    """Chrome-trace 'X' events of one profiled step -> {row: milliseconds}; the last row takes the rest."""
    by_thread = defaultdict(list)
    for e in events:
        name = str(e.get('name', ''))
        if e.get('ph') != 'X' or e.get('cat') == 'ProfileStep' or name.startswith('ProfilerStep'):
            continue
        # Paddle puts an OS thread's Python-level and C++ events on two lanes: '123(Python)', '123(C++)'
        by_thread[re.sub(r'\(.*\)$', '', str(e.get('tid')))].append(e)
    totals = defaultdict(float)
    for lane in by_thread.values():
        lane.sort(key=lambda e: (float(e['ts']), -float(e['dur'])))
        stack, records = [], []  # stack: [end, row, is_range, record]
        for e in lane:
            start, duration, name = float(e['ts']), float(e['dur']), str(e['name'])
            while stack and stack[-1][0] <= start:
                stack.pop()
            enclosing_range = next((entry[1] for entry in reversed(stack) if entry[2]), None)
            own_range = next((RANGES[r] for r in RANGES if name.startswith(r)), None)
            row = enclosing_range or own_range or op_row(name) or (stack[-1][1] if stack else None)
            if stack:
                stack[-1][3]['child'] += duration
            record = {'child': 0.0, 'duration': duration, 'row': row}
            records.append(record)
            stack.append([start + duration, row, bool(own_range), record])
        for record in records:
            if record['row'] is not None:
                totals[record['row']] += max(0.0, record['duration'] - record['child']) / 1000
    out = {row: totals.get(row, 0.0) for row in ROW_NAMES}
    out[ROW_NAMES[-1]] = 0.0
    out[ROW_NAMES[-1]] = max(0.0, wall_ms - sum(out.values()))
    return out


def random_batch(shape, seed=0):
    rng = np.random.RandomState(seed)
    clips = rng.randn(shape['batch'], 3, shape['duration'], shape['size'], shape['size']).astype('float32')
    return clips, (np.arange(shape['batch']) % shape['classes']).astype('int64')


def marked(owner, attribute, label, record):
    """``owner.attribute`` (a method) inside the profiler range ``label``."""
    method = getattr(owner, attribute)

    def wrapped(*args, **kwargs):
        with record(label):
            return method(*args, **kwargs)
    setattr(owner, attribute, wrapped)


# Variants of our step, timed against it by --variants (measurements only, none is what main.py runs):
VARIANTS = {
    'main': 'the step main.py runs',
    'no_statistics': 'without the explicit batch-statistics reductions (running statistics left alone): what '
                     'they cost, the reorders they cause included',
    'unfused_decay': 'weight decay added to the gradients in Python (before it was fused into Momentum)',
    'multi_tensor': "Momentum's use_multi_tensor (merged update)",
}


def _plain_batch_norm_forward(layer, sink):
    """--variants no_statistics: a BatchNorm3D forward without the explicit batch-statistics reductions."""
    import paddle.nn.functional as F

    def forward(x):
        return F.batch_norm(x, layer._mean.detach().clone(), layer._variance.detach().clone(),
                            weight=layer.weight, bias=layer.bias, training=True, momentum=layer._momentum,
                            epsilon=layer._epsilon, data_format=layer._data_format)
    return forward


def _our_optimizer(model, optim, variant):
    """main.py's PyTorchSGD, or (--variants unfused_decay / multi_tensor) its earlier and merged variants."""
    import paddle
    from engine.optim import PyTorchSGD
    optimizer = PyTorchSGD(model.parameters(), optim['lr'], 0.9, optim['dampening'], optim['weight_decay'], False)
    if variant in ('unfused_decay', 'multi_tensor'):
        optimizer.inner = paddle.optimizer.Momentum(learning_rate=optim['lr'], momentum=0.9,
                                                    parameters=optimizer.params,
                                                    use_multi_tensor=variant == 'multi_tensor',
                                                    weight_decay=None if variant == 'unfused_decay' else
                                                    paddle.regularizer.L2Decay(optim['weight_decay']))
        optimizer.weight_decay = optim['weight_decay'] if variant == 'unfused_decay' else 0.0
    return optimizer


def paddle_side(shape, threads, optim, variant='main'):
    """``(one_step, profile(path) -> wall_ms)`` for ours: what main.py runs per batch."""
    from core.preload import before_paddle
    before_paddle()
    import paddle
    import paddle.profiler as profiler
    import models
    from engine.runtime import configure_cpu
    from engine import static_training
    from engine.static_training import StaticTrainStep
    if os.environ.get('ONEDNN_VERBOSE'):  # the step hides fd 1 around its graph call; oneDNN's log is on it
        static_training.stdout_hidden = contextlib.nullcontext
    if variant == 'no_statistics':  # the same normalisation, without the explicit reductions
        static_training.statistics_forward = _plain_batch_norm_forward
    configure_cpu(threads)
    paddle.seed(0)
    model = models.generate_model(dict(model='resnet', model_depth=shape['depth'], n_classes=shape['classes'],
                                       resnet_shortcut='B', resnet_widen_factor=shape['widen']))
    model.train()
    optimizer = _our_optimizer(model, optim, variant)
    clips, targets = random_batch(shape)
    step = StaticTrainStep(model, clips.shape[1:])
    clips, targets = paddle.to_tensor(clips), paddle.to_tensor(targets)
    record = profiler.RecordEvent

    class Range:
        def __init__(self, label):
            self.event = record(label)

        def __enter__(self):
            self.event.begin()

        def __exit__(self, *exc):
            self.event.end()
    marked(optimizer, 'rewrite_gradients', 'profile_step.rewrite', Range)
    marked(optimizer.inner, 'step', 'profile_step.optimizer', Range)
    marked(optimizer, 'clear_grad', 'profile_step.zero_grad', Range)
    marked(step, 'update_running_statistics', 'profile_step.running_statistics', Range)

    def one_step():  # engine.training.train_one_epoch's body for one batch
        logits, loss = step(clips, targets)
        value = float(loss)
        step.backward(loss)
        optimizer.step()
        optimizer.clear_grad()
        (logits.argmax(axis=1) == targets).astype('float32').sum().item()
        return value

    def profile(path):
        # on_trace_ready: by default the profiler also writes a trace into ./profiler_log
        p = profiler.Profiler(targets=[profiler.ProfilerTarget.CPU], on_trace_ready=lambda _: None)
        p.start()
        start = time.perf_counter()
        one_step()
        wall = (time.perf_counter() - start) * 1000
        p.step()
        p.stop()
        p.export(path, format='json')
        return wall
    return one_step, profile


def torch_side(shape, threads, optim):
    """The same for PyTorch: the reference's model, loss and SGD."""
    import torch
    from benchmarks.parity import torch_reference_models
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_reference_models.build('resnet', shape['depth'], n_classes=shape['classes'], resnet_shortcut='B',
                                         resnet_widen_factor=shape['widen'])
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=optim['lr'], momentum=0.9, dampening=optim['dampening'],
                                weight_decay=optim['weight_decay'])
    clips, targets = (torch.from_numpy(a) for a in random_batch(shape))
    marked(optimizer, 'step', 'profile_step.optimizer', torch.autograd.profiler.record_function)
    marked(optimizer, 'zero_grad', 'profile_step.zero_grad', torch.autograd.profiler.record_function)
    criterion = torch.nn.CrossEntropyLoss()

    def one_step():  # the reference's train_epoch for one batch
        outputs = model(clips)
        loss = criterion(outputs, targets)
        value = loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        (outputs.argmax(1) == targets).float().sum().item()
        return value

    def profile(path):
        from torch.profiler import ProfilerActivity, profile as torch_profile
        with torch_profile(activities=[ProfilerActivity.CPU]) as p:
            start = time.perf_counter()
            one_step()
            wall = (time.perf_counter() - start) * 1000
        p.export_chrome_trace(path)
        return wall
    return one_step, profile


def child(args):
    """One side, one process: timed steps and the profiled step (or, with --verbose_step, oneDNN's log)."""
    shape = SHAPES[args.shape]
    optim = dict(lr=0.003, dampening=0.0, weight_decay=1e-3)  # the parity recipe's SGD
    if args.side == 'paddle':
        one_step, profile = paddle_side(shape, args.threads, optim, args.variant)
    else:
        one_step, profile = torch_side(shape, args.threads, optim)
    for _ in range(args.warmup):
        one_step()
    if args.verbose_step:  # ONEDNN_VERBOSE=1 in this process's environment; fd 1 goes to a file
        libc = ctypes.CDLL(None)
        libc.fflush(None)
        os.write(1, b'profile_step: begin\n')
        one_step()
        libc.fflush(None)
        os.write(1, b'profile_step: end\n')
        return
    times, cpu = [], []
    for _ in range(args.steps):
        start, cpu_start = time.perf_counter(), time.process_time()
        one_step()
        times.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - cpu_start) * 1000)
    result = {'step_ms': float(np.median(times)), 'step_ms_all': times, 'cpu_ms': float(np.median(cpu))}
    if not args.no_profile:
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, 'trace.json')
            wall = profile(trace)
            with open(trace) as f:
                data = json.load(f)
        events = data['traceEvents'] if isinstance(data, dict) else data
        result.update(profiled_ms=wall, rows=account(events, wall))
    with open(args.out, 'w') as f:
        json.dump(result, f)


def onednn_split(log_text):
    """oneDNN verbose 'exec' lines of one step -> {kind: ms} for convolution directions and reorders."""
    out = defaultdict(float)
    inside = False
    for line in log_text.splitlines():
        if line.startswith('profile_step: begin'):
            inside = True
        elif line.startswith('profile_step: end'):
            inside = False
        elif inside and line.startswith('onednn_verbose') and ',exec,' in line:
            fields = line.split(',')
            try:
                ms = float(fields[-1])
            except ValueError:
                continue
            primitive = fields[fields.index('exec') + 2] if 'exec' in fields else ''
            if primitive == 'convolution':
                kind = next((k for k in ('backward_data', 'backward_weights', 'forward') if k in line), 'forward')
                out['convolution ' + kind] += ms
            else:
                out[primitive] += ms
    return dict(out)


def run_child(side, shape, threads, warmup, steps, verbose=False, profile=True, timeout=1800, variant='main'):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out.json')
        command = [sys.executable, '-m', 'benchmarks.profile_step', '--child', side, '--shape', shape,
                   '--threads', str(threads), '--warmup', str(warmup), '--steps', str(steps), '--out', out,
                   '--variant', variant]
        if verbose:
            env['ONEDNN_VERBOSE'] = '1'
            env['DNNL_VERBOSE'] = '1'
            log = os.path.join(tmp, 'verbose.log')
            with open(log, 'w') as f:
                subprocess.run(command + ['--verbose_step'], cwd=REPO_ROOT, env=env, stdout=f, check=True,
                               timeout=timeout)
            with open(log, errors='replace') as f:
                return onednn_split(f.read())
        subprocess.run(command + ([] if profile else ['--no_profile']), cwd=REPO_ROOT, env=env, check=True,
                       timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)


def split_backward(rows, split):
    """The profiler's convolution backward (one op on both sides) split by oneDNN's backward-data : backward-
    weights time; without oneDNN primitives it all stays in the backward-data row, marked."""
    data, weights = split.get('convolution backward_data', 0.0), split.get('convolution backward_weights', 0.0)
    total = rows['conv3d backward-data']
    if data + weights > 0:
        rows['conv3d backward-data'] = total * data / (data + weights)
        rows['conv3d backward-filter'] = total * weights / (data + weights)
    return rows


def profile_shape(shape, threads, warmup, steps, rounds):
    """Both sides, interleaved: ``rounds`` x (ours, PyTorch) timed processes (the first also profiles), then
    one oneDNN-verbose process each; a side's step time is the median of its processes' medians."""
    sides = {side: {'rounds_ms': [], 'rounds_cpu_ms': []} for side in ('paddle', 'torch')}
    for r in range(rounds):
        for side in sides:
            result = run_child(side, shape, threads, warmup, steps, profile=r == 0)
            sides[side]['rounds_ms'].append(result['step_ms'])
            sides[side]['rounds_cpu_ms'].append(result['cpu_ms'])
            if r == 0:
                sides[side].update(result)
    for side, result in sides.items():
        result['step_ms'] = float(np.median(result['rounds_ms']))
        result['cpu_ms'] = float(np.median(result['rounds_cpu_ms']))
        result['onednn'] = run_child(side, shape, threads, warmup, 0, verbose=True)
        result['rows'] = split_backward(result['rows'], result['onednn'])
    return sides


def compare_variants(shape, threads, warmup, steps, rounds, variants):
    """Our step's variants, interleaved processes: {variant: [step ms per process]} (wall, CPU)."""
    out = {v: {'wall': [], 'cpu': []} for v in variants}
    for _ in range(rounds):
        for v in variants:
            result = run_child('paddle', shape, threads, warmup, steps, profile=False, variant=v)
            out[v]['wall'].append(result['step_ms'])
            out[v]['cpu'].append(result['cpu_ms'])
    return out


def fmt(ms):
    return f'{ms:.1f}' if ms >= 1 else f'{ms:.2f}'


def table(shape, sides, threads):
    """The rows at one shape: op | owner | ours ms | PyTorch ms | ratio, scaled to each side's timed step."""
    p, t = sides['paddle'], sides['torch']
    rows = [[f'**one step, timed** (median of {len(p["rounds_ms"])} interleaved processes per side; the rows below: '
             f'one profiled step, scaled to it)', '', fmt(p['step_ms']), fmt(t['step_ms']),
             f'**{p["step_ms"] / t["step_ms"]:.2f}×**']]
    rows.append([f'one step, CPU time of the process ({threads} math thread{"s" if threads > 1 else ""}; spinning '
                 f'threads count too)', '', fmt(p['cpu_ms']), fmt(t['cpu_ms']), f'{p["cpu_ms"] / t["cpu_ms"]:.2f}×'])
    sp, st = p['step_ms'] / p['profiled_ms'], t['step_ms'] / t['profiled_ms']
    for name, owner in ROWS:
        a, b = p['rows'][name] * sp, t['rows'][name] * st
        ratio = f'{a / b:.2f}×' if b > 0.05 else ('only ours' if a > 0.05 else '–')
        rows.append([name, owner, fmt(a), fmt(b), ratio])
    for kind in ('reorder',):
        a, b = p['onednn'].get(kind, 0.0), t['onednn'].get(kind, 0.0)
        rows.append([f'oneDNN {kind}s inside the ops (ONEDNN_VERBOSE, one step, already in the rows above)',
                     'Paddle', fmt(a), fmt(b), f'{a / b:.2f}×' if b > 0.05 else '–'])
    for kind in ('convolution forward', 'convolution backward_data', 'convolution backward_weights'):
        a, b = p['onednn'].get(kind, 0.0), t['onednn'].get(kind, 0.0)
        rows.append([f'oneDNN {kind.replace("_", "-")} primitives (ONEDNN_VERBOSE, one step)', 'Paddle', fmt(a),
                     fmt(b), f'{a / b:.2f}×' if b > 0.05 else '–'])
    return {'columns': [f'{SHAPE_LABELS[shape]}, {threads} math thread{"s" if threads > 1 else ""}: op', 'ours: whose', 'ours ms', 'PyTorch ms', 'ours / PyTorch'],
            'rows': rows}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--shapes', nargs='+', choices=sorted(SHAPES), default=['recipe', 'resnet18'])
    parser.add_argument('--threads', type=int, default=0, help='math threads on both sides (0: one per core)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--steps', type=int, default=5, help='timed steps per side (median)')
    parser.add_argument('--rounds', type=int, default=2, help='interleaved processes per side (median)')
    parser.add_argument('--variants', nargs='+', choices=sorted(VARIANTS),
                        help='instead of the table: time these variants of our step against each other '
                             '(interleaved processes; ' + '; '.join(f'{k}: {v}' for k, v in VARIANTS.items()) + ')')
    parser.add_argument('--variant', default='main', choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument('--json', help='write {shape: table} here '
                                       '(python -m benchmarks.results record table FILE --name profile-step ...)')
    parser.add_argument('--raw', help='write every side\'s raw numbers here')
    parser.add_argument('--child', choices=['paddle', 'torch'], help=argparse.SUPPRESS)
    parser.add_argument('--shape', help=argparse.SUPPRESS)
    parser.add_argument('--out', help=argparse.SUPPRESS)
    parser.add_argument('--verbose_step', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('--no_profile', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.side = args.child
        return child(args)
    threads = args.threads or len(os.sched_getaffinity(0))
    if args.variants:
        results = {}
        for shape in args.shapes:
            results[shape] = compare_variants(shape, threads, args.warmup, args.steps, args.rounds, args.variants)
            for v, r in results[shape].items():
                print(f'{shape:9s} {v:14s} wall ms {fmt(float(np.median(r["wall"]))):>8s} '
                      f'CPU ms {fmt(float(np.median(r["cpu"]))):>8s}   (per process: '
                      f'{", ".join(fmt(x) for x in r["wall"])})')
        if args.raw:
            with open(args.raw, 'w') as f:
                json.dump(results, f, indent=1)
        return results
    tables, raw = {}, {}
    for shape in args.shapes:
        raw[shape] = profile_shape(shape, threads, args.warmup, args.steps, args.rounds)
        t = table(shape, raw[shape], threads)
        tables[shape] = t
        widths = [max(len(str(r[i])) for r in [t['columns']] + t['rows']) for i in range(5)]
        for r in [t['columns']] + t['rows']:
            print('  '.join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        print()
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(tables, f, indent=1)
    if args.raw:
        with open(args.raw, 'w') as f:
            json.dump(raw, f, indent=1)
    return tables


if __name__ == '__main__':
    main()
