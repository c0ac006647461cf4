"""3D ResNet (Hara et al.), reference ``models/resnet.py`` (old and new layouts agree).

State-dict keys for ``kernel_type='3d'`` without SE are the reference's PyTorch keys with
``running_mean -> _mean`` and ``running_var -> _variance``:
``conv1.weight, bn1.*, layer{1..4}.{i}.conv1.weight, .bn1.*, .conv2.weight, .bn2.*,
[.conv3.weight, .bn3.*], [layerX.0.downsample.0.weight, layerX.0.downsample.1.*], fc.weight, fc.bias``.

The :class:`ResNet` class is shared by the pre-activation, wide and ResNeXt families, which only
swap the residual block and the stage widths.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from core.errors import BadInput

from ._common import (ShortcutA, batch_norm, building_in, check_data_format, conv1x1x1,
                      formatted_layer, init_reference_weights, torch_linear)
from .kernels import SqueezeExcitation, check_kernel_type, make_conv
from .registry import FAMILIES, register_alias, register_family

# blocks per stage of each depth (the reference's table)
LAYERS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3],
          101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 24, 36, 3]}
DEPTHS = list(LAYERS)


def get_inplanes():
    return [64, 128, 256, 512]


def close_block(block, out, x, relu=True):
    """The end of a residual block: [SE] - (+ shortcut(x)) - ReLU (none in pre-activation blocks)."""
    if block.se is not None:
        out = block.se(out)
    out = out + (block.downsample(x) if block.downsample is not None else x)
    return F.relu(out) if relu else out


class BasicBlock(nn.Layer):
    """conv3^3(stride) - BN - ReLU - conv3^3 - BN - [SE] - (+shortcut) - ReLU.

    ``kernel_size`` (odd int or ``(t, h, w)``, default 3) sizes both convs, padded to keep shape."""
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False,
                 kernel_size=3):
        super().__init__()
        self.conv1 = make_conv(kernel_type, in_planes, planes, kernel_size, stride)
        self.bn1 = batch_norm(planes)
        self.conv2 = make_conv(kernel_type, planes, planes, kernel_size, 1)
        self.bn2 = batch_norm(planes)
        self.se = SqueezeExcitation(planes) if se else None
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return close_block(self, out, x)


class Bottleneck(nn.Layer):
    """conv1^3 - BN - ReLU - conv3^3(stride) - BN - ReLU - conv1^3(x expansion) - BN - [SE] - (+) - ReLU.

    ``kernel_size`` (odd int or ``(t, h, w)``, default 3) sizes the middle conv; ``mid_planes``
    (default ``planes``) and ``groups`` its width and grouping (ResNeXt)."""
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False,
                 kernel_size=3, mid_planes=None, groups=1):
        super().__init__()
        mid_planes = planes if mid_planes is None else mid_planes
        self.conv1 = conv1x1x1(in_planes, mid_planes)
        self.bn1 = batch_norm(mid_planes)
        self.conv2 = make_conv(kernel_type, mid_planes, mid_planes, kernel_size, stride, groups=groups)
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


class ResNet(nn.Layer):
    """Generic 3D ResNet trunk.

    Args:
        block: residual block class (``expansion`` attribute; constructor
            ``block(in_planes, planes, stride, downsample, kernel_type=..., se=..., **block_kwargs)``).
        layers: blocks per stage, e.g. ``[2, 2, 2, 2]``.
        block_inplanes: ``planes`` of the four stages (already widened).
        stem_planes: output channels of ``conv1`` (default ``block_inplanes[0]``, as in the new
            reference; the old wide/ResNeXt models use 64).
        n_input_channels, conv1_t_size, conv1_t_stride, no_max_pool: stem options.
        shortcut_type: ``'A'`` (zero-pad identity, detached) or ``'B'`` (1x1x1 conv + BN).
        n_classes: classifier outputs.
        kernel_type: one of ``KERNEL_TYPES``; replaces every k>1 convolution (stem included,
            as in the seed Keras builder and in R(2+1)D).
        stem_kernel_type: kernel type of the stem only (default: ``kernel_type``).  ``'3d'`` keeps
            the reference stem; worth it for 'fast'/'split-fast', whose t x 7 x 7 stem
            (64 -> 64 spatio-temporal convs at full resolution) costs ~20 GMACs at 16x112x112.
        se: squeeze-excitation on each block's residual branch before the addition.
        pool_size: ``None`` -> ``AdaptiveAvgPool3D(1)`` (default, any clip size); a 3-tuple ->
            the CVPR2018 fixed ``AvgPool3D(pool_size, stride=1)`` (``(1, 4, 4)`` for 16x112x112,
            where both are identical).
        data_format: ``'NCDHW'`` (input ``N x C x T x H x W``) or ``'NDHWC'`` (channels-last
            input ``N x T x H x W x C``; every layer, and ``forward_features``' output, is then
            channels-last); the parameters are the same either way.
    """

    def __init__(self, block, layers, block_inplanes, stem_planes=None, n_input_channels=3,
                 conv1_t_size=7, conv1_t_stride=1, no_max_pool=False, shortcut_type='B',
                 n_classes=400, kernel_type='3d', se=False, pool_size=None, block_kwargs=None,
                 stem_kernel_type=None, data_format='NCDHW'):
        super().__init__()
        shortcut_type = str(shortcut_type).upper()
        if shortcut_type not in ('A', 'B'):
            raise BadInput("unknown resnet_shortcut {!r}; valid: 'A', 'B'".format(shortcut_type))
        kernel_type = check_kernel_type(kernel_type)
        self.kernel_type = kernel_type
        self.se = bool(se)
        self.shortcut_type = shortcut_type
        self.no_max_pool = bool(no_max_pool)
        self.data_format = check_data_format(data_format)
        self._block_kwargs = dict(block_kwargs or {})
        block_inplanes = [int(p) for p in block_inplanes]
        self.in_planes = int(stem_planes) if stem_planes is not None else block_inplanes[0]

        with building_in(self.data_format):  # the blocks' layers read the format from here
            self._make_stem(n_input_channels, conv1_t_size, conv1_t_stride,
                            check_kernel_type(stem_kernel_type or kernel_type))
            self.relu = nn.ReLU()
            self.maxpool = formatted_layer(nn.MaxPool3D, kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, block_inplanes[0], layers[0], shortcut_type)
            self.layer2 = self._make_layer(block, block_inplanes[1], layers[1], shortcut_type, 2)
            self.layer3 = self._make_layer(block, block_inplanes[2], layers[2], shortcut_type, 2)
            self.layer4 = self._make_layer(block, block_inplanes[3], layers[3], shortcut_type, 2)
            if pool_size is None:
                self.avgpool = formatted_layer(nn.AdaptiveAvgPool3D, (1, 1, 1))
            else:
                self.avgpool = formatted_layer(nn.AvgPool3D, tuple(pool_size), stride=1)
        self.fc = torch_linear(block_inplanes[3] * block.expansion, n_classes)

        init_reference_weights(self)

    def _make_stem(self, n_input_channels, conv1_t_size, conv1_t_stride, kernel_type):
        self.conv1 = make_conv(kernel_type, n_input_channels, self.in_planes,
                               (conv1_t_size, 7, 7), (conv1_t_stride, 2, 2),
                               (conv1_t_size // 2, 3, 3))
        self.bn1 = batch_norm(self.in_planes)

    def stem(self, x):
        return self.relu(self.bn1(self.conv1(x)))

    def _make_layer(self, block, planes, blocks, shortcut_type, stride=1):
        downsample = None
        if stride != 1 or self.in_planes != planes * block.expansion:
            if shortcut_type == 'A':
                downsample = ShortcutA(planes * block.expansion, stride)
            else:
                downsample = nn.Sequential(
                    conv1x1x1(self.in_planes, planes * block.expansion, stride),
                    batch_norm(planes * block.expansion))
        layers = [block(self.in_planes, planes, stride, downsample,
                        kernel_type=self.kernel_type, se=self.se, **self._block_kwargs)]
        self.in_planes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.in_planes, planes, 1, None,
                                kernel_type=self.kernel_type, se=self.se, **self._block_kwargs))
        return nn.Sequential(*layers)

    def forward_features(self, x):
        x = self.stem(x)
        if not self.no_max_pool:
            x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        return x

    def forward(self, x):
        x = self.avgpool(self.forward_features(x))
        x = paddle.flatten(x, 1)  # the pooled map is 1 x 1 x 1: N x C in either data format
        return self.fc(x)

    @staticmethod
    def fine_tuning_names(begin_index):
        """What the reference's ``--ft_begin_index k`` trains: ``layer{k}`` .. ``layer4`` and ``fc``."""
        return ['layer{}'.format(i) for i in range(begin_index, 5)] + ['fc']


