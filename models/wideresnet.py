"""Wide 3D ResNet, reference OLD layout (``models/wide_resnet.py`` at CVPR2018; the published
``wideresnet-50-kinetics.pth``).

Depth 50 only.  ``conv1`` keeps 64 channels (the NEW layout widens it to 64k, which is not
weight-compatible); stage ``planes`` are ``64k, 128k, 256k, 512k``; the block is the ResNet
bottleneck with expansion 2 (conv1 1^3 in->planes, conv2 3^3 planes->planes (stride),
conv3 1^3 planes->2 planes), so the fc input is ``512 k 2`` (2048 for k=2).
"""
from .registry import FAMILIES, register_family
from .resnet import LAYERS, Bottleneck, ResNet, trunk_options


class WideBottleneck(Bottleneck):
    expansion = 2


def generate_model(model_depth=50, k=2, widen_factor=1.0, **kwargs):
    model_depth = FAMILIES['wideresnet'].check_depth(model_depth)
    k = int(k)
    planes = [int(p * k * widen_factor) for p in (64, 128, 256, 512)]
    return ResNet(WideBottleneck, LAYERS[model_depth], planes, stem_planes=int(64 * widen_factor),
                  **kwargs)


@register_family('wideresnet', [50])
def build(o):
    return generate_model(o['model_depth'], k=int(o['wide_resnet_k']),
                          widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))
