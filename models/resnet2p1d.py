"""R(2+1)D ResNet, reference ``models/resnet2p1d.py`` (NEW layout only).

Every 3^3 convolution of the 3D ResNet is a spatial ``1x3x3`` conv -> BN -> ReLU -> temporal
``3x1x1`` conv -> BN, with ``mid = (in * out * 27) // (in * 9 + 3 * out)`` (integer floor), the
spatial stride on the ``_s`` conv and the temporal stride on the ``_t`` conv.  Stem:
``mid = (3 * 64 * t * 49) // (3 * 49 + t * 64)`` (the reference hard-codes 3 input channels in
this formula even for flow), ``conv1_s`` (C_in -> mid, 1x7x7, stride (1,2,2)) - ``bn1_s`` - ReLU -
``conv1_t`` (mid -> 64, t x 1 x 1, stride (conv1_t_stride,1,1)) - ``bn1_t`` - ReLU - maxpool.

Keys: ``conv1_s, bn1_s, conv1_t, bn1_t``; basic block ``conv1_s, bn1_s, conv1_t, bn1_t, conv2_s,
bn2_s, conv2_t, bn2_t``; bottleneck ``conv1, bn1, conv2_s, bn2_s, conv2_t, bn2_t, conv3, bn3``;
``downsample.{0,1}``; ``fc``.  R(2+1)D-18 (t=7): stem mid 110; layer1 144/144; layer2.0 230/288;
layer3.0 460/576; layer4.0 921/1152.  R(2+1)D-18-B, 400 classes: 33.42 M parameters.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from ._common import (ShortcutA, batch_norm, conv1x1x1, conv3d, init_reference_weights,
                      torch_linear)
from .kernels import SqueezeExcitation

DEPTHS = [10, 18, 34, 50, 101, 152, 200]


def get_inplanes():
    return [64, 128, 256, 512]


def mid_planes_2p1d(in_planes, out_planes):
    """The reference's ``(in * out * 3*3*3) // (in * 3*3 + 3 * out)``."""
    return (in_planes * out_planes * 27) // (in_planes * 9 + 3 * out_planes)


def conv1x3x3(in_planes, mid_planes, stride=1):
    return conv3d(in_planes, mid_planes, (1, 3, 3), (1, stride, stride), (0, 1, 1))


def conv3x1x1(mid_planes, planes, stride=1):
    return conv3d(mid_planes, planes, (3, 1, 1), (stride, 1, 1), (1, 0, 0))


