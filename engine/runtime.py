"""How a model runs on the CPU: math threads, MKL's code path, and a static oneDNN graph for inference.

Measured on this project's 2-core AMD EPYC CI machine with Paddle 3.3.1's CPU wheel (docs/PERFORMANCE.md):

* Paddle pins its math libraries to one thread unless told otherwise; ``configure_cpu`` gives them a
  thread per core.
* The wheel's MKL (2019) takes a generic code path on non-Intel CPUs: sgemm 2048^3 ran at 58 GFLOP/s,
  and at 160 GFLOP/s with ``MKL_DEBUG_CPU_TYPE=5`` (MKL reads it at its first call; Intel CPUs ignore it).
* Dynamic-graph CPU convolutions are im2col + GEMM; oneDNN's direct convolutions run only in a static
  graph with ``FLAGS_use_onednn``. ``compile_predict`` builds that graph with ``paddle.jit.to_static``
  over the dygraph model's parameters; engine.static_training does the same for training steps
  (``--train_graph``), working around the oneDNN training graph's batch-norm statistics.
"""
import contextlib
import os
import sys

import paddle
import paddle.nn as nn
from paddle.static import InputSpec

from core.errors import BadInput
from engine import compat

GRAPH_MODES = ('auto', 'static', 'dygraph')


def cpu_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_cpu(threads=0):
    """Math threads (0: one per core) and MKL's fast path; call before the first computation."""
    os.environ.setdefault('MKL_DEBUG_CPU_TYPE', '5')
    threads = int(threads) or cpu_cores()
    paddle.base.core.set_num_threads(threads)
    return threads


def select_device(name, cpu_threads=0):
    """'auto' | 'cpu' | 'gpu' -> (device, math threads or None); ValueError if a GPU is asked for but absent."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if name == 'gpu' and not has_gpu:
        raise BadInput('--device gpu: this Paddle has no CUDA or sees no GPU; '
                         'install paddlepaddle-gpu or use --device cpu')
    device = 'gpu' if has_gpu and name != 'cpu' else 'cpu'
    paddle.set_device(device)
    return device, (configure_cpu(cpu_threads) if device == 'cpu' else None)


# Paddle's O1 white list has conv2d but not conv3d, which would stay float32 under --amp.
AMP_WHITE_LIST = {'conv3d'}


# Families whose static training graph Paddle 3.3.1 cannot run: densenet's aborts the process inside oneDNN
# ("terminate called after throwing an instance of 'std::exception'"), which no Python code can catch.
STATIC_TRAINING_UNSUPPORTED = ('densenet',)


def use_static_graph(graph, device, world_size=1, amp=False, data_format='NCDHW', training=False, family=None,
                     batchnorm_sync=False):
    """The one resolver of the graph choice: --eval_graph, or --train_graph with ``training``. 'auto' is the
    static oneDNN graph for a single CPU process on NCDHW clips without --amp (training: also without
    --batchnorm_sync, for a family its graph supports) where this Paddle can trace it, the dynamic graph
    elsewhere (GPU, AMP and multi-process runs keep the dynamic graph they were tested with); 'static' where
    it cannot run is a BadInput naming why. Evaluation's 'static' needs only NCDHW clips (oneDNN fails on
    channels-last 5-D tensors)."""
    flag = '--train_graph' if training else '--eval_graph'
    if graph not in GRAPH_MODES:
        raise BadInput(f'unknown {flag} {graph!r}; expected one of {", ".join(GRAPH_MODES)}')
    layout = [(data_format != 'NCDHW', 'needs --data_format NCDHW (oneDNN fails on channels-last 5-D tensors)')]
    placement = [(device != 'cpu', 'runs on the CPU only'), (world_size > 1, 'runs in a single process only'),
                 (amp, 'does not run with --amp')]
    if training:
        placement += [(batchnorm_sync, 'does not run with --batchnorm_sync'),
                      (family in STATIC_TRAINING_UNSUPPORTED,
                       f'cannot train --model {family}: Paddle 3.3.1 aborts in its oneDNN training graph')]
    limits = [reason for failed, reason in layout + (placement if training else []) if failed]
    avoided = limits or [reason for failed, reason in placement if failed]
    if graph == 'dygraph' or (graph == 'auto' and avoided):
        return False
    # Paddle 2.6 / 3.0: dynamic-to-static cannot trace the project's layers
    limits = limits or (compat.static_training_reasons() if training else compat.static_graph_reasons())
    if graph == 'static' and limits:
        raise BadInput(f'{flag} static {limits[0]}; use {flag} dygraph')
    if limits:
        compat.note_once(f'{flag} auto: {"training" if training else "evaluating"} in the dynamic graph (the static '
                         f'graph {limits[0]})')
    return not limits


class Logits(nn.Layer):
    """clips -> float32 logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, clips):
        # Paddle 3.3 cannot hand a oneDNN kernel's output back to the dynamic graph ("dst_tensor shall be
        # defined"); assign copies it into a plain tensor.
        return paddle.assign(self.model(clips).astype('float32'))


def compile_predict(model, input_shape, static):
    """``predict(clips) -> float32 logits`` over ``model``'s parameters, in eval mode.

    ``input_shape`` is one clip's shape. With ``static``: a static graph run with oneDNN kernels, for any
    batch size (traced once); otherwise the dynamic-graph model.
    """
    predict = Logits(model)
    if static:
        clips = InputSpec([None] + [int(n) for n in input_shape], 'float32', 'clips')
        predict = OneDNNGraph(paddle.jit.to_static(predict, input_spec=[clips], full_graph=True))
    predict.eval()
    return predict


@contextlib.contextmanager
def onednn():
    """FLAGS_use_onednn on for the block only: left on, the flag makes a later jit.save /
    paddle.inference predictor in the same process crash (Paddle 3.3.1)."""
    flag = compat.onednn_flag()  # FLAGS_use_mkldnn before Paddle 3.2
    previous = paddle.get_flags([flag])[flag]
    paddle.set_flags({flag: True})
    try:
        yield
    finally:
        paddle.set_flags({flag: previous})


@contextlib.contextmanager
def stdout_hidden():
    """File descriptor 1 to /dev/null for the block: a oneDNN training graph's first run prints a line per
    reduction ('ReduceMeanCheckIfOneDNNSupport') from C++."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, 'w') as devnull:
        os.dup2(devnull.fileno(), 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class OneDNNGraph:
    """Runs a to_static layer with oneDNN kernels (``onednn``) for the call only."""

    def __init__(self, layer):
        self.layer = layer

    def eval(self):
        self.layer.eval()

    def __call__(self, clips):
        with onednn():
            return self.layer(clips)


def describe(device, threads, static, static_training=False):
    """One line: the device, its threads, and the graph evaluation runs in (and training, when static)."""
    graph = 'static oneDNN graph' if static else 'dynamic graph'
    training = ', training in a static oneDNN graph' if static_training else ''
    return (f'device {device}' + (f', {threads} math threads' if device == 'cpu' else '')
            + f'{training}, evaluation in a {graph}')
