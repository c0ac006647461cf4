"""Pre-activation 3D ResNet, reference OLD layout (``models/pre_act_resnet.py`` at CVPR2018).

The published ``preresnet-200-kinetics.pth`` uses this layout (the NEW layout's pre-act model does
not build).  Stem, stages, head and init are those of :mod:`models.resnet`; the blocks are:

* basic: BN-ReLU-conv3^3(stride) - BN-ReLU-conv3^3 - [SE] - (+ shortcut(x));
* bottleneck: BN-ReLU-conv1^3 - BN-ReLU-conv3^3(stride) - BN-ReLU-conv1^3(x4) - [SE] - (+ shortcut(x)).

No ReLU after the addition, the shortcut takes the raw block input, and there is no final
BN-ReLU before the pooling (as in the reference).  Keys per block: ``bn1, conv1, bn2, conv2,
[bn3, conv3], [downsample.0, downsample.1]``.
"""
import paddle.nn as nn
import paddle.nn.functional as F

from ._common import batch_norm, conv1x1x1
from .kernels import SqueezeExcitation, make_conv
from .registry import register_family
from .resnet import close_block, make_resnet, trunk_options


class PreActivationBasicBlock(nn.Layer):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False):
        super().__init__()
        self.bn1 = batch_norm(in_planes)
        self.conv1 = make_conv(kernel_type, in_planes, planes, 3, stride, 1)
        self.bn2 = batch_norm(planes)
        self.conv2 = make_conv(kernel_type, planes, planes, 3, 1, 1)
        self.se = SqueezeExcitation(planes) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return close_block(self, out, x, relu=False)


class PreActivationBottleneck(nn.Layer):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False):
        super().__init__()
        self.bn1 = batch_norm(in_planes)
        self.conv1 = conv1x1x1(in_planes, planes)
        self.bn2 = batch_norm(planes)
        self.conv2 = make_conv(kernel_type, planes, planes, 3, stride, 1)
        self.bn3 = batch_norm(planes)
        self.conv3 = conv1x1x1(planes, planes * self.expansion)
        self.se = SqueezeExcitation(planes * self.expansion) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return close_block(self, out, x, relu=False)


def generate_model(model_depth, widen_factor=1.0, **kwargs):
    return make_resnet('preresnet', PreActivationBasicBlock, PreActivationBottleneck, model_depth,
                       widen_factor, **kwargs)


@register_family('preresnet', [18, 34, 50, 101, 152, 200])
def build(o):
    return generate_model(o['model_depth'], widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))
