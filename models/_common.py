"""Shared building blocks: reference-equivalent BatchNorm, convolutions, classifier and init.

Everything here reproduces the PyTorch reference (kenshohara/3D-ResNets-PyTorch) numerically:

* ``batch_norm``: PyTorch ``BatchNorm3d`` defaults (momentum 0.1, eps 1e-5). Paddle's momentum is
  the fraction of the running statistic that is *kept*, so PyTorch 0.1 == Paddle 0.9.
* ``init_reference_weights``: every ``Conv3D`` weight ~ Kaiming-normal with ``mode='fan_out'``
  (std = sqrt(2 / (C_out * kT * kH * kW)), torch ignores ``groups`` in fan_out), conv biases 0,
  every BatchNorm weight 1 / bias 0.  Paddle 2.6 has no ``mode`` argument, so fan_out is
  emulated with ``KaimingNormal(fan_in=fan_out)`` (portable to Paddle 2.5+).
* ``torch_linear``: ``nn.Linear`` initialised as PyTorch's default (weight and bias
  ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))).  Paddle stores the weight as ``[in, out]``.
"""
import math

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

BN_MOMENTUM = 0.9   # == PyTorch momentum 0.1
BN_EPSILON = 1e-5


def triple(v):
    if isinstance(v, (list, tuple)):
        assert len(v) == 3, v
        return tuple(int(x) for x in v)
    return (int(v),) * 3


def batch_norm(num_features):
    return nn.BatchNorm3D(num_features, momentum=BN_MOMENTUM, epsilon=BN_EPSILON)


def conv3d(in_planes, out_planes, kernel_size, stride=1, padding=0, groups=1, bias=False):
    """A plain ``Conv3D`` (bias-free unless asked), NCDHW."""
    return nn.Conv3D(in_planes, out_planes, triple(kernel_size), stride=triple(stride),
                     padding=triple(padding), groups=groups,
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
    to ``out_planes``.  As in the reference (which concatenates ``out.data``) the result is
    detached: **no gradient flows through this shortcut**."""

    def __init__(self, out_planes, stride):
        super().__init__()
        self.out_planes = int(out_planes)
        self.stride = int(stride)

    def forward(self, x):
        s = self.stride
        out = x[:, :, ::s, ::s, ::s] if s != 1 else x
        extra = self.out_planes - out.shape[1]
        if extra > 0:
            # pad the channel axis (order: first dim to last dim when len(pad) == 2 * ndim)
            out = F.pad(out, [0, 0, 0, extra, 0, 0, 0, 0, 0, 0], mode='constant', value=0.0)
        return out.detach()

    def extra_repr(self):
        return 'out_planes={}, stride={}'.format(self.out_planes, self.stride)
