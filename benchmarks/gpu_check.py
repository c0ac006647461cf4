"""GPU acceptance run: every GPU path of the project, checked in one command (docs/GPU.md reads its report).

    python -m benchmarks.gpu_check --json gpu_check.json          # about 2-5 minutes on one GPU

Checks: a training step in float32; AMP float16 and bfloat16 at O1 and O2 (finite loss, close to float32 on
the same batch and weights); NDHWC equals NCDHW; DataLoader clips/s by worker count at the paper's 16 x 112^2
clips and the GPU step's clips/s (so: how many workers keep the GPU busy); test.py on the GPU equals test.py on
the CPU for the same checkpoint; export_model.py + a paddle.inference GPU predictor equals the CPU predictor
(which export_model.py checks against the dynamic model); with two or more GPUs a 2-process
paddle.distributed.launch run, with and without --batchnorm_sync.

Without a GPU every check that can runs on the CPU and the rest are reported as "skipped: no GPU" (CI runs it
so that it cannot rot). Exit status 1 if any check failed, else 0.
"""
import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from core.preload import before_paddle  # noqa: E402

before_paddle()

import numpy as np  # noqa: E402
import paddle  # noqa: E402
import paddle.nn.functional as F  # noqa: E402

import models  # noqa: E402
from benchmarks.benchmark import gpu_train_clips_per_s, update  # noqa: E402
from engine import compat  # noqa: E402
from engine.runtime import AMP_WHITE_LIST  # noqa: E402

PASS, FAIL, SKIP = 'pass', 'fail', 'skipped'
# loss of an AMP step relative to float32's on the same batch and weights
AMP_TOLERANCE = {'float16': 0.02, 'bfloat16': 0.05}


class Skip(Exception):
    """The check cannot run here (the message says why)."""


class CheckFailed(Exception):
    """The check ran and its result is wrong."""


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


# ----------------------------------------------------------------------------------------------
# shared pieces


def model_options(ctx, data_format='NCDHW'):
    return dict(model='resnet', model_depth=ctx.args.model_depth, n_classes=ctx.args.n_classes,
                resnet_widen_factor=ctx.args.resnet_widen_factor, data_format=data_format)


def build_model(ctx, data_format='NCDHW'):
    with paddle.utils.unique_name.guard():
        model = models.generate_model(model_options(ctx, data_format))
    if ctx.initial_state is None:
        ctx.initial_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    else:
        model.set_state_dict({k: paddle.to_tensor(v) for k, v in ctx.initial_state.items()})
    return model


def fixed_batch(ctx):
    rng = np.random.default_rng(0)
    a = ctx.args
    clips = (rng.standard_normal((a.batch_size, 3, a.sample_duration, a.sample_size, a.sample_size)) * 50)
    targets = rng.integers(0, a.n_classes, a.batch_size)
    return paddle.to_tensor(clips.astype('float32')), paddle.to_tensor(targets.astype('int64'))


def one_step(ctx, amp_dtype=None, level='O1'):
    """Loss of one SGD step from the shared initial weights on the shared batch, and whether every parameter
    is finite after the update."""
    model = build_model(ctx)
    model.train()
    optimizer = paddle.optimizer.Momentum(0.01, momentum=0.9, parameters=model.parameters())
    scaler = None
    if amp_dtype is not None:
        if level == 'O2':
            model, optimizer = paddle.amp.decorate(models=model, optimizers=optimizer, level='O2', dtype=amp_dtype,
                                                   master_weight=True)
        scaler = paddle.amp.GradScaler(init_loss_scaling=2.0 ** 10)
    clips, targets = fixed_batch(ctx)
    with paddle.amp.auto_cast(enable=amp_dtype is not None, dtype=amp_dtype or 'float16', level=level,
                              custom_white_list=AMP_WHITE_LIST):
        logits = model(clips)
        loss = F.cross_entropy(logits.astype('float32'), targets)
    update(loss, optimizer, scaler)
    finite = all(bool(np.isfinite(p.astype('float32').numpy()).all()) for p in model.parameters())
    return float(loss.item()), finite, str(logits.dtype).replace('paddle.', '')