class BasicBlock(nn.Layer):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, se=False):
        super().__init__()
        mid1 = max(1, mid_planes_2p1d(in_planes, planes))
        self.conv1_s = conv1x3x3(in_planes, mid1, stride)
        self.bn1_s = batch_norm(mid1)
        self.conv1_t = conv3x1x1(mid1, planes, stride)
        self.bn1_t = batch_norm(planes)
        mid2 = max(1, mid_planes_2p1d(planes, planes))
        self.conv2_s = conv1x3x3(planes, mid2)
        self.bn2_s = batch_norm(mid2)
        self.conv2_t = conv3x1x1(mid2, planes)
        self.bn2_t = batch_norm(planes)
        self.se = SqueezeExcitation(planes) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = F.relu(self.bn1_s(self.conv1_s(x)))
        out = F.relu(self.bn1_t(self.conv1_t(out)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = self.bn2_t(self.conv2_t(out))
        if self.se is not None:
            out = self.se(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        return F.relu(out + residual)


class Bottleneck(nn.Layer):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None, se=False):
        super().__init__()
        self.conv1 = conv1x1x1(in_planes, planes)
        self.bn1 = batch_norm(planes)
        mid = max(1, mid_planes_2p1d(planes, planes))
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
        residual = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = F.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        return F.relu(out + residual)


class ResNet2p1D(nn.Layer):
    def __init__(self, block, layers, block_inplanes, n_input_channels=3, conv1_t_size=7,
                 conv1_t_stride=1, no_max_pool=False, shortcut_type='B', n_classes=400, se=False):
        super().__init__()
        shortcut_type = str(shortcut_type).upper()
        if shortcut_type not in ('A', 'B'):
            raise ValueError("unknown resnet_shortcut {!r}; valid: 'A', 'B'".format(shortcut_type))
        block_inplanes = [int(p) for p in block_inplanes]
        self.in_planes = block_inplanes[0]
        self.no_max_pool = bool(no_max_pool)
        self.se = bool(se)

        t = int(conv1_t_size)
        mid = max(1, (3 * self.in_planes * t * 7 * 7) // (3 * 7 * 7 + t * self.in_planes))
        self.conv1_s = conv3d(n_input_channels, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3))
        self.bn1_s = batch_norm(mid)
        self.conv1_t = conv3d(mid, self.in_planes, (t, 1, 1), (conv1_t_stride, 1, 1),
                              (t // 2, 0, 0))
        self.bn1_t = batch_norm(self.in_planes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool3D(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, block_inplanes[0], layers[0], shortcut_type)
        self.layer2 = self._make_layer(block, block_inplanes[1], layers[1], shortcut_type, 2)
        self.layer3 = self._make_layer(block, block_inplanes[2], layers[2], shortcut_type, 2)
        self.layer4 = self._make_layer(block, block_inplanes[3], layers[3], shortcut_type, 2)
        self.avgpool = nn.AdaptiveAvgPool3D((1, 1, 1))
        self.fc = torch_linear(block_inplanes[3] * block.expansion, n_classes)
        init_reference_weights(self)

    def _make_layer(self, block, planes, blocks, shortcut_type, stride=1):
        downsample = None
        if stride != 1 or self.in_planes != planes * block.expansion:
            if shortcut_type == 'A':
                downsample = ShortcutA(planes * block.expansion, stride)
            else:
                downsample = nn.Sequential(
                    conv1x1x1(self.in_planes, planes * block.expansion, stride),
                    batch_norm(planes * block.expansion))
        layers = [block(self.in_planes, planes, stride, downsample, se=self.se)]
        self.in_planes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.in_planes, planes, se=self.se))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1_s(self.conv1_s(x)))
        x = self.relu(self.bn1_t(self.conv1_t(x)))
        if not self.no_max_pool:
            x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = paddle.flatten(self.avgpool(x), 1)
        return self.fc(x)


_CONFIGS = {
    10: (BasicBlock, [1, 1, 1, 1]),
    18: (BasicBlock, [2, 2, 2, 2]),
    34: (BasicBlock, [3, 4, 6, 3]),
    50: (Bottleneck, [3, 4, 6, 3]),
    101: (Bottleneck, [3, 4, 23, 3]),
    152: (Bottleneck, [3, 8, 36, 3]),
    200: (Bottleneck, [3, 24, 36, 3]),
}


def generate_model(model_depth, widen_factor=1.0, **kwargs):
    model_depth = int(model_depth)
    if model_depth not in _CONFIGS:
        raise ValueError('unknown model_depth {} for resnet2p1d; valid depths: {}'.format(
            model_depth, DEPTHS))
    block, layers = _CONFIGS[model_depth]
    planes = [int(p * widen_factor) for p in get_inplanes()]
    return ResNet2p1D(block, layers, planes, **kwargs)


def build(o):
    return generate_model(o['model_depth'], widen_factor=float(o['resnet_widen_factor']),
                          n_classes=int(o['n_classes']), shortcut_type=o['resnet_shortcut'],
                          n_input_channels=int(o['n_input_channels']),
                          conv1_t_size=int(o['conv1_t_size']),
                          conv1_t_stride=int(o['conv1_t_stride']),
                          no_max_pool=bool(o['no_max_pool']), se=bool(o['se']))