def make_resnet(family, basic_block, bottleneck, model_depth, widen_factor=1.0, trunk=ResNet, **kwargs):
    """A ResNet-shaped ``trunk`` of one of ``family``'s depths: basic blocks below 50 layers, bottlenecks from 50."""
    model_depth = FAMILIES[family].check_depth(model_depth)
    block = basic_block if model_depth < 50 else bottleneck
    planes = [int(p * widen_factor) for p in get_inplanes()]
    return trunk(block, LAYERS[model_depth], planes, **kwargs)


def generate_model(model_depth, widen_factor=1.0, **kwargs):
    """``resnet-{depth}``; ``kwargs`` go to :class:`ResNet` (n_classes, shortcut_type, ...)."""
    return make_resnet('resnet', BasicBlock, Bottleneck, model_depth, widen_factor, **kwargs)


def trunk_options(o):
    """The :class:`ResNet` arguments every family takes, from resolved model options."""
    return dict(n_classes=int(o['n_classes']), shortcut_type=o['resnet_shortcut'],
                n_input_channels=int(o['n_input_channels']), conv1_t_size=int(o['conv1_t_size']),
                conv1_t_stride=int(o['conv1_t_stride']), no_max_pool=bool(o['no_max_pool']),
                kernel_type=o['kernel_type'], se=bool(o['se']), data_format=o['data_format'])


@register_family('resnet', DEPTHS)
def build(o):
    """Build from resolved model options (see ``models.resolve_model_options``)."""
    return generate_model(o['model_depth'], widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))


# --model names for the ResNet with one kernel variant or squeeze-and-excitation
register_alias('resnet-2plus1d', 'resnet', '(2+1)d')
register_alias('resnet-p3d', 'resnet', 'p3d-b')
register_alias('resnet-fast', 'resnet', 'fast')
register_alias('resnet-splitfast', 'resnet', 'split-fast')
register_alias('se-resnet', 'resnet', se=True)
