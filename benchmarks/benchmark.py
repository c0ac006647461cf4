"""Throughput of this project on this machine, in one run: model, data loader, end to end, frame extraction, FLOPs.

    python -m benchmarks.benchmark                                   # CPU defaults, about 2 minutes
    python -m benchmarks.benchmark --model resnet --model_depth 50 --batch_size 8 --device gpu --amp
    python -m benchmarks.benchmark --sections model flops --json bench.json

Sections (--sections, default all):
  model   train step (forward, backward, SGD update) and inference clips/s, best of --repeat after a
          warm-up: Paddle as this project runs it (math threads per core, MKL's fast path, evaluation in
          a static oneDNN graph; training in the dynamic graph and, where it can run, in the static oneDNN
          graph of --train_graph auto, the CPU default), Paddle untuned (a child process without those
          settings, CPU only), and PyTorch on the same architecture when torch is installed (CPU only;
          benchmarks/parity/torch_reference_models.py)
  loader  JPEG tree -> normalised batch, clips/s, the reference's naive per-frame pipeline (PIL, float32 per
          frame) vs --loader pil / fast / fast_draft (benchmarks/bench_loader.py)
  e2e     --e2e_epochs epochs of main.py (validation every epoch, 2 loader workers) on a generated JPEG set,
          as run by default (--train_graph auto) and with --train_graph dygraph, each with its time split into
          data wait, forward + backward, optimizer, validation, checkpoints and the rest (start-up), against
          benchmarks/parity/torch_reference_training.py (the reference's training loop in PyTorch, no per-epoch
          validation) on the same data and recipe (benchmarks/parity/harness.py's flags)
  prep    avi -> jpg videos/s with PyAV (benchmarks/bench_video_jpg.py) on generated 320x240 videos
  flops   parameters and multiply-accumulates of one clip, counted by forward hooks (paddle.flops
          fails under numpy 2)
  gpu     training clips/s on the GPU of ResNet-18/34/50 at 16x112^2 (batch --gpu_batch_size), float32 and AMP
          (--amp_dtype), best of --repeat runs of 10 steps after a warm-up; without a GPU: 'skipped: no GPU'
Ratios are what to compare: absolute numbers move with whatever else the machine is doing.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SECTIONS = ('model', 'loader', 'e2e', 'prep', 'flops', 'gpu')
GPU_DEPTHS = (18, 34, 50)


def best_seconds(step, repeat):
    """Fastest of ``repeat`` timed calls after one warm-up call."""
    step()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def model_options(args):
    return dict(model=args.model, model_depth=args.model_depth, n_classes=args.n_classes,
                resnet_shortcut=args.resnet_shortcut, kernel_type=args.kernel_type,
                resnet_widen_factor=args.resnet_widen_factor, data_format=args.data_format)


def random_batch(args, batch_size):
    rng = np.random.RandomState(0)
    clips = rng.randn(batch_size, 3, args.sample_duration, args.sample_size, args.sample_size).astype('float32')
    return clips, (np.arange(batch_size) % args.n_classes).astype('int64')


def paddle_model_rows(args, tuned):
    import paddle
    import paddle.nn.functional as F
    import models
    from engine.runtime import AMP_WHITE_LIST, compile_predict, select_device, use_static_graph
    if tuned:
        device, _ = select_device(args.device)
    else:
        device = 'gpu' if args.device == 'gpu' else 'cpu'
        paddle.set_device(device)
    paddle.seed(0)
    model = models.generate_model(model_options(args))
    optimizer = paddle.optimizer.Momentum(0.01, 0.9, parameters=model.parameters())
    clips, targets = random_batch(args, args.batch_size)
    clips, targets = models.to_data_format(paddle.to_tensor(clips), args.data_format), paddle.to_tensor(targets)
    amp = args.amp and device == 'gpu'

    def train_step():
        with paddle.amp.auto_cast(enable=amp, dtype=args.amp_dtype, custom_white_list=AMP_WHITE_LIST):
            loss = F.cross_entropy(model(clips).astype('float32'), targets)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)

    label = 'paddle' if tuned else 'paddle untuned'
    model.train()
    rows = [dict(framework=label, mode='train', graph='dygraph', batch=args.batch_size,
                 seconds=best_seconds(train_step, args.repeat))]
    family = models.resolve_model_options(model_options(args))['family']
    if tuned and use_static_graph('auto', device, amp=amp, data_format=args.data_format, training=True, family=family):
        rows.append(dict(framework=label, mode='train', graph='static oneDNN', batch=args.batch_size,
                         seconds=best_seconds(static_train_step(args, clips, targets), args.repeat)))
    static_choices = [False] + ([True] if tuned and use_static_graph('auto', device, amp=amp) else [])
    inputs = clips[:args.infer_batch_size]
    for static in static_choices:
        predict = compile_predict(model, inputs.shape[1:], static)
        with paddle.no_grad():
            seconds = best_seconds(lambda: predict(inputs).numpy(), args.repeat)
        rows.append(dict(framework=label, mode='inference', graph='static oneDNN' if static else 'dygraph',
                         batch=args.infer_batch_size, seconds=seconds))
    return rows


def static_train_step(args, clips, targets):
    """A training step of a fresh copy of the model in the static oneDNN graph (--train_graph static)."""
    import paddle
    import models
    from benchmarks.bench_static_training import StaticStep
    paddle.seed(0)
    model = models.generate_model(model_options(args))
    model.train()
    step = StaticStep(model, paddle.optimizer.Momentum(0.01, 0.9, parameters=model.parameters()), clips.shape[1:])
    return lambda: step(clips, targets)


def torch_model_rows(args):
    import torch
    from benchmarks.parity import torch_reference_models
    torch.set_num_threads(args.torch_threads or os.cpu_count() or 1)
    torch.manual_seed(0)
    if args.kernel_type != '3d' or args.data_format != 'NCDHW' or args.resnet_widen_factor != 1.0:
        print('model: no PyTorch rows (the PyTorch models have the 3d kernel, NCDHW and full width only)')
        return []
    model = torch_reference_models.build(args.model, args.model_depth, n_classes=args.n_classes,
                                         resnet_shortcut=args.resnet_shortcut)
    optimizer = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9)
    clips, targets = (torch.from_numpy(a) for a in random_batch(args, args.batch_size))

    def train_step():
        loss = torch.nn.functional.cross_entropy(model(clips), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    rows = [dict(framework='torch', mode='train', graph='eager', batch=args.batch_size,
                 seconds=best_seconds(train_step, args.repeat))]
    model.eval()
    inputs = clips[:args.infer_batch_size]
    with torch.no_grad():
        rows.append(dict(framework='torch', mode='inference', graph='eager', batch=args.infer_batch_size,
                         seconds=best_seconds(lambda: model(inputs), args.repeat)))
    return rows


def untuned_rows(args):
    """The model rows of a child process that skips engine.runtime's CPU settings."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'untuned.json')
        command = [sys.executable, '-m', 'benchmarks.benchmark', '--sections', 'model', '--untuned', '--json', out,
                   '--quiet'] + args.model_argv
        env = {k: v for k, v in os.environ.items() if k not in ('OMP_NUM_THREADS', 'MKL_DEBUG_CPU_TYPE')}
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)['model']


