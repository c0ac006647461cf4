"""What this Paddle can do, found by trying it (feature detection), never by its version number.

The supported range is Paddle 2.6 to 3.3 (README, requirements.txt; .ci/run checks both ends). The versions
differ where this project touches Paddle's edges:

* dlpack: 2.6's ``Tensor`` has no ``__dlpack__`` and 2.6 has no ``paddle.from_dlpack``; ``to_numpy`` and
  ``from_numpy`` then copy (``.numpy()``, ``paddle.to_tensor``).
* the oneDNN switch is ``FLAGS_use_onednn`` from 3.2, ``FLAGS_use_mkldnn`` before (3.0 and 3.1 know the new
  name but ``paddle.get_flags`` refuses it): ``onednn_flag`` returns the one that can be read and set.
* dy2static before 3.2 cannot trace a layer whose ``forward`` is an instance attribute (``'function' object
  has no attribute '__func__'``), which engine.static_training's training graph needs:
  ``static_training_support`` traces such a layer once and says whether the static training graph can run.
* bfloat16 autocast, ``paddle.inference`` and CUDA: ``bfloat16_supported``, ``has_gpu``.

Every probe runs at most once per process (``functools.lru_cache``).
"""
import functools
import warnings

import numpy as np
import paddle

__all__ = ['paddle_version', 'has_dlpack', 'to_numpy', 'from_numpy', 'onednn_flag', 'static_graph_support',
           'static_training_support', 'static_graph_reasons', 'static_training_reasons', 'note_once', 'has_gpu', 'gpu_count', 'bfloat16_supported', 'describe']


def paddle_version():
    """'3.3.1' (for messages only: nothing here branches on it)."""
    return getattr(paddle, '__version__', 'unknown')


@functools.lru_cache(maxsize=None)
def has_dlpack():
    """True where a Tensor hands itself to numpy (``np.from_dlpack``) and numpy's arrays to Paddle
    (``paddle.from_dlpack``) without a copy (Paddle 3.x)."""
    return hasattr(paddle.Tensor, '__dlpack__') and hasattr(paddle, 'from_dlpack') and hasattr(np, 'from_dlpack')


def to_numpy(tensor):
    """A CPU Tensor as a numpy array: a zero-copy view where dlpack exists, else a copy."""
    if has_dlpack():
        return np.from_dlpack(tensor)
    return tensor.numpy()


def from_numpy(array):
    """A numpy array as a CPU Tensor: zero-copy where dlpack exists, else a copy."""
    if has_dlpack():
        return paddle.from_dlpack(array)
    return paddle.to_tensor(array, place=paddle.CPUPlace())


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


class _Scale(paddle.nn.Layer):
    """A layer of this project's kind (dynamic-to-static converts the calls of layers from outside ``paddle``)."""

    def __init__(self):
        super().__init__()
        self.weight = self.create_parameter([2], default_initializer=paddle.nn.initializer.Constant(3.0))

    def forward(self, x):
        return x * self.weight


class _Derived(_Scale):
    """Calls its base class's forward through a zero-argument ``super()``, as models._common.BatchNorm3D does."""

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        return super().forward(x) + 1.0


class _Probe(paddle.nn.Layer):
    """Holds a _Derived; ``replace_forward``: its ``forward`` becomes an instance attribute that calls the bound
    original, as engine.static_training's TrainGraph makes of every batch norm."""

    def __init__(self, replace_forward):
        super().__init__()
        self.inner = _Derived()
        if replace_forward:
            original = self.inner.forward

            def forward(x):
                return original(x) * 2.0

            self.inner.forward = forward

    def forward(self, x):
        return self.inner(x)


def _traces(replace_forward):
    """(True, '') if a _Probe traces and computes what it computes in the dynamic graph, else (False, why)."""
    try:
        from paddle.static import InputSpec
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            probe = _Probe(replace_forward)
            if not replace_forward:
                probe.eval()
            x = paddle.ones([1, 2], 'float32')
            expected = probe(x).numpy()
            static = paddle.jit.to_static(probe, input_spec=[InputSpec([None, 2], 'float32')], full_graph=True)
            got = static(x).numpy()
    except Exception as error:  # noqa: BLE001 - any failure means the graph cannot run here
        name = type(error).__name__
        last = (str(error).strip().splitlines() or [''])[-1].strip()
        last = last[len(name) + 1:].strip() if last.startswith(name + ':') else last
        return False, (f'cannot run on Paddle {paddle_version()}: its dynamic-to-static fails on this '
                       f'project\'s layers ({name}: {last[:100]})')
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        return False, f'cannot run on Paddle {paddle_version()}: its dynamic-to-static computes this project\'s layers wrongly'
    return True, ''


@functools.lru_cache(maxsize=None)
def static_graph_support():
    """(True, '') where engine.runtime's static evaluation graph can be traced, else (False, why). Traces a
    two-weight layer once per process (about 0.1 s)."""
    if onednn_flag() is None:
        return False, f'cannot run on Paddle {paddle_version()}: it has no oneDNN flag'
    return _traces(replace_forward=False)


@functools.lru_cache(maxsize=None)
def static_training_support():
    """(True, '') where engine.static_training's training graph can be traced, else (False, why)."""
    supported = static_graph_support()
    return _traces(replace_forward=True) if supported[0] else supported


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
            'dlpack': has_dlpack(), 'onednn_flag': onednn_flag(), 'static_eval': graph,
            'static_eval_reason': graph_why, 'static_training': supported, 'static_training_reason': why}
