"""Shared building blocks: reference-equivalent BatchNorm, convolutions, classifier and init.

Everything here reproduces the PyTorch reference (kenshohara/3D-ResNets-PyTorch) numerically:

* ``batch_norm``: PyTorch ``BatchNorm3d`` defaults (momentum 0.1, eps 1e-5). Paddle's momentum is
  the fraction of the running statistic that is *kept*, so PyTorch 0.1 == Paddle 0.9. Paddle
  updates the running variance with the biased batch variance, PyTorch with the unbiased one
  (x n/(n-1), n = values per channel); :class:`BatchNorm3D` applies PyTorch's rule, which matters
  where n is small (late stages of small clips: 8 clips x 1 x 2 x 2 -> 3 % larger).
* ``init_reference_weights``: every ``Conv3D`` weight ~ Kaiming-normal with ``mode='fan_out'``
  (std = sqrt(2 / (C_out * kT * kH * kW)), torch ignores ``groups`` in fan_out), conv biases 0,
  every BatchNorm weight 1 / bias 0.  Paddle 2.6 has no ``mode`` argument, so fan_out is
  emulated with ``KaimingNormal(fan_in=fan_out)`` (portable to Paddle 2.5+).
* ``torch_linear``: ``nn.Linear`` initialised as PyTorch's default (weight and bias
  ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))).  Paddle stores the weight as ``[in, out]``.

Data format: a model works either channels-first (``'NCDHW'``, the default) or channels-last
(``'NDHWC'``, preferred by cuDNN / tensor cores under AMP).  The top-level model decides it once,
by building all its layers inside ``with building_in(data_format):``; every layer factory here
(:func:`formatted_layer`, :func:`conv3d`, :func:`batch_norm`) and every layer with its own
tensor logic (shortcut A, squeeze-excitation, DenseNet concatenation) reads the format there,
so no block has to pass it along.  Parameter names and shapes do not depend on the format
(Paddle's Conv3D weight is ``[out, in, kT, kH, kW]`` in both), so state_dicts are interchangeable.
"""
import contextlib
import contextvars
import math

import numpy as np
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from core.layout import DEFAULT_DATA_FORMAT, channel_axis, check_data_format

BN_MOMENTUM = 0.9   # == PyTorch momentum 0.1
BN_EPSILON = 1e-5

# a context variable, not a module global, so that models built concurrently do not interfere
_data_format_of_build = contextvars.ContextVar('data_format_of_build', default=DEFAULT_DATA_FORMAT)


@contextlib.contextmanager
def building_in(data_format):
    """Layers created inside this block work in ``data_format``."""
    token = _data_format_of_build.set(check_data_format(data_format))
    try:
        yield
    finally:
        _data_format_of_build.reset(token)


def current_data_format():
    """The data format of the layers being built (``'NCDHW'`` outside :func:`building_in`)."""
    return _data_format_of_build.get()


def formatted_layer(layer_class, *args, **kwargs):
    """``layer_class(*args, **kwargs)``, a Paddle layer taking ``data_format``, in the current one."""
    return layer_class(*args, data_format=current_data_format(), **kwargs)


def triple(v):
    if isinstance(v, (list, tuple)):
        assert len(v) == 3, v
        return tuple(int(x) for x in v)
    return (int(v),) * 3


class BatchNorm3D(nn.BatchNorm3D):
    """``paddle.nn.BatchNorm3D`` whose running variance follows PyTorch: in training, updated with
    the unbiased batch variance.

    Paddle's kernel stores ``new = m * old + (1 - m) * biased``; PyTorch's rule is that plus
    ``(1 - m) * biased / (n - 1)`` = ``(new - m * old) / (n - 1)``, added here after the kernel
    (per-channel vector operations, no extra pass over the activations). Same parameters and
    state_dict keys as the Paddle layer; it also skips Paddle's per-call "When training, we now
    always track global mean and variance" warning."""

    def forward(self, x):
        if not self.training or self._use_global_stats:
            return super(BatchNorm3D, self).forward(x)  # Paddle 2.6's dynamic-to-static needs the explicit form
        # The kernel updates the variance buffer it is given in place and keeps it for the backward
        # pass, so it gets a copy, and the layer's own buffer receives the corrected value.
        variance = self._variance.detach().clone()
        out = F.batch_norm(x, self._mean, variance, weight=self.weight, bias=self.bias, training=True,
                           momentum=self._momentum, epsilon=self._epsilon, data_format=self._data_format)
        n = int(np.prod(x.shape)) // self._num_features
        with paddle.no_grad():
            correction = (variance - self._momentum * self._variance) / (n - 1) if n > 1 else 0.0
            paddle.assign(variance + correction, output=self._variance)
        return out