def model_section(args):
    if args.untuned:
        return paddle_model_rows(args, tuned=False)
    rows = paddle_model_rows(args, tuned=True)
    if args.device != 'gpu':
        rows += untuned_rows(args)
        try:
            rows += torch_model_rows(args)
        except ImportError:
            print('model: torch is not installed, no PyTorch rows (pip install torch==2.13.0)')
    for row in rows:
        row['clips_per_s'] = row['batch'] / row['seconds']
    reference = {row['mode']: row['seconds'] / row['batch'] for row in rows if row['framework'] == 'torch'}
    for row in rows:
        if row['mode'] in reference:
            row['time_vs_torch'] = row['seconds'] / row['batch'] / reference[row['mode']]
    return rows


def flops_section(args):
    import models
    from benchmarks.model_table import count_macs, count_params
    model = models.generate_model(dict(model_options(args), data_format='NCDHW'))
    clip = (args.sample_duration, args.sample_size, args.sample_size)
    return {'params_m': count_params(model) / 1e6, 'gmacs_per_clip': count_macs(model, clip) / 1e9,
            'clip': list(clip)}


def update(loss, optimizer, scaler=None):
    """Backward and one optimizer step on ``loss`` (through the AMP GradScaler when there is one); returns it."""
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()
    optimizer.clear_grad()
    return loss


