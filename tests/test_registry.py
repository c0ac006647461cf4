"""The model registry: every registered family x depth x kernel builds from the registry alone, and a
new family or kernel variant is one module plus one registration (docs/DESIGN.md walk-throughs)."""
import numpy as np
import paddle
import paddle.nn as nn
import pytest

import models
from models import registry
from models._common import conv3d, torch_linear
from opts import main_parser


def registered_combinations():
    return [(name, depth, kernel) for name, family in registry.FAMILIES.items()
            for depth in family.depths for kernel in family.kernel_types]


@pytest.mark.parametrize('name,depth,kernel', registered_combinations(),
                         ids=['{}-{}-{}'.format(*c) for c in registered_combinations()])
def test_every_registered_family_depth_and_kernel_builds(name, depth, kernel):
    family = registry.FAMILIES[name]
    with paddle.LazyGuard():
        model = models.generate_model(dict(model=name, model_depth=depth, kernel_type=kernel, n_classes=7,
                                           se=family.se, resnext_cardinality=4, resnet_widen_factor=0.25))
    classifier = getattr(model, family.classifier)
    assert isinstance(classifier, nn.Linear) and classifier.weight.shape[-1] == 7
    assert models.get_classifier_name(name) == family.classifier


def test_tables_derive_from_the_registry():
    assert models.FAMILIES == list(registry.FAMILIES)
    assert models.MODEL_NAMES == models.model_names()
    assert models.KERNEL_TYPES == list(registry.KERNELS) and models.KERNEL_TYPES[0] == '3d'
    for name, family in registry.FAMILIES.items():
        assert models.DEPTHS[name] == list(family.depths)
        assert models.SUPPORTED_KERNELS[name] == list(family.kernel_types)
        assert models.SUPPORTS_SE[name] == family.se
        assert '{} {}'.format(name, '|'.join(map(str, family.depths))) in models.depth_help()


class Toy(nn.Layer):
    """A two-layer 'family': one convolution, pooling, the classifier."""

    def __init__(self, width, n_classes, kernel_type):
        super().__init__()
        self.conv = models.kernels.make_conv(kernel_type, 3, width, 3)
        self.head = torch_linear(width, n_classes)

    def forward(self, x):
        return self.head(paddle.flatten(nn.functional.adaptive_avg_pool3d(self.conv(x), 1), 1))


class Shifted(nn.Layer):
    """A toy kernel variant: the 3D convolution of the frame before (a temporal shift)."""

    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, padding=None):
        super().__init__()
        self.conv = conv3d(in_planes, out_planes, kernel_size, stride, 1)

    def forward(self, x):
        return self.conv(paddle.concat([x[:, :, :1], x[:, :, :-1]], axis=2))


@pytest.fixture
def toy_registrations():
    yield
    registry.FAMILIES.pop('toy', None)
    registry.KERNELS.pop('shifted', None)


def test_a_new_family_and_kernel_are_one_registration_each(toy_registrations):
    registry.register_kernel('shifted', seed_name='Shifted')(Shifted)
    registry.register_family('toy', depths=[1, 2], kernel_types=['3d', 'shifted'], se=False,
                             classifier='head')(lambda o: Toy(8 * o['model_depth'], o['n_classes'], o['kernel_type']))
    parser = main_parser()
    opt = parser.parse_args(['--model', 'toy', '--model_depth', '2', '--kernel_type', 'shifted', '--n_classes', '5'])
    model = models.generate_model(opt)
    assert isinstance(model.conv, Shifted) and models.get_classifier_name('toy') == 'head'
    assert 'toy 1|2' in models.depth_help()
    out = model(paddle.to_tensor(np.zeros((2, 3, 4, 8, 8), np.float32)))
    assert tuple(out.shape) == (2, 5)
    with pytest.raises(ValueError, match=r'valid depths: \[1, 2\]'):
        models.generate_model(dict(model='toy', model_depth=3))
    with pytest.raises(ValueError, match='not supported by model'):
        models.generate_model(dict(model='toy', model_depth=1, kernel_type='fast'))
    with pytest.raises(ValueError, match='not supported by model'):
        models.generate_model(dict(model='toy', model_depth=1, se=True))
