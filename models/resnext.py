"""3D ResNeXt, reference OLD layout (``models/resnext.py`` at CVPR2018; the published
``resnext-101-kinetics.pth``, shortcut B, cardinality 32).

``conv1`` 64 channels; stage ``planes`` 128, 256, 512, 1024; block = ResNeXt bottleneck with
expansion 2 and ``mid = cardinality * int(planes / 32)``:
conv1 1^3 in->mid - BN - ReLU - conv2 3^3 mid->mid (stride, ``groups=cardinality``) - BN - ReLU -
conv3 1^3 mid->2 planes - BN - [SE] - (+ shortcut) - ReLU.  fc input ``cardinality * 32 * 2``.
Only ``kernel_type='3d'`` (grouped conv).
"""
from core.errors import BadInput

from .registry import FAMILIES, register_family
from .resnet import LAYERS, Bottleneck, ResNet, trunk_options

DEPTHS = [50, 101, 152]


class ResNeXtBottleneck(Bottleneck):
    """The bottleneck with expansion 2 and a grouped middle conv of ``cardinality * int(planes / 32)`` channels."""
    expansion = 2

    def __init__(self, in_planes, planes, stride=1, downsample=None, kernel_type='3d', se=False,
                 cardinality=32):
        mid_planes = cardinality * int(planes / 32)
        if mid_planes < 1:
            raise BadInput('resnext: cardinality * int(planes / 32) = 0 for planes={}; use a '
                             'larger resnet_widen_factor'.format(planes))
        super().__init__(in_planes, planes, stride, downsample, kernel_type, se, mid_planes=mid_planes,
                         groups=cardinality)


def generate_model(model_depth, cardinality=32, widen_factor=1.0, **kwargs):
    model_depth = FAMILIES['resnext'].check_depth(model_depth)
    planes = [int(p * widen_factor) for p in (128, 256, 512, 1024)]
    return ResNet(ResNeXtBottleneck, LAYERS[model_depth], planes,
                  stem_planes=int(64 * widen_factor),
                  block_kwargs={'cardinality': int(cardinality)}, **kwargs)


@register_family('resnext', DEPTHS, kernel_types=['3d'])  # grouped convolutions: '3d' only
def build(o):
    return generate_model(o['model_depth'], cardinality=int(o['resnext_cardinality']),
                          widen_factor=float(o['resnet_widen_factor']), **trunk_options(o))
