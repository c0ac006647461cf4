"""3D ResNeXt, reference OLD layout (``models/resnext.py`` at CVPR2018; the published
``resnext-101-kinetics.pth``, shortcut B, cardinality 32).

``conv1`` 64 channels; stage ``planes`` 128, 256, 512, 1024; block = ResNeXt bottleneck with
expansion 2 and ``mid = cardinality * int(planes / 32)``:
conv1 1^3 in->mid - BN - ReLU - conv2 3^3 mid->mid (stride, ``groups=cardinality``) - BN - ReLU -
conv3 1^3 mid->2 planes - BN - [SE] - (+ shortcut) - ReLU.  fc input ``cardinality * 32 * 2``.
ResNeXt-101 (C=32, 400 classes): 48.34 M parameters.  Only ``kernel_type='3d'`` (grouped conv).
"""
import paddle.nn as nn
import paddle.nn.functional as F

from ._common import batch_norm, conv1x1x1
from .kernels import SqueezeExcitation, make_conv
from .resnet import ResNet, close_block, trunk_options

DEPTHS = [50, 101, 152]


class ResNeXtBottleneck(nn.Layer):
    expansion = 2

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False,
                 cardinality=32):
        super().__init__()
        mid_planes = cardinality * int(planes / 32)
        if mid_planes < 1:
            raise ValueError('resnext: cardinality * int(planes / 32) = 0 for planes={}; use a '
                             'larger resnet_widen_factor'.format(planes))
        self.conv1 = conv1x1x1(in_planes, mid_planes)
        self.bn1 = batch_norm(mid_planes)
        self.conv2 = make_conv(kernel_type, mid_planes, mid_planes, 3, stride, 1,
                               groups=cardinality)
        self.bn2 = batch_norm(mid_planes)
        self.conv3 = conv1x1x1(mid_planes, planes * self.expansion)
        self.bn3 = batch_norm(planes * self.expansion)
        self.se = SqueezeExcitation(planes * self.expansion) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return close_block(self, out, x)


_LAYERS = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}


def generate_model(model_depth, cardinality=32, widen_factor=1.0, **kwargs):
    model_depth = int(model_depth)
    if model_depth not in _LAYERS:
        raise ValueError('unknown model_depth {} for resnext; valid depths: {}'.format(
            model_depth, DEPTHS))
    planes = [int(p * widen_factor) for p in (128, 256, 512, 1024)]
    return ResNet(ResNeXtBottleneck, _LAYERS[model_depth], planes,
                  stem_planes=int(64 * widen_factor),
                  block_kwargs={'cardinality': int(cardinality)}, **kwargs)


def build(o):
    return generate_model(o['model_depth'], cardinality=int(o['resnext_cardinality']),
                          widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))