def batch_norm(num_features):
    return formatted_layer(BatchNorm3D, num_features, momentum=BN_MOMENTUM, epsilon=BN_EPSILON)


def conv3d(in_planes, out_planes, kernel_size, stride=1, padding=0, groups=1, bias=False):
    """A plain ``Conv3D`` (bias-free unless asked) in the current data format."""
    return formatted_layer(nn.Conv3D, in_planes, out_planes, triple(kernel_size),
                           stride=triple(stride), padding=triple(padding), groups=groups,
                           bias_attr=None if bias else False)


def conv1x1x1(in_planes, out_planes, stride=1):
    return conv3d(in_planes, out_planes, 1, stride=stride, padding=0)


def torch_linear(in_features, out_features):
    """``nn.Linear`` with PyTorch's default init: W, b ~ U(-1/sqrt(in), 1/sqrt(in))."""
    bound = 1.0 / math.sqrt(in_features)
    init = nn.initializer.Uniform(-bound, bound)
    return nn.Linear(in_features, out_features,
                     weight_attr=paddle.ParamAttr(initializer=init),
                     bias_attr=paddle.ParamAttr(initializer=nn.initializer.Uniform(-bound, bound)))


def conv_fan_out(weight):
    shape = list(weight.shape)
    n = shape[0]
    for s in shape[2:]:
        n *= s
    return n


def init_reference_weights(model):
    """The reference's init loop: Conv3D Kaiming-normal fan_out, BN gamma=1 beta=0.

    Linear layers are left alone (they are built with :func:`torch_linear`)."""
    for m in model.sublayers(include_self=True):
        if isinstance(m, nn.Conv3D):
            nn.initializer.KaimingNormal(fan_in=conv_fan_out(m.weight))(m.weight)
            if m.bias is not None:
                nn.initializer.Constant(0.0)(m.bias)
        elif isinstance(m, (nn.BatchNorm3D, nn.BatchNorm2D, nn.BatchNorm1D, nn.BatchNorm)):
            if m.weight is not None:
                nn.initializer.Constant(1.0)(m.weight)
            if m.bias is not None:
                nn.initializer.Constant(0.0)(m.bias)


class ShortcutA(nn.Layer):
    """Reference shortcut type 'A' (parameter-free).

    ``x[:, :, ::s, ::s, ::s]`` (== ``avg_pool3d(kernel 1, stride s)``) then zero channels appended up
    to ``out_planes`` (channels-last: ``x[:, ::s, ::s, ::s, :]``, zeros appended on the last axis).
    As in the reference (which concatenates ``out.data``) the result is detached: **no gradient
    flows through this shortcut**."""

    def __init__(self, out_planes, stride):
        super().__init__()
        self.out_planes = int(out_planes)
        self.stride = int(stride)
        self.channel_axis = channel_axis(current_data_format())

    def forward(self, x):
        out = x[self._subsampling_index()] if self.stride != 1 else x
        extra = self.out_planes - out.shape[self.channel_axis]
        if extra > 0:
            # concat, not F.pad: Paddle 3.3's oneDNN pad kernel corrupts the heap in a static graph.
            one_channel = [slice(None)] * 5
            one_channel[self.channel_axis] = slice(0, 1)
            repeats = [1] * 5
            repeats[self.channel_axis] = extra
            zeros = paddle.zeros_like(out[tuple(one_channel)]).tile(repeats)
            out = paddle.concat([out, zeros], axis=self.channel_axis)
        return out.detach()

    def _subsampling_index(self):
        """``[:, :, ::s, ::s, ::s]``: step ``s`` on T, H, W; everything on the batch and channels."""
        index = [slice(None, None, self.stride)] * 5
        index[0] = index[self.channel_axis] = slice(None)
        return tuple(index)

    def extra_repr(self):
        return 'out_planes={}, stride={}'.format(self.out_planes, self.stride)