def run(command, log_path, timeout, env=None):
    """Run a repository command; CheckFailed with its log's tail if it fails."""
    with open(log_path, 'w') as log:
        proc = subprocess.run(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=timeout,
                              env=env)
    if proc.returncode != 0:
        with open(log_path) as log:
            tail = log.read()[-1500:]
        raise CheckFailed(f'{" ".join(os.path.basename(c) for c in command[:3])} exited {proc.returncode}; '
                          f'log {log_path}:\n{tail}')


def tiny_dataset(ctx):
    """A small JPEG-frame dataset (2 classes) for main.py / test.py, written once."""
    if ctx.tiny is None:
        from datasets.synthetic import write_jpeg_dataset
        root = os.path.join(ctx.work, 'tiny')
        video_path, annotation_path = write_jpeg_dataset(root, n_classes=2, n_train=2, n_val=2, n_frames=16,
                                                         width=80, height=60)
        ctx.tiny = (video_path, annotation_path)
    return ctx.tiny


def tiny_flags(ctx, result_path, device):
    video_path, annotation_path = tiny_dataset(ctx)
    return ['--video_path', video_path, '--annotation_path', annotation_path, '--dataset', 'ucf101',
            '--n_classes', '2', '--model', 'resnet', '--model_depth', '10', '--resnet_widen_factor', '0.25',
            '--sample_size', '32', '--sample_duration', '8', '--batch_size', '4', '--n_threads', '0', '--no_tqdm',
            '--result_path', result_path, '--device', device]


def checkpoint(ctx):
    """main.py trained for one epoch on the CPU: the checkpoint test.py and export_model.py are checked on."""
    if ctx.checkpoint is None:
        result = os.path.join(ctx.work, 'train')
        run([sys.executable, 'main.py'] + tiny_flags(ctx, result, 'cpu') + ['--n_epochs', '1', '--checkpoint', '1'],
            os.path.join(ctx.work, 'train.log'), ctx.args.timeout)
        ctx.checkpoint = os.path.join(result, 'last.pdparams')
        require(os.path.isfile(ctx.checkpoint), f'main.py wrote no {ctx.checkpoint}')
    return ctx.checkpoint


def video_scores(path):
    with open(path) as f:
        results = json.load(f)['results']
    return {video: {row['label']: row['score'] for row in rows} for video, rows in results.items()}


# ----------------------------------------------------------------------------------------------
# checks: each returns (detail, metrics) or raises Skip / CheckFailed


def check_train_float32(ctx):
    loss, finite, dtype = one_step(ctx)
    require(math.isfinite(loss) and finite, f'loss {loss}, parameters finite: {finite}')
    ctx.float32_loss = loss
    return f'loss {loss:.5f} on {ctx.device}', {'loss': loss}


def amp_check(dtype, level):
    def check(ctx):
        if not ctx.gpu:
            with warnings.catch_warnings():  # 'amp_guard can only be enabled on CUDAPlace ...'
                warnings.simplefilter('ignore')
                one_step(ctx, dtype, level)  # the harness runs, so it cannot rot; AMP does nothing on the CPU
            raise Skip('no GPU (the step ran on the CPU, where AMP does nothing)')
        if dtype == 'bfloat16' and not compat.bfloat16_supported():
            raise Skip('this GPU has no bfloat16 (compute capability < 8.0)')
        reference = ctx.float32_loss if ctx.float32_loss is not None else one_step(ctx)[0]
        loss, finite, logits_dtype = one_step(ctx, dtype, level)
        relative = abs(loss - reference) / max(abs(reference), 1e-6)
        metrics = {'loss': loss, 'float32_loss': reference, 'relative_difference': relative,
                   'logits_dtype': logits_dtype}
        require(math.isfinite(loss) and finite, f'loss {loss}, parameters finite after the step: {finite}')
        require(relative <= AMP_TOLERANCE[dtype], f'loss {loss:.5f} vs float32 {reference:.5f}: relative '
                                                  f'{relative:.3g} > {AMP_TOLERANCE[dtype]}')
        return f'loss {loss:.5f} vs float32 {reference:.5f} (relative {relative:.2g}), logits {logits_dtype}', metrics
    return check


