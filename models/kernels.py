"""Convolution kernel variants that replace a ``kT x kH x kW`` Conv3D, and squeeze-excitation.

Each variant registers itself (``@register_kernel(name, seed_name)``, models/registry.py) and is
built by :func:`make_conv` with the arguments of the 3D convolution it replaces (``in_planes,
out_planes, kernel_size, stride, padding``); it maps ``N x C_in x T x H x W`` to exactly the output
shape of that convolution (channels-last inside ``_common.building_in('NDHWC')``: the variants are
made of the shared Conv3D / BN factories and element-wise operations only). In every non-'3d'
variant the last convolution is left un-normalised: the block's own BN normalises its output.
Padding defaults to that of the replaced 3D conv. The formulas, strides, parameter counts and key
names of each variant are in docs/MODELS.md ("Kernel variants").
"""
import paddle.nn as nn
import paddle.nn.functional as F

from core.errors import BadInput

from ._common import batch_norm, conv3d, current_data_format, triple
from .registry import KERNELS, kernel, register_kernel


def check_kernel_type(kernel_type):
    """The canonical (lower-case) spelling of a registered kernel type; ValueError naming the valid ones."""
    return kernel(kernel_type).name


def mid_channels_2plus1d(in_planes, out_planes, kernel_size=3):
    """Tran et al. 2018: ``M = floor(t d^2 N_in N_out / (d^2 N_in + t N_out))``."""
    t, kh, kw = triple(kernel_size)
    return (t * kh * kw * in_planes * out_planes) // (kh * kw * in_planes + t * out_planes)


def conv_geometry(kernel_size, stride, padding):
    """(kernel, stride, padding) as triples; the padding defaults to that of the replaced 3D conv."""
    t, kh, kw = triple(kernel_size)
    return (t, kh, kw), triple(stride), triple(padding if padding is not None else (t // 2, kh // 2, kw // 2))


@register_kernel('3d', seed_name='3D')
def plain_conv3d(in_planes, out_planes, kernel_size=3, stride=1, padding=None, groups=1):
    """The reference convolution itself (its keys are the reference's)."""
    k, stride, padding = conv_geometry(kernel_size, stride, padding)
    return conv3d(in_planes, out_planes, k, stride, padding, groups=groups)


@register_kernel('(2+1)d', seed_name='(2+1)D')
class Conv2Plus1D(nn.Layer):
    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, padding=None):
        super().__init__()
        (t, kh, kw), (st, sh, sw), (pt, ph, pw) = conv_geometry(kernel_size, stride, padding)
        self.mid_planes = max(1, mid_channels_2plus1d(in_planes, out_planes, (t, kh, kw)))
        self.conv_s = conv3d(in_planes, self.mid_planes, (1, kh, kw), (1, sh, sw), (0, ph, pw))
        self.bn_s = batch_norm(self.mid_planes)
        self.conv_t = conv3d(self.mid_planes, out_planes, (t, 1, 1), (st, 1, 1), (pt, 0, 0))

    def forward(self, x):
        return self.conv_t(F.relu(self.bn_s(self.conv_s(x))))


@register_kernel('p3d-b', seed_name='P3D-B')
class P3DB(nn.Layer):
    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, padding=None):
        super().__init__()
        (t, kh, kw), (st, sh, sw), (pt, ph, pw) = conv_geometry(kernel_size, stride, padding)
        self.conv_s = conv3d(in_planes, out_planes, (1, kh, kw), (st, sh, sw), (0, ph, pw))
        self.conv_t = conv3d(in_planes, out_planes, (t, 1, 1), (st, sh, sw), (pt, 0, 0))

    def forward(self, x):
        return self.conv_s(x) + self.conv_t(x)


class _SpatialThenTemporal(nn.Layer):
    """The set-up FAST and split-FAST share: ``conv_s`` (1 x d x d, spatial stride) - ``bn_s`` -
    ReLU, then ``conv_h`` (horizontal t x 1 x d, temporal stride); ``_make_vertical`` adds the rest."""

    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, padding=None):
        super().__init__()
        (t, kh, kw), (st, sh, sw), (pt, ph, pw) = conv_geometry(kernel_size, stride, padding)
        self.conv_s = conv3d(in_planes, out_planes, (1, kh, kw), (1, sh, sw), (0, ph, pw))
        self.bn_s = batch_norm(out_planes)
        self.conv_h = conv3d(out_planes, out_planes, (t, 1, kw), (st, 1, 1), (pt, 0, pw))
        self._make_vertical(out_planes, (t, kh, 1), st, (pt, ph, 0))

    def spatial(self, x):
        return F.relu(self.bn_s(self.conv_s(x)))


@register_kernel('fast', seed_name='FAST')
class FAST(_SpatialThenTemporal):
    def _make_vertical(self, planes, kernel_size, temporal_stride, padding):
        self.bn_h = batch_norm(planes)
        self.conv_v = conv3d(planes, planes, kernel_size, 1, padding)  # conv_h already strided in time

    def forward(self, x):
        return self.conv_v(F.relu(self.bn_h(self.conv_h(self.spatial(x)))))


@register_kernel('split-fast', seed_name='split-FAST')
class SplitFAST(_SpatialThenTemporal):
    def _make_vertical(self, planes, kernel_size, temporal_stride, padding):
        self.conv_v = conv3d(planes, planes, kernel_size, (temporal_stride, 1, 1), padding)

    def forward(self, x):
        s = self.spatial(x)
        return self.conv_h(s) + self.conv_v(s)


KERNEL_TYPES = list(KERNELS)  # every registered variant; '3d' first


def make_conv(kernel_type, in_planes, out_planes, kernel_size=3, stride=1, padding=None,
              groups=1):
    """A layer replacing ``Conv3D(in, out, kernel_size, stride, padding, bias=False)``.

    ``groups`` is only supported by the plain ``'3d'`` kernel."""
    variant = kernel(kernel_type)
    if groups == 1:
        return variant.build(in_planes, out_planes, kernel_size, stride, padding)
    if variant.name != '3d':
        raise BadInput('kernel_type {!r} does not support grouped convolutions; '
                         'use kernel_type \'3d\''.format(variant.name))
    return variant.build(in_planes, out_planes, kernel_size, stride, padding, groups=groups)


class SqueezeExcitation(nn.Layer):
    """Hu et al. 2018 squeeze-and-excitation for 5-D tensors.

    ``y = x * sigmoid(W2 relu(W1 GAP(x) + b1) + b2)`` with ``W1: C -> max(1, C // r)``,
    ``W2: C // r -> C`` (r = 16), implemented as 1x1x1 convolutions with bias
    (keys ``se.reduce.*``, ``se.expand.*``; no "fc" in the names, so the
    reference's ``ft_begin_index`` substring match on "fc" does not catch them).  params: ``2 C (C // r) + C // r + C``."""

    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, int(channels) // int(reduction))
        self.reduce = conv3d(channels, hidden, 1, bias=True)
        self.expand = conv3d(hidden, channels, 1, bias=True)
        self.data_format = current_data_format()

    def forward(self, x):
        s = F.adaptive_avg_pool3d(x, 1, data_format=self.data_format)
        s = F.sigmoid(self.expand(F.relu(self.reduce(s))))
        return x * s