def gpu_train_clips_per_s(depth, batch_size, amp, amp_dtype='float16', steps=10, repeat=1, n_classes=101):
    """Training clips/s of ResNet-``depth`` at 16x112^2 on the current GPU (forward, backward, SGD update;
    AMP O1 with conv3d in the white list and a GradScaler), the best of ``repeat`` runs of ``steps`` steps."""
    import paddle
    import paddle.nn.functional as F
    import models
    from engine.runtime import AMP_WHITE_LIST
    paddle.seed(0)
    with paddle.utils.unique_name.guard():
        model = models.generate_model(dict(model='resnet', model_depth=depth, n_classes=n_classes))
    model.train()
    optimizer = paddle.optimizer.Momentum(0.01, momentum=0.9, parameters=model.parameters())
    scaler = paddle.amp.GradScaler() if amp else None
    clips = paddle.randn([batch_size, 3, 16, 112, 112])
    targets = paddle.randint(0, n_classes, [batch_size])

    def step():
        with paddle.amp.auto_cast(enable=amp, dtype=amp_dtype, custom_white_list=AMP_WHITE_LIST):
            loss = F.cross_entropy(model(clips).astype('float32'), targets)
        return update(loss, optimizer, scaler)

    for _ in range(3):
        step()
    best = 0.0
    for _ in range(max(1, repeat)):
        paddle.device.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(steps):
            loss = step()
        loss.item()
        paddle.device.cuda.synchronize()
        best = max(best, batch_size * steps / (time.perf_counter() - start))
    return best


def gpu_section(args):
    from engine import compat
    if not compat.has_gpu():
        print('gpu: skipped: no GPU')
        return {'skipped': 'no GPU'}
    import paddle
    paddle.set_device('gpu')
    rows = []
    for depth in GPU_DEPTHS:
        for amp in (False, True):
            rows.append({'model': f'resnet-{depth}', 'precision': args.amp_dtype if amp else 'float32',
                         'batch': args.gpu_batch_size, 'clip': [16, 112, 112],
                         'clips_per_s': gpu_train_clips_per_s(depth, args.gpu_batch_size, amp, args.amp_dtype,
                                                              repeat=args.repeat)})
    return {'gpu_name': paddle.device.cuda.get_device_name(0), 'rows': rows}


def loader_section(args):
    from benchmarks.bench_loader import LOADERS, loader_throughput, write_jpeg_dataset
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        video_path, annotation_path = write_jpeg_dataset(tmp)
        for mode in ('train', 'val'):
            for loader in LOADERS:
                result = loader_throughput(video_path, annotation_path, loader, mode, args.loader_workers,
                                           args.loader_clips, sample_size=112, sample_duration=16)
                rows.append(dict(mode=mode, loader=loader, workers=args.loader_workers,
                                 clips_per_s=result['clips_per_s'], clips_per_cpu_s=result['clips_per_cpu_s']))
    return rows


class _Timers:
    """Wall seconds spent inside wrapped functions, by name."""

    def __init__(self):
        self.seconds = {}

    def wrap(self, owner, attribute, name):
        real = getattr(owner, attribute)

        def timed(*a, **k):
            start = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        setattr(owner, attribute, timed)


def e2e_probe(out_path, main_argv):
    """main.py's main(main_argv) in this process, timing its parts; writes {part: seconds} to out_path."""
    import main
    from engine import optim, training
    timers = _Timers()
    timers.wrap(training, 'train_one_epoch', 'training epochs')
    timers.wrap(training, 'train_step', 'train steps')
    timers.wrap(optim.PyTorchSGD, 'step', 'optimizer')
    timers.wrap(training, 'validate', 'validation')
    timers.wrap(training, 'save_epoch_checkpoints', 'checkpoints')
    main.main(main_argv)  # returns the metrics; a failure raises SystemExit
    with open(out_path, 'w') as f:
        json.dump(timers.seconds, f)
    return 0


def _timed_run(command, log_path):
    start = time.perf_counter()
    with open(log_path, 'w') as log:
        status = subprocess.run(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT).returncode
    if status:
        with open(log_path) as log:
            raise RuntimeError('e2e: {} failed:\n{}'.format(' '.join(command[:3]), ''.join(log.readlines()[-15:])))
    return time.perf_counter() - start