def check_ndhwc_equals_ncdhw(ctx):
    first, last = build_model(ctx, 'NCDHW'), build_model(ctx, 'NDHWC')
    clips, _ = fixed_batch(ctx)
    first.eval()
    last.eval()
    with paddle.no_grad():
        a = first(clips).numpy()
        b = last(clips.transpose([0, 2, 3, 4, 1])).numpy()
    difference = float(np.abs(a - b).max())
    scale = float(np.abs(a).max()) or 1.0
    require(difference <= 1e-4 * max(scale, 1.0), f'logits differ by {difference:.3g} (scale {scale:.3g})')
    return f'max logit difference {difference:.2g} on {ctx.device}', {'max_difference': difference}


def check_loader(ctx):
    """Clips/s of the 'fast' training loader at 16 x 112^2 by worker count (normalised batches on the host)."""
    from benchmarks.bench_loader import loader_throughput
    from datasets.synthetic import write_jpeg_dataset
    video_path, annotation_path = write_jpeg_dataset(os.path.join(ctx.work, 'loader'), n_classes=2, n_train=3,
                                                     n_val=1, n_frames=48)
    workers = sorted({0, 1, 2, *ctx.args.workers} - {w for w in ctx.args.workers if w < 0})
    rates = {}
    for w in workers:
        row = loader_throughput(video_path, annotation_path, 'fast', 'train', w, ctx.args.loader_clips,
                                sample_size=112, sample_duration=16, batch_size=8)
        rates[w] = row['clips_per_s']
    ctx.loader_rates = rates
    require(all(r > 0 for r in rates.values()), f'a loader delivered nothing: {rates}')
    text = ', '.join(f'{w} workers {r:.0f}' for w, r in rates.items())
    return f'clips/s at 16x112^2: {text}', {'clips_per_s_by_workers': {str(w): r for w, r in rates.items()}}


def check_gpu_step_and_feed(ctx):
    """ResNet-18's training step at 16 x 112^2 on the GPU (float32 and AMP float16) against the loader."""
    if not ctx.gpu:
        raise Skip('no GPU')
    metrics = {}
    for amp in (False, True):
        metrics['amp_float16' if amp else 'float32'] = gpu_train_clips_per_s(18, ctx.args.feed_batch_size, amp)
    fastest = max(metrics.values())
    rates = ctx.loader_rates or {}
    # at least one worker: in the main process, loading and the GPU step take turns
    enough = [w for w, r in sorted(rates.items()) if w > 0 and r >= fastest]
    per_worker = max((r / w for w, r in rates.items() if w > 0), default=0)
    needed = enough[0] if enough else (math.ceil(fastest / per_worker) if per_worker else None)
    metrics.update(workers_needed=needed, cpu_cores=os.cpu_count())
    detail = (f'ResNet-18 step {metrics["float32"]:.0f} clips/s float32, {metrics["amp_float16"]:.0f} AMP; '
              f'{needed} loader workers keep it busy' + ('' if enough else ' (extrapolated)'))
    return detail, metrics


def test_py(ctx, device):
    result = os.path.join(ctx.work, f'test_{device}')
    run([sys.executable, 'test.py'] + tiny_flags(ctx, result, device) + ['--resume_path', checkpoint(ctx)],
        os.path.join(ctx.work, f'test_{device}.log'), ctx.args.timeout)
    return video_scores(os.path.join(result, 'val.json'))


def check_test_py_gpu_equals_cpu(ctx):
    cpu = test_py(ctx, 'cpu')  # runs everywhere, so the harness cannot rot
    require(cpu, 'test.py on the CPU scored no video')
    if not ctx.gpu:
        raise Skip(f'no GPU (test.py on the CPU scored {len(cpu)} videos)')
    gpu = test_py(ctx, 'gpu')
    require(set(gpu) == set(cpu), 'the GPU and CPU runs scored different videos')
    difference = max(abs(gpu[v].get(label, 0.0) - score) for v in cpu for label, score in cpu[v].items())
    require(difference <= 1e-4, f'video scores differ by {difference:.3g}')
    return f'{len(cpu)} videos, max score difference {difference:.2g}', {'max_difference': difference,
                                                                          'videos': len(cpu)}


