"""What this Paddle can do, found by trying it (feature detection), never by its version number.

The supported range is Paddle 2.6 to 3.3 (README, requirements.txt; .ci/run checks both ends). The versions
differ where this project touches Paddle's edges:

* the oneDNN switch is ``FLAGS_use_onednn`` from 3.2, ``FLAGS_use_mkldnn`` before (3.0 and 3.1 know the new
  name but ``paddle.get_flags`` refuses it): ``onednn_flag`` returns the one that can be read and set.
* dynamic-to-static: 2.6's fails on models._common.BatchNorm3D's zero-argument ``super().forward`` (``super():
  no arguments``), and 2.6's and 3.0's on a layer whose ``forward`` is an instance attribute (``'function'
  object has no attribute '__func__'``), as engine.static_training's training graph makes of every batch norm.
  ``static_graph_support`` / ``static_training_support`` trace a conv + the project's batch norm in the
  evaluation / training graph once and say whether that graph can run here.
* bfloat16 autocast, ``paddle.inference`` and CUDA: ``bfloat16_supported``, ``has_gpu``.

Every probe runs at most once per process (``functools.lru_cache``).
"""
import functools
import warnings

import numpy as np
import paddle

__all__ = ['paddle_version', 'onednn_flag', 'static_graph_support',
           'static_training_support', 'static_graph_reasons', 'static_training_reasons', 'note_once', 'has_gpu', 'gpu_count', 'bfloat16_supported', 'describe']


def paddle_version():
    """'3.3.1' (for messages only: nothing here branches on it)."""
    return getattr(paddle, '__version__', 'unknown')


# Newest name first: 3.2+ reads FLAGS_use_onednn; 3.0/3.1 define it but get_flags refuses it
# ('cannot get its value through this function'), and 2.6 only has FLAGS_use_mkldnn.
_ONEDNN_FLAGS = ('FLAGS_use_onednn', 'FLAGS_use_mkldnn')


@functools.lru_cache(maxsize=None)
def onednn_flag():
    """The name of the flag that switches oneDNN kernels on in this Paddle, or None if it has none."""
    for name in _ONEDNN_FLAGS:
        try:
            paddle.get_flags([name])
        except (ValueError, RuntimeError, KeyError):
            continue
        return name
    return None


def _probe_model():
    """Conv3D + the project's BatchNorm3D (models._common) -> 2 logits per clip of 1 x 1 x 2 x 2."""
    from models import BatchNorm3D

    class Probe(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv3D(1, 2, 1)
            self.bn = BatchNorm3D(2)

        def forward(self, x):
            return self.bn(self.conv(x)).mean(axis=[2, 3, 4])

    with paddle.utils.unique_name.guard():
        return Probe()


def _traces(training):
    """(True, '') if the probe traces in the static graph engine.runtime (evaluation) or engine.static_training
    (``training``) builds, and computes what the dynamic graph computes; else (False, why)."""
    from paddle.static import InputSpec
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            model = _probe_model()
            x = paddle.to_tensor(np.arange(8, dtype='float32').reshape([2, 1, 1, 2, 2]))
            if training:
                from engine.static_training import TrainGraph
                graph = TrainGraph(model)
                targets = paddle.to_tensor(np.array([0, 1], dtype='int64'))
                model.train()
                expected = TrainGraph.forward(graph, x, targets)[0].numpy()
                spec = [InputSpec([None, 1, 1, 2, 2], 'float32'), InputSpec([None], 'int64')]
                got = paddle.jit.to_static(graph, input_spec=spec, full_graph=True)(x, targets)[0].numpy()
            else:
                model.eval()
                expected = model(x).numpy()
                spec = [InputSpec([None, 1, 1, 2, 2], 'float32')]
                got = paddle.jit.to_static(model, input_spec=spec, full_graph=True)(x).numpy()
    except Exception as error:  # noqa: BLE001 - any failure means the graph cannot run here
        name = type(error).__name__
        last = (str(error).strip().splitlines() or [''])[-1].strip()
        last = last[len(name) + 1:].strip() if last.startswith(name + ':') else last
        return False, (f'cannot run on Paddle {paddle_version()}: its dynamic-to-static fails on this '
                       f"project's layers ({name}: {last[:100]})")
    if not np.allclose(got, expected, rtol=1e-4, atol=1e-5):
        return False, (f'cannot run on Paddle {paddle_version()}: its dynamic-to-static computes this '
                       f"project's layers wrongly")
    return True, ''


@functools.lru_cache(maxsize=None)
def static_graph_support():
    """(True, '') where engine.runtime's static evaluation graph (and paddle.jit.save: scripts/export_model.py)
    can trace this project's layers, else (False, why). Traces a two-channel conv + batch norm once per process
    (a fraction of a second)."""
    if onednn_flag() is None:
        return False, f'cannot run on Paddle {paddle_version()}: it has no oneDNN flag'
    return _traces(training=False)


@functools.lru_cache(maxsize=None)
def static_training_support():
    """(True, '') where engine.static_training's training graph can be traced, else (False, why)."""
    supported = static_graph_support()
    return _traces(training=True) if supported[0] else supported


def static_graph_reasons():
    """[] where the static evaluation graph can run on this Paddle, else [why] (engine.runtime)."""
    supported, why = static_graph_support()
    return [] if supported else [why]


def static_training_reasons():
    """[] where the static training graph can run on this Paddle, else [why] (engine.static_training)."""
    supported, why = static_training_support()
    return [] if supported else [why]


_NOTED = set()


def note_once(message):
    """Print ``message`` the first time only (per process)."""
    if message not in _NOTED:
        _NOTED.add(message)
        print(message, flush=True)


def has_gpu():
    """A CUDA build that sees at least one GPU."""
    return bool(paddle.is_compiled_with_cuda()) and gpu_count() > 0


def gpu_count():
    if not paddle.is_compiled_with_cuda():
        return 0
    try:
        return int(paddle.device.cuda.device_count())
    except Exception:  # noqa: BLE001 - a broken driver counts as no GPU
        return 0


def bfloat16_supported():
    """bfloat16 autocast on the current GPU (Ampere and newer); False without a GPU."""
    if not has_gpu():
        return False
    check = getattr(paddle.amp, 'is_bfloat16_supported', None)
    if check is not None:
        try:
            return bool(check())
        except Exception:  # noqa: BLE001
            return False
    try:
        major, _ = paddle.device.cuda.get_device_capability()
    except Exception:  # noqa: BLE001
        return False
    return major >= 8


def describe():
    """One dict of the above, for logs and reports."""
    supported, why = static_training_support()
    graph, graph_why = static_graph_support()
    return {'paddle': paddle_version(), 'cuda': bool(paddle.is_compiled_with_cuda()), 'gpus': gpu_count(),
            'onednn_flag': onednn_flag(), 'static_eval': graph,
            'static_eval_reason': graph_why, 'static_training': supported, 'static_training_reason': why}