def e2e_section(args):
    from benchmarks.parity import harness as parity
    from benchmarks.bench_loader import write_jpeg_dataset
    recipe = parity.parse_args(['--n_epochs', str(args.e2e_epochs), '--milestones', str(args.e2e_epochs - 1),
                                '--n_classes', '3', '--learning_rate', '0.01'])
    with tempfile.TemporaryDirectory(prefix='benchmark_e2e_') as tmp:
        video_path, annotation_path = write_jpeg_dataset(tmp, n_classes=3, n_train=args.e2e_videos, n_val=4,
                                                         n_frames=32)
        os.rename(annotation_path, os.path.join(tmp, 'ucf101_01.json'))  # the name parity's commands use
        n_train = 3 * args.e2e_videos
        timings = os.path.join(tmp, 'timings.json')
        ours = (['--video_path', video_path, '--annotation_path', os.path.join(tmp, 'ucf101_01.json'),
                 '--dataset', 'ucf101', '--device', 'cpu', '--model', 'resnet', '--lr_scheduler', 'multistep',
                 '--train_crop', 'corner', '--checkpoint', str(args.e2e_epochs), '--manual_seed', '1', '--no_tqdm']
                + parity.recipe_flags(recipe))
        probe = ('import sys; from benchmarks.benchmark import e2e_probe; '
                 'sys.exit(e2e_probe(sys.argv[1], sys.argv[2:]))')
        rows = {}
        for side, graph in (('paddle', 'auto'), ('paddle dygraph', 'dygraph')):  # auto: main.py's default
            result = os.path.join(tmp, side.replace(' ', '_'))
            wall = _timed_run([sys.executable, '-c', probe, timings] + ours
                              + ['--result_path', result, '--train_graph', graph], result + '.log')
            with open(timings) as f:
                parts = json.load(f)
            rows[side] = {'wall_s': wall, 'train_loop_s': parts['training epochs'],
                          'data_wait_s': parts['training epochs'] - parts['train steps'],
                          'forward_backward_s': parts['train steps'] - parts['optimizer'],
                          'optimizer_s': parts['optimizer'], 'validation_s': parts.get('validation', 0.0),
                          'checkpoints_s': parts.get('checkpoints', 0.0)}
            rows[side]['other_s'] = wall - sum(parts.get(k, 0.0) for k in ('training epochs', 'validation',
                                                                          'checkpoints'))
        try:
            import torch  # noqa: F401
        except ImportError:
            print('e2e: torch is not installed, no reference side')
        else:
            (command,) = parity.torch_commands(recipe, tmp, os.path.join(tmp, 'torch'), 1)
            torch_wall = _timed_run(command, os.path.join(tmp, 'torch.log'))
            with open(os.path.join(tmp, 'torch', 'metrics.json')) as f:
                rows['torch'] = {'wall_s': torch_wall, 'train_loop_s': json.load(f)['train_seconds']}
    for row in rows.values():
        row['clips_per_s'] = args.e2e_epochs * n_train / row['train_loop_s']
    return {'epochs': args.e2e_epochs, 'training_clips_per_epoch': n_train, 'validation_videos': 3 * 4,
            'recipe': 'ResNet-10-B, 3x8x48x48 clips, batch 8, 2 loader workers, 320x240 JPEG frames', **rows}