def export(ctx):
    supported, why = compat.static_graph_support()
    if not supported:  # paddle.jit.save traces the model as the static evaluation graph does
        raise Skip(f'export_model.py {why}')
    if ctx.export is None:
        output = os.path.join(ctx.work, 'export')
        # export_model.py checks its CPU paddle.inference predictor against the dynamic model itself
        run([sys.executable, 'scripts/export_model.py', '--checkpoint', checkpoint(ctx), '--output', output],
            os.path.join(ctx.work, 'export.log'), ctx.args.timeout)
        ctx.export = output
    return ctx.export


def check_export_cpu_predictor(ctx):
    export(ctx)
    return 'export_model.py: paddle.inference on the CPU equals the dynamic model (its own check, 1e-4)', {}


def check_export_gpu_predictor(ctx):
    if not ctx.gpu:
        raise Skip('no GPU')
    from scripts.predict import InferenceModel
    directory = export(ctx)
    clips = (np.random.default_rng(0).standard_normal((2, 3, 8, 32, 32)) * 50).astype('float32')
    cpu = InferenceModel(directory, 'cpu')(clips)
    gpu = InferenceModel(directory, 'gpu')(clips)
    difference = float(np.abs(cpu - gpu).max())
    require(difference <= 1e-3, f'GPU predictor differs from the CPU one by {difference:.3g}')
    return f'GPU predictor vs CPU predictor: max logit difference {difference:.2g}', {'max_difference': difference}


def launch_check(batchnorm_sync):
    def check(ctx):
        if compat.gpu_count() < 2:
            raise Skip('no GPU' if not ctx.gpu else f'needs 2 GPUs, found {compat.gpu_count()}')
        name = 'launch_syncbn' if batchnorm_sync else 'launch'
        result = os.path.join(ctx.work, name)
        command = [sys.executable, '-m', 'paddle.distributed.launch', '--devices', '0,1', '--log_dir',
                   os.path.join(ctx.work, name + '_logs'), 'main.py'] + tiny_flags(ctx, result, 'gpu') + [
                   '--n_epochs', '1'] + (['--batchnorm_sync'] if batchnorm_sync else [])
        run(command, os.path.join(ctx.work, name + '.log'), ctx.args.timeout)
        require(os.path.isfile(os.path.join(result, 'last.pdparams')), 'the 2-process run wrote no last.pdparams')
        return '2 processes, 1 epoch' + (' with --batchnorm_sync' if batchnorm_sync else ''), {}
    return check


CHECKS = [
    ('train_float32', check_train_float32),
    ('amp_float16_O1', amp_check('float16', 'O1')),
    ('amp_float16_O2', amp_check('float16', 'O2')),
    ('amp_bfloat16_O1', amp_check('bfloat16', 'O1')),
    ('amp_bfloat16_O2', amp_check('bfloat16', 'O2')),
    ('ndhwc_equals_ncdhw', check_ndhwc_equals_ncdhw),
    ('loader_workers', check_loader),
    ('gpu_step_vs_loader', check_gpu_step_and_feed),
    ('test_py_gpu_equals_cpu', check_test_py_gpu_equals_cpu),
    ('export_cpu_predictor', check_export_cpu_predictor),
    ('export_gpu_predictor', check_export_gpu_predictor),
    ('launch_2gpu', launch_check(False)),
    ('launch_2gpu_batchnorm_sync', launch_check(True)),
]


# ----------------------------------------------------------------------------------------------
# running and reporting


class Context:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.gpu = compat.has_gpu() and not args.cpu
        self.device = 'gpu' if self.gpu else 'cpu'
        self.initial_state = None
        self.float32_loss = None
        self.loader_rates = None
        self.tiny = None
        self.checkpoint = None
        self.export = None


