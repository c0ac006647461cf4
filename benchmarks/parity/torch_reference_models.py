"""PyTorch versions of the reference architectures, for the checkpoint-converter tests.

Written from the published description of kenshohara/3D-ResNets-PyTorch (layer names, channel
counts, strides, shortcut types; as described in the reference README and the CVPR 2018 paper), not
copied from its code. Only what decides the state_dict (names and shapes) and the eval-mode forward
pass matters here; the classifier head uses adaptive pooling, which equals the old fixed
``AvgPool3d`` for the published 16x112x112 input.

Families and the keys they produce:

* ``resnet`` (old == new for the defaults): ``conv1, bn1, layer{1..4}.{i}.{conv1,bn1,conv2,bn2
  [,conv3,bn3]}[.downsample.{0,1}], fc``; shortcut A has no ``downsample`` keys.
* ``preresnet`` (old layout only): pre-activation blocks, ``bn1`` acts on the block input.
* ``wideresnet`` (old layout): conv1 64 channels, stage widths 64k..512k, bottleneck expansion 2.
* ``resnext`` (old layout): conv1 64 channels, planes 128..1024, mid = cardinality * planes // 32,
  grouped 3x3x3 conv, expansion 2.
* ``densenet``: ``features.{conv0,norm0}`` and ``denselayerN.{norm.1,conv.1,norm.2,conv.2}`` in the old
  layout (built with nested ModuleDicts, since PyTorch no longer accepts dots in module names),
  ``features.{conv1,norm1}`` and ``denselayerN.{norm1,conv1,norm2,conv2}`` in the new one;
  ``transitionN.{norm,conv}``, ``features.norm5``, ``classifier``.
* ``resnet2p1d`` (new layout): ``conv1_s, bn1_s, conv1_t, bn1_t`` stem; blocks split every 3x3x3 conv
  into ``convK_s`` (1x3x3) + ``convK_t`` (3x1x1) with a parameter-matched mid width.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

RESNET_LAYERS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3],
                 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 24, 36, 3]}
DENSENET_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}


def conv(cin, cout, kernel, stride=1, padding=0, groups=1):
    return nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)


def bn(c):
    return nn.BatchNorm3d(c)


class ShortcutA(nn.Module):
    """Parameter-free shortcut: strided subsampling (avg-pool, kernel 1) + zero channels, detached."""

    def __init__(self, out_planes, stride):
        super().__init__()
        self.out_planes, self.stride = out_planes, stride

    def forward(self, x):
        out = F.avg_pool3d(x, kernel_size=1, stride=self.stride)
        pad = out.new_zeros(out.size(0), self.out_planes - out.size(1), *out.shape[2:])
        return torch.cat([out.detach(), pad], dim=1)


# ----------------------------------------------------------------------------------------- blocks
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv(cin, planes, 3, stride, 1)
        self.bn1 = bn(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1)
        self.bn2 = bn(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv(cin, planes, 1)
        self.bn1 = bn(planes)
        self.conv2 = conv(planes, planes, 3, stride, 1)
        self.bn2 = bn(planes)
        self.conv3 = conv(planes, planes * self.expansion, 1)
        self.bn3 = bn(planes * self.expansion)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class WideBottleneck(Bottleneck):
    expansion = 2


class ResNeXtBottleneck(nn.Module):
    expansion = 2

    def __init__(self, cin, planes, stride=1, downsample=None, cardinality=32):
        super().__init__()
        mid = cardinality * (planes // 32)
        self.conv1 = conv(cin, mid, 1)
        self.bn1 = bn(mid)
        self.conv2 = conv(mid, mid, 3, stride, 1, groups=cardinality)
        self.bn2 = bn(mid)
        self.conv3 = conv(mid, planes * self.expansion, 1)
        self.bn3 = bn(planes * self.expansion)
        self.downsample = downsample

    forward = Bottleneck.forward


class PreActBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = bn(cin)
        self.conv1 = conv(cin, planes, 3, stride, 1)
        self.bn2 = bn(planes)
        self.conv2 = conv(planes, planes, 3, 1, 1)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + (x if self.downsample is None else self.downsample(x))


class PreActBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = bn(cin)
        self.conv1 = conv(cin, planes, 1)
        self.bn2 = bn(planes)
        self.conv2 = conv(planes, planes, 3, stride, 1)
        self.bn3 = bn(planes)
        self.conv3 = conv(planes, planes * 4, 1)
        self.downsample = downsample

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + (x if self.downsample is None else self.downsample(x))


def mid_2p1d(cin, cout, t=3, s=3):
    """Width of the (2+1)D split that keeps the 3D conv's parameter count (floor division)."""
    return (cin * cout * t * s * s) // (cin * s * s + t * cout)