def prep_section(args):
    from benchmarks.bench_video_jpg import bench
    from scripts.make_demo_dataset import make_dataset
    from utils.video_jpg_ucf101_hmdb51 import default_jobs
    tmp = tempfile.mkdtemp(prefix='benchmark_prep_')
    try:
        with open(os.devnull, 'w') as null:
            make_dataset(tmp, n_classes=3, n_groups=2, n_clips=2, n_frames=48, frames_jitter=0, progress=False,
                         out=null)
        jobs = default_jobs()
        result = bench(os.path.join(tmp, 'UCF-101'), 'pyav', jobs, work_dir=tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dict(result, jobs=jobs, videos_per_s=result['videos'] / result['seconds'],
                frames_per_s=result['frames'] / result['seconds'])


def environment():
    import paddle
    versions = {'python': platform.python_version(), 'paddle': paddle.__version__, 'numpy': np.__version__}
    try:
        import torch
        versions['torch'] = torch.__version__
    except ImportError:
        pass
    from benchmarks.results import cpu_model
    return {'date': datetime.date.today().isoformat(), 'cpu': cpu_model(), 'cores': os.cpu_count(), **versions}


def print_e2e(e):
    """The e2e section: main.py's and the reference loop's times and where our wall time goes."""
    print(f"\ne2e: {e['epochs']} epochs x {e['training_clips_per_epoch']} training clips "
          f"(our side also validates {e['validation_videos']} videos every epoch), {e['recipe']}")
    print('| side          | process wall s | training loop s | clips/s | loop time vs torch |')
    print('|---------------|----------------|-----------------|---------|--------------------|')
    sides = [side for side in ('paddle', 'paddle dygraph', 'torch') if side in e]
    for side in sides:
        r = e[side]
        ratio = f"{r['train_loop_s'] / e['torch']['train_loop_s']:.2f}x" if 'torch' in e else ''
        print(f"| {side:<14}| {r['wall_s']:>14.1f} | {r['train_loop_s']:>15.1f} | {r['clips_per_s']:>7.1f} "
              f"| {ratio:>18} |")
    shares = [('data wait', 'data_wait_s'), ('forward+backward', 'forward_backward_s'),
              ('optimizer', 'optimizer_s'), ('validation', 'validation_s'), ('checkpoints', 'checkpoints_s'),
              ('start-up and the rest', 'other_s')]
    for side in sides[:-1] if 'torch' in e else sides:
        p = e[side]
        print(f'{side} wall time: ' + ', '.join(f"{name} {100 * p[key] / p['wall_s']:.0f} %"
                                                 for name, key in shares))


def print_gpu(g):
    """The gpu section: training clips/s by model and precision."""
    if 'skipped' in g:
        print(f"\ngpu: skipped: {g['skipped']}")
    else:
        print(f"\ngpu: {g['gpu_name']}, training clips/s at 16x112x112 (forward, backward, SGD update)")
        print('| model     | precision | batch | clips/s |')
        print('|-----------|-----------|-------|---------|')
        for r in g['rows']:
            print(f"| {r['model']:<10}| {r['precision']:<10}| {r['batch']:>5} | {r['clips_per_s']:>7.1f} |")


def print_report(report, args):
    env = report['environment']
    print(f"# {env['date']}, {env['cpu']}, {env['cores']} cores; "
          + ', '.join(f'{k} {env[k]}' for k in ('python', 'paddle', 'numpy', 'torch') if k in env))
    if 'model' in report:
        print(f"\nmodel {args.model}-{args.model_depth} ({args.kernel_type}, widen {args.resnet_widen_factor}, "
              f"{args.data_format}), clips 3x{args.sample_duration}x{args.sample_size}x{args.sample_size}, "
              f"device {args.device}")
        print(f"| {'framework':<15}| {'mode':<10}| {'graph':<14}| batch | s/batch | clips/s | time vs torch |")
        print('|' + '|'.join('-' * n for n in (16, 11, 15, 7, 9, 9, 15)) + '|')
        for r in report['model']:
            ratio = f"{r['time_vs_torch']:.2f}x" if 'time_vs_torch' in r else ''
            print(f"| {r['framework']:<15}| {r['mode']:<10}| {r['graph']:<14}| {r['batch']:>5} | {r['seconds']:>7.3f} "
                  f"| {r['clips_per_s']:>7.2f} | {ratio:>13} |")
    if 'flops' in report:
        f = report['flops']
        print(f"\nflops: {f['params_m']:.2f} M parameters, {f['gmacs_per_clip']:.2f} GMACs per clip "
              f"({'x'.join(map(str, f['clip']))})")
    if 'loader' in report:
        print('\nloader: JPEG tree (320x240) -> normalised 3x16x112x112 batch; per CPU second: workers 0 only')
        print('| mode  | loader     | workers | clips/s | vs naive | clips per CPU s | vs naive |')
        print('|-------|------------|---------|---------|----------|-----------------|----------|')
        naive = {r['mode']: r for r in report['loader'] if r['loader'] == 'naive'}
        for r in report['loader']:
            base = naive[r['mode']]
            cpu = (f"{r['clips_per_cpu_s']:>15.1f} | {r['clips_per_cpu_s'] / base['clips_per_cpu_s']:>7.2f}x"
                   if r['clips_per_cpu_s'] else f"{'':>15} | {'':>8}")
            print(f"| {r['mode']:<6}| {r['loader']:<11}| {r['workers']:>7} | {r['clips_per_s']:>7.1f} "
                  f"| {r['clips_per_s'] / base['clips_per_s']:>7.2f}x | {cpu} |")
    if 'e2e' in report:
        print_e2e(report['e2e'])
    if 'gpu' in report:
        print_gpu(report['gpu'])
    if 'prep' in report:
        p = report['prep']
        print(f"\nprep (avi -> jpg, PyAV, {p['jobs']} jobs): {p['videos']} videos, {p['frames']} frames in "
              f"{p['seconds']:.2f} s = {p['videos_per_s']:.1f} videos/s, {p['frames_per_s']:.0f} frames/s")


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split('\n')[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--sections', nargs='+', default=list(SECTIONS), choices=SECTIONS, help='what to measure')
    p.add_argument('--json', default='', help='also write the results to this JSON file')
    g = p.add_argument_group('model section (and flops)')
    g.add_argument('--model', default='resnet')
    g.add_argument('--model_depth', default=18, type=int)
    g.add_argument('--kernel_type', default='3d')
    g.add_argument('--resnet_shortcut', default='B')
    g.add_argument('--resnet_widen_factor', default=1.0, type=float)
    g.add_argument('--n_classes', default=101, type=int)
    g.add_argument('--data_format', default='NCDHW', choices=['NCDHW', 'NDHWC'])
    g.add_argument('--sample_size', default=112, type=int)
    g.add_argument('--sample_duration', default=16, type=int)
    g.add_argument('--batch_size', default=2, type=int, help='clips per training step')
    g.add_argument('--infer_batch_size', default=1, type=int, help='clips per inference call (<= --batch_size)')
    g.add_argument('--device', default='cpu', choices=['cpu', 'gpu'])
    g.add_argument('--amp', action='store_true', help='train with automatic mixed precision (GPU)')
    g.add_argument('--amp_dtype', default='float16', choices=['float16', 'bfloat16'])
    g.add_argument('--repeat', default=2, type=int, help='timed calls after the warm-up; the fastest counts')
    g.add_argument('--torch_threads', default=0, type=int, help='PyTorch threads (0: one per core)')
    g.add_argument('--untuned', action='store_true',
                   help='measure Paddle without engine.runtime.configure_cpu (the child process of the model section)')
    g = p.add_argument_group('gpu section')
    g.add_argument('--gpu_batch_size', default=16, type=int, help='clips per training step on the GPU')
    g = p.add_argument_group('loader section')
    g.add_argument('--loader_workers', default=0, type=int, help='DataLoader workers (0: in the main process)')
    g.add_argument('--loader_clips', default=96, type=int, help='clips loaded per measurement')
    g = p.add_argument_group('e2e section')
    g.add_argument('--e2e_epochs', default=3, type=int, help='epochs of each side (at least 2)')
    g.add_argument('--e2e_videos', default=16, type=int, help='training videos per class (3 classes)')
    p.add_argument('--quiet', action='store_true', help='no table on stdout')
    return p


MODEL_FLAGS = ('--model', '--model_depth', '--kernel_type', '--resnet_shortcut', '--resnet_widen_factor',
               '--n_classes', '--data_format', '--sample_size', '--sample_duration', '--batch_size',
               '--infer_batch_size', '--device', '--repeat')


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.infer_batch_size > args.batch_size:
        build_parser().error('--infer_batch_size must not exceed --batch_size')
    args.model_argv = [item for flag in MODEL_FLAGS for item in (flag, str(getattr(args, flag[2:])))]
    report = {'environment': environment(), 'arguments': {k: v for k, v in vars(args).items() if k != 'model_argv'}}
    for section in SECTIONS:
        if section in args.sections:
            start = time.perf_counter()
            report[section] = globals()[f'{section}_section'](args)
            if not args.quiet:
                print(f'[{section}: {time.perf_counter() - start:.0f} s]', file=sys.stderr, flush=True)
    if not args.quiet:
        print_report(report, args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
