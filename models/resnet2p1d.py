"""R(2+1)D ResNet, reference ``models/resnet2p1d.py`` (NEW layout only).

Every 3^3 convolution of the 3D ResNet is a spatial ``1x3x3`` conv -> BN -> ReLU -> temporal
``3x1x1`` conv -> BN, with ``mid = (in * out * 27) // (in * 9 + 3 * out)`` (integer floor), the
spatial stride on the ``_s`` conv and the temporal stride on the ``_t`` conv.  Stem:
``mid = (3 * 64 * t * 49) // (3 * 49 + t * 64)`` (the reference hard-codes 3 input channels in
this formula even for flow), ``conv1_s`` (C_in -> mid, 1x7x7, stride (1,2,2)) - ``bn1_s`` - ReLU -
``conv1_t`` (mid -> 64, t x 1 x 1, stride (conv1_t_stride,1,1)) - ``bn1_t`` - ReLU - maxpool.

Keys: ``conv1_s, bn1_s, conv1_t, bn1_t``; basic block ``conv1_s, bn1_s, conv1_t, bn1_t, conv2_s,
bn2_s, conv2_t, bn2_t``; bottleneck ``conv1, bn1, conv2_s, bn2_s, conv2_t, bn2_t, conv3, bn3``;
``downsample.{0,1}``; ``fc``.  Mid-channel values and parameter counts: docs/MODELS.md.
"""
import paddle.nn as nn
import paddle.nn.functional as F

from ._common import batch_norm, conv1x1x1, conv3d
from .kernels import SqueezeExcitation, mid_channels_2plus1d
from .registry import register_family
from .resnet import DEPTHS, ResNet, close_block, make_resnet, trunk_options


def conv1x3x3(in_planes, mid_planes, stride=1):
    return conv3d(in_planes, mid_planes, (1, 3, 3), (1, stride, stride), (0, 1, 1))


def conv3x1x1(mid_planes, planes, stride=1):
    return conv3d(mid_planes, planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0))


class BasicBlock(nn.Layer):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type=None, se=False):
        super().__init__()  # kernel_type: these blocks are (2+1)D by construction
        mid1 = max(1, mid_channels_2plus1d(in_planes, planes))
        self.conv1_s = conv1x3x3(in_planes, mid1, stride)
        self.bn1_s = batch_norm(mid1)
        self.conv1_t = conv3x1x1(mid1, planes, stride)
        self.bn1_t = batch_norm(planes)
        mid2 = max(1, mid_channels_2plus1d(planes, planes))
        self.conv2_s = conv1x3x3(planes, mid2)
        self.bn2_s = batch_norm(mid2)
        self.conv2_t = conv3x1x1(mid2, planes)
        self.bn2_t = batch_norm(planes)
        self.se = SqueezeExcitation(planes) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1_s(self.conv1_s(x)))
        out = F.relu(self.bn1_t(self.conv1_t(out)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = self.bn2_t(self.conv2_t(out))
        return close_block(self, out, x)


class Bottleneck(nn.Layer):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type=None, se=False):
        super().__init__()  # kernel_type: these blocks are (2+1)D by construction
        self.conv1 = conv1x1x1(in_planes, planes)
        self.bn1 = batch_norm(planes)
        mid = max(1, mid_channels_2plus1d(planes, planes))
        self.conv2_s = conv1x3x3(planes, mid, stride)
        self.bn2_s = batch_norm(mid)
        self.conv2_t = conv3x1x1(mid, planes, stride)
        self.bn2_t = batch_norm(planes)
        self.conv3 = conv1x1x1(planes, planes * self.expansion)
        self.bn3 = batch_norm(planes * self.expansion)
        self.se = SqueezeExcitation(planes * self.expansion) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = F.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        return close_block(self, out, x)


class ResNet2p1D(ResNet):
    """The ResNet trunk with the factorised stem ``conv1_s, bn1_s, conv1_t, bn1_t``."""

    def _make_stem(self, n_input_channels, conv1_t_size, conv1_t_stride, kernel_type):
        t = int(conv1_t_size)
        mid = max(1, mid_channels_2plus1d(3, self.in_planes, (t, 7, 7)))  # 3 even for other inputs, as the reference
        self.conv1_s = conv3d(n_input_channels, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3))
        self.bn1_s = batch_norm(mid)
        self.conv1_t = conv3d(mid, self.in_planes, (t, 1, 1), (conv1_t_stride, 1, 1), (t // 2, 0, 0))
        self.bn1_t = batch_norm(self.in_planes)

    def stem(self, x):
        x = self.relu(self.bn1_s(self.conv1_s(x)))
        return self.relu(self.bn1_t(self.conv1_t(x)))


def generate_model(model_depth, widen_factor=1.0, **kwargs):
    return make_resnet('resnet2p1d', BasicBlock, Bottleneck, model_depth, widen_factor,
                       trunk=ResNet2p1D, **kwargs)


# resnet2p1d *is* R(2+1)D (reference keys): '3d' and '(2+1)d' both mean "the family's own convolutions"
@register_family('resnet2p1d', DEPTHS, kernel_types=['3d', '(2+1)d'])
def build(o):
    return generate_model(o['model_depth'], widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))