def conv_s(cin, cout, stride=1):
    return conv(cin, cout, (1, 3, 3), (1, stride, stride), (0, 1, 1))


def conv_t(cin, cout, stride=1):
    return conv(cin, cout, (3, 1, 1), (stride, 1, 1), (1, 0, 0))


class R2p1dBasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        m1, m2 = mid_2p1d(cin, planes), mid_2p1d(planes, planes)
        self.conv1_s, self.bn1_s = conv_s(cin, m1, stride), bn(m1)
        self.conv1_t, self.bn1_t = conv_t(m1, planes, stride), bn(planes)
        self.conv2_s, self.bn2_s = conv_s(planes, m2), bn(m2)
        self.conv2_t, self.bn2_t = conv_t(m2, planes), bn(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1_s(self.conv1_s(x)))
        out = F.relu(self.bn1_t(self.conv1_t(out)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = self.bn2_t(self.conv2_t(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


class R2p1dBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        mid = mid_2p1d(planes, planes)
        self.conv1, self.bn1 = conv(cin, planes, 1), bn(planes)
        self.conv2_s, self.bn2_s = conv_s(planes, mid, stride), bn(mid)
        self.conv2_t, self.bn2_t = conv_t(mid, planes, stride), bn(planes)
        self.conv3, self.bn3 = conv(planes, planes * 4, 1), bn(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2_s(self.conv2_s(out)))
        out = F.relu(self.bn2_t(self.conv2_t(out)))
        out = self.bn3(self.conv3(out))
        res = x if self.downsample is None else self.downsample(x)
        return F.relu(out + res)


# ----------------------------------------------------------------------------------------- ResNets
class ResNet3D(nn.Module):
    """Stem + 4 stages + global average pooling + fc, shared by the ResNet-like families."""

    def __init__(self, block, layers, widths, stem_planes=64, shortcut='B', n_classes=400,
                 n_input_channels=3, conv1_t_size=7, conv1_t_stride=1, no_max_pool=False,
                 stem='3d', block_kwargs=None):
        super().__init__()
        self.no_max_pool = no_max_pool
        self.stem = stem
        t = conv1_t_size
        if stem == '2p1d':
            mid = (3 * stem_planes * t * 7 * 7) // (3 * 7 * 7 + t * stem_planes)
            self.conv1_s = conv(n_input_channels, mid, (1, 7, 7), (1, 2, 2), (0, 3, 3))
            self.bn1_s = bn(mid)
            self.conv1_t = conv(mid, stem_planes, (t, 1, 1), (conv1_t_stride, 1, 1), (t // 2, 0, 0))
            self.bn1_t = bn(stem_planes)
        else:
            self.conv1 = conv(n_input_channels, stem_planes, (t, 7, 7), (conv1_t_stride, 2, 2), (t // 2, 3, 3))
            self.bn1 = bn(stem_planes)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self.in_planes = stem_planes
        kwargs = block_kwargs or {}
        for i, (planes, n) in enumerate(zip(widths, layers)):
            stride = 1 if i == 0 else 2
            out_planes = planes * block.expansion
            downsample = None
            if stride != 1 or self.in_planes != out_planes:
                if shortcut == 'A':
                    downsample = ShortcutA(out_planes, stride)
                else:
                    downsample = nn.Sequential(conv(self.in_planes, out_planes, 1, stride), bn(out_planes))
            blocks = [block(self.in_planes, planes, stride, downsample, **kwargs)]
            self.in_planes = out_planes
            blocks += [block(self.in_planes, planes, **kwargs) for _ in range(1, n)]
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.fc = nn.Linear(self.in_planes, n_classes)

    def forward(self, x):
        if self.stem == '2p1d':
            x = F.relu(self.bn1_s(self.conv1_s(x)))
            x = F.relu(self.bn1_t(self.conv1_t(x)))
        else:
            x = F.relu(self.bn1(self.conv1(x)))
        if not self.no_max_pool:
            x = self.maxpool(x)
        for i in range(1, 5):
            x = getattr(self, f'layer{i}')(x)
        x = F.adaptive_avg_pool3d(x, 1).flatten(1)
        return self.fc(x)


# ----------------------------------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    def __init__(self, cin, growth=32, bn_size=4, old_names=False):
        super().__init__()
        self.old_names = old_names
        mid = bn_size * growth
        if old_names:   # keys norm.1, conv.1, norm.2, conv.2
            self.norm = nn.ModuleDict({'1': bn(cin), '2': bn(mid)})
            self.conv = nn.ModuleDict({'1': conv(cin, mid, 1), '2': conv(mid, growth, 3, 1, 1)})
        else:
            self.norm1, self.conv1 = bn(cin), conv(cin, mid, 1)
            self.norm2, self.conv2 = bn(mid), conv(mid, growth, 3, 1, 1)

    def forward(self, x):
        if self.old_names:
            n1, c1, n2, c2 = self.norm['1'], self.conv['1'], self.norm['2'], self.conv['2']
        else:
            n1, c1, n2, c2 = self.norm1, self.conv1, self.norm2, self.conv2
        new = c2(F.relu(n2(c1(F.relu(n1(x))))))
        return torch.cat([x, new], 1)


class Transition(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(OrderedDict([('norm', bn(cin)), ('relu', nn.ReLU()), ('conv', conv(cin, cout, 1)),
                                      ('pool', nn.AvgPool3d(kernel_size=2, stride=2))]))


class DenseNet3D(nn.Module):
    def __init__(self, block_config, n_classes=400, old_names=False, growth=32, init_features=64):
        super().__init__()
        stem = '0' if old_names else '1'
        feats = [(f'conv{stem}', conv(3, init_features, 7, (1, 2, 2), 3)),
                 (f'norm{stem}', bn(init_features)), (f'relu{stem}', nn.ReLU()),
                 (f'pool{stem}', nn.MaxPool3d(kernel_size=3, stride=2, padding=1))]
        c = init_features
        for i, n in enumerate(block_config):
            block = nn.Sequential(OrderedDict(
                (f'denselayer{j + 1}', DenseLayer(c + j * growth, growth, old_names=old_names)) for j in range(n)))
            feats.append((f'denseblock{i + 1}', block))
            c += n * growth
            if i != len(block_config) - 1:
                feats.append((f'transition{i + 1}', Transition(c, c // 2)))
                c //= 2
        feats.append(('norm5', bn(c)))   # BatchNorm2d in the old code: same parameters and statistics
        self.features = nn.Sequential(OrderedDict(feats))
        self.classifier = nn.Linear(c, n_classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        return self.classifier(F.adaptive_avg_pool3d(x, 1).flatten(1))


# ----------------------------------------------------------------------------------------- builder
def build(model, model_depth, n_classes=400, resnet_shortcut='B', wide_resnet_k=2, resnext_cardinality=32,
          conv1_t_size=7, conv1_t_stride=1, no_max_pool=False, resnet_widen_factor=1.0,
          densenet_old_names=False, **_ignored):
    """A reference model from the same flags as the converter / main.py."""
    stem = dict(conv1_t_size=conv1_t_size, conv1_t_stride=conv1_t_stride, no_max_pool=no_max_pool)
    if model == 'densenet':
        return DenseNet3D(DENSENET_BLOCKS[model_depth], n_classes, old_names=densenet_old_names)
    layers = RESNET_LAYERS[model_depth]
    deep = model_depth >= 50
    if model in ('resnet', 'resnet2p1d'):
        widths = [int(w * resnet_widen_factor) for w in (64, 128, 256, 512)]
        if model == 'resnet':
            block = Bottleneck if deep else BasicBlock
        else:
            block = R2p1dBottleneck if deep else R2p1dBasicBlock
        return ResNet3D(block, layers, widths, widths[0], resnet_shortcut, n_classes,
                        stem='2p1d' if model == 'resnet2p1d' else '3d', **stem)
    if model == 'preresnet':
        block = PreActBottleneck if deep else PreActBasicBlock
        return ResNet3D(block, layers, [64, 128, 256, 512], 64, resnet_shortcut, n_classes, **stem)
    if model == 'wideresnet':
        k = wide_resnet_k
        return ResNet3D(WideBottleneck, layers, [64 * k, 128 * k, 256 * k, 512 * k], 64, resnet_shortcut,
                        n_classes, **stem)
    if model == 'resnext':
        return ResNet3D(ResNeXtBottleneck, layers, [128, 256, 512, 1024], 64, resnet_shortcut, n_classes,
                        block_kwargs={'cardinality': resnext_cardinality}, **stem)
    raise ValueError(model)


@torch.no_grad()
def randomize_(model, seed=0):
    """Random BN running statistics and affine parameters and a random fc bias, so that a converter
    that mixed up mean/variance/weight/bias, or dropped a BN, would change the logits."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm3d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.2)
            m.running_var.copy_(torch.rand(c, generator=g) * 1.0 + 0.5)
            m.weight.copy_(torch.rand(c, generator=g) * 0.6 + 0.7)
            m.bias.copy_(torch.randn(c, generator=g) * 0.2)
            m.num_batches_tracked.fill_(1234)
        elif isinstance(m, nn.Linear):
            m.bias.copy_(torch.randn(m.out_features, generator=g))
    return model