def run_checks(ctx, names):
    results = []
    for name, check in CHECKS:
        if names and name not in names:
            continue
        start = time.perf_counter()
        try:
            detail, metrics = check(ctx)
            status = PASS
        except Skip as why:
            status, detail, metrics = SKIP, f'skipped: {why}', {}
        except CheckFailed as why:
            status, detail, metrics = FAIL, str(why), {}
        except Exception as error:  # noqa: BLE001 - a crash is a failed check, the others still run
            status, detail, metrics = FAIL, f'{type(error).__name__}: {error}', {'traceback': traceback.format_exc()}
        seconds = time.perf_counter() - start
        results.append({'name': name, 'status': status, 'detail': detail, 'seconds': round(seconds, 2),
                        'metrics': metrics})
        print(f'{status.upper():7} {name:28} {seconds:6.1f} s  {detail.splitlines()[0] if detail else ""}',
              flush=True)
    return results


def environment():
    info = compat.describe()
    info.update(python=platform.python_version(), numpy=np.__version__)
    if compat.has_gpu():
        try:
            info['gpu_name'] = paddle.device.cuda.get_device_name(0)
            info['cuda_version'] = paddle.version.cuda()
            info['cudnn_version'] = paddle.version.cudnn()
        except Exception:  # noqa: BLE001
            pass
    return info


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], allow_abbrev=False)
    p.add_argument('--json', help='write the report here (format: docs/GPU.md)')
    p.add_argument('--checks', nargs='+', choices=[name for name, _ in CHECKS], help='run only these')
    p.add_argument('--cpu', action='store_true', help='run as on a machine without a GPU')
    p.add_argument('--workers', nargs='+', type=int, default=[4, 8], help='loader worker counts to measure '
                                                                          '(0, 1 and 2 always)')
    p.add_argument('--loader_clips', type=int, default=48, help='clips per loader measurement')
    p.add_argument('--feed_batch_size', type=int, default=16, help='batch of the GPU step measurement')
    p.add_argument('--timeout', type=int, default=600, help='seconds allowed to each main.py/test.py run')
    g = p.add_argument_group('the model of the step checks (default: ResNet-18 at 16x112^2 on a GPU, a '
                             'narrow ResNet-10 at 8x32^2 on the CPU)')
    g.add_argument('--model_depth', type=int)
    g.add_argument('--resnet_widen_factor', type=float)
    g.add_argument('--sample_size', type=int)
    g.add_argument('--sample_duration', type=int)
    g.add_argument('--batch_size', type=int)
    g.add_argument('--n_classes', type=int, default=101)
    p.add_argument('--keep', help='keep the working files in this folder (default: a temporary one, removed)')
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    gpu = compat.has_gpu() and not args.cpu
    defaults = (dict(model_depth=18, resnet_widen_factor=1.0, sample_size=112, sample_duration=16, batch_size=8)
                if gpu else dict(model_depth=10, resnet_widen_factor=0.25, sample_size=32, sample_duration=8,
                                 batch_size=4))
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.workers = [w for w in args.workers if w <= (os.cpu_count() or 1)]
    work = args.keep or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(work, exist_ok=True)
    started = time.perf_counter()
    env = environment()
    print(f'gpu_check: Paddle {env["paddle"]}, {"GPU " + env.get("gpu_name", "") if gpu else "no GPU: CPU only"}, '
          f'{env["gpus"]} GPU(s), Python {env["python"]}', flush=True)
    paddle.set_device('gpu' if gpu else 'cpu')
    ctx = Context(args, work)
    try:
        results = run_checks(ctx, args.checks)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary = {status: sum(r['status'] == status for r in results) for status in (PASS, FAIL, SKIP)}
    report = {'format': 'gpu_check/1', 'device': ctx.device, 'environment': env,
              'model': {k: getattr(args, k) for k in ('model_depth', 'resnet_widen_factor', 'sample_size',
                                                      'sample_duration', 'batch_size', 'n_classes')},
              'checks': results, 'summary': summary, 'seconds': round(time.perf_counter() - started, 1),
              'ok': summary[FAIL] == 0}
    print(f'gpu_check: {summary[PASS]} passed, {summary[FAIL]} failed, {summary[SKIP]} skipped '
          f'in {report["seconds"]:.0f} s', flush=True)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return 0 if report['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
