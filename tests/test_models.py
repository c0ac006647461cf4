"""Tests for models/ (CPU, tiny clips, narrow widths; full-size models are built lazily).

* every model x depth x kernel x SE combination the CLI offers: output shape, finite output,
  every trainable parameter receives a (finite) gradient;
* reference parameter counts of the full-size models (built under ``paddle.LazyGuard``: shapes
  only, nothing is run);
* state_dict keys (and shapes) of resnet-18-A, resnet-50-B, densenet-121, resnext-101,
  wideresnet-50, preresnet-200 and resnet2p1d-18 against key lists generated here from the
  reference's published layer structure (not from our models);
* the (2+1)D mid-channel formula, kernel-variant shapes and parameter counts, SE, shortcut A,
  init, BN settings, fixed vs adaptive pooling, generate_model errors, fine-tuning parameter
  groups and classifier replacement (the notebook builder API: tests/test_builder.py);
* channels-last (``data_format='NDHWC'``): every model x kernel x SE choice the CLI offers (with
  basic and with bottleneck blocks) gives the logits, gradients and BN statistics of the
  channels-first model with the same weights.
"""
import math

import numpy as np
import paddle
import paddle.nn as nn
import pytest

import models
from models import kernels
from models._common import ShortcutA, building_in, current_data_format

NARROW = 0.0625  # widths 4, 8, 16, 32


def lazy_model(**opts):
    with paddle.LazyGuard():
        return models.generate_model(opts)


def n_trainable(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters() if not p.stop_gradient)


def n_params(layer):
    return sum(int(np.prod(p.shape)) for p in layer.parameters() if not p.stop_gradient)


# --------------------------------------------------------------------------------------------
# every combination the CLI offers

def cli_combinations():
    combos = []
    for family in models.FAMILIES:
        for depth in models.DEPTHS[family]:
            for kernel in models.SUPPORTED_KERNELS[family]:
                for se in ([False, True] if models.SUPPORTS_SE[family] else [False]):
                    combos.append((family, depth, kernel, se))
    for alias in models.MODEL_ALIASES:
        for se in (False, True):
            combos.append((alias, 18, '3d', se))
    return combos


COMBOS = cli_combinations()


def one_depth_per_block_type(combos):
    """``combos`` with only the shallowest basic-block and bottleneck depth of each model, kernel
    and SE choice: deeper models repeat the same blocks at more cost."""
    seen, kept = set(), []
    for model, depth, kernel, se in combos:
        block_type = (model, kernel, se, depth >= 50)   # bottleneck blocks from 50 layers on
        if block_type not in seen:
            seen.add(block_type)
            kept.append((model, depth, kernel, se))
    return kept


LAYOUT_COMBOS = one_depth_per_block_type(COMBOS)


def combo_ids(combos):
    return ['{}-{}-{}{}'.format(m, d, k, '-se' if s else '') for m, d, k, s in combos]


def tiny_opts(model, depth, kernel, se):
    family = models.resolve_model_name(model)[0]
    # alternate the shortcut so both are exercised with every kernel and depth
    shortcut = 'A' if se else 'B'
    opts = dict(model=model, model_depth=depth, kernel_type=kernel, se=se, n_classes=5,
                resnet_shortcut=shortcut, resnet_widen_factor=NARROW)
    if family == 'wideresnet':
        opts.update(wide_resnet_k=1)
    if family == 'resnext':
        opts.update(resnext_cardinality=4, resnet_widen_factor=0.25)  # mid 4, 8, 16, 32
    return opts


def clip_frames(model):
    """Frames of a test clip: densenet halves T three times after the stem pool."""
    return 16 if models.resolve_model_name(model)[0] == 'densenet' else 8


def test_combination_list_is_complete():
    assert len(COMBOS) == len(set(COMBOS))
    fams = {models.resolve_model_name(c[0])[0] for c in COMBOS}
    assert fams == set(models.FAMILIES)
    kernels_resnet = {c[2] for c in COMBOS if c[0] == 'resnet'}
    assert kernels_resnet == set(models.KERNEL_TYPES)
    choices = {(m, k, s) for m, _, k, s in COMBOS}
    assert {(m, k, s) for m, _, k, s in LAYOUT_COMBOS} == choices


@pytest.mark.parametrize('model,depth,kernel,se', COMBOS, ids=combo_ids(COMBOS))
def test_forward_backward_every_combination(model, depth, kernel, se):
    paddle.seed(0)
    opts = tiny_opts(model, depth, kernel, se)
    net = models.generate_model(opts)
    net.train()
    family = models.resolve_model_name(model)[0]
    x = paddle.randn([2, 3, clip_frames(model), 32, 32])
    y = net(x)
    assert list(y.shape) == [2, 5]
    assert np.isfinite(y.numpy()).all()
    (y * paddle.randn(y.shape)).sum().backward()
    missing = [k for k, p in net.named_parameters() if not p.stop_gradient and p.grad is None]
    assert not missing, missing
    bad = [k for k, p in net.named_parameters()
           if not p.stop_gradient and not np.isfinite(p.grad.numpy()).all()]
    assert not bad, bad
    # the variants really change the convolutions
    names = [k for k, _ in net.named_parameters()]
    alias_kernel = models.MODEL_ALIASES.get(model, (None, kernel, se))[1]
    effective = kernel if alias_kernel == '3d' else alias_kernel
    if family != 'resnet2p1d' and effective != '3d':
        assert any('conv_s' in k for k in names)
    if se or models.MODEL_ALIASES.get(model, (None, None, False))[2]:
        assert any('.se.reduce.' in k for k in names)


# --------------------------------------------------------------------------------------------
# channels-last data format

def shapes(state_dict):
    return [(k, tuple(v.shape)) for k, v in state_dict.items()]


def layer_data_formats(net):
    """name -> data format of every layer that has one (Paddle's pools keep it as
    ``data_format``, its convolutions and BNs as ``_data_format``; ours as ``data_format``)."""
    formats = {}
    for name, layer in net.named_sublayers(include_self=True):
        data_format = getattr(layer, '_data_format', None) or getattr(layer, 'data_format', None)
        if data_format is not None:
            formats[name] = data_format
    return formats


def assert_same_values(a, b):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def channels_first_and_last(opts):
    """The model of ``opts`` built channels-first and channels-last, with the same weights."""
    paddle.seed(0)
    first = models.generate_model(opts)
    last = models.generate_model(dict(opts, data_format='NDHWC'))
    assert shapes(last.state_dict()) == shapes(first.state_dict())
    last.set_state_dict(first.state_dict())
    return first, last


def logits_and_gradients(net, x):
    net.train()   # BN normalises with the batch statistics and updates its running ones
    y = net(x)
    (y * paddle.linspace(-1, 1, y.size, dtype=y.dtype).reshape(y.shape)).sum().backward()
    return y, {k: p.grad for k, p in net.named_parameters() if not p.stop_gradient}


@pytest.fixture
def float64():
    """Double precision.  In train mode the narrow test models normalise over a handful of values
    per channel (layer4 sees 1 x 1 x 1 maps of a batch of 2), which amplifies rounding, and the two
    layouts' kernels round differently: in float32 wideresnet-50-fast's logits differ by ~1
    between the layouts, in float64 by < 1e-9."""
    previous = paddle.get_default_dtype()
    paddle.set_default_dtype('float64')
    yield
    paddle.set_default_dtype(previous)


@pytest.mark.usefixtures('float64')
@pytest.mark.parametrize('model,depth,kernel,se', LAYOUT_COMBOS, ids=combo_ids(LAYOUT_COMBOS))
def test_channels_last_equals_channels_first(model, depth, kernel, se):
    first, last = channels_first_and_last(tiny_opts(model, depth, kernel, se))
    assert set(layer_data_formats(first).values()) == {'NCDHW'}
    assert set(layer_data_formats(last).values()) == {'NDHWC'}
    x = paddle.randn([2, 3, clip_frames(model), 32, 32])
    x_last = x.transpose([0, 2, 3, 4, 1])
    y_first, grads_first = logits_and_gradients(first, x)
    y_last, grads_last = logits_and_gradients(last, x_last)
    assert_same_values(y_first, y_last)
    assert list(grads_last) == list(grads_first)
    for name, grad in grads_first.items():
        assert_same_values(grad, grads_last[name])
    for name, value in first.state_dict().items():    # the running statistics of the train step
        assert_same_values(value, last.state_dict()[name])
    first.eval()
    last.eval()
    with paddle.no_grad():
        assert_same_values(first(x), last(x_last))


@pytest.mark.parametrize('model', models.FAMILIES)
def test_channels_last_equals_channels_first_in_float32_eval(model):
    kernel = models.SUPPORTED_KERNELS[model][-1]
    first, last = channels_first_and_last(tiny_opts(model, models.DEPTHS[model][0], kernel,
                                                    models.SUPPORTS_SE[model]))
    first.eval()
    last.eval()
    x = paddle.randn([2, 3, clip_frames(model), 32, 32])
    with paddle.no_grad():
        assert_same_values(first(x), last(x.transpose([0, 2, 3, 4, 1])))


def test_shortcut_a_channels_last():
    x = paddle.randn([2, 4, 4, 7, 7])
    for stride, out_planes in [(2, 8), (1, 6)]:
        first = ShortcutA(out_planes, stride)
        with building_in('NDHWC'):
            last = ShortcutA(out_planes, stride)
        out = last(x.transpose([0, 2, 3, 4, 1]))
        assert out.stop_gradient
        np.testing.assert_array_equal(out.numpy(), first(x).numpy().transpose(0, 2, 3, 4, 1))
        np.testing.assert_array_equal(out.numpy()[..., 4:], 0)


def test_data_format_option_sources_and_helpers():
    from argparse import Namespace
    with paddle.LazyGuard():
        net = models.generate_model(Namespace(model='densenet', model_depth=121,
                                              data_format='ndhwc'))
    assert net.data_format == 'NDHWC'
    assert current_data_format() == 'NCDHW'           # the build's format does not leak
    assert kernels.make_conv('fast', 4, 4).conv_s._data_format == 'NCDHW'
    for opts in (dict(), dict(data_format=None)):
        assert models.resolve_model_options(opts)['data_format'] == 'NCDHW'
    assert 'data_format' not in models.MODEL_OPTION_NAMES   # checkpoints load in either format
    assert models.DATA_FORMATS == ['NCDHW', 'NDHWC']
    assert [models.channel_axis(f) for f in models.DATA_FORMATS] == [1, 4]
    x = paddle.randn([1, 3, 4, 5, 6])
    assert models.to_data_format(x, 'NCDHW') is x
    assert list(models.to_data_format(x, 'NDHWC').shape) == [1, 4, 5, 6, 3]
    with pytest.raises(ValueError, match='valid data formats: NCDHW, NDHWC'):
        models.channel_axis('NCHW')


def test_eval_mode_and_other_clip_sizes():
    net = models.generate_model(dict(model='resnet', model_depth=10, resnet_widen_factor=NARROW,
                                     n_classes=3, conv1_t_size=3, conv1_t_stride=2,
                                     no_max_pool=True, n_input_channels=2))
    net.eval()
    for shape in ([1, 2, 4, 16, 16], [1, 2, 7, 24, 40]):
        with paddle.no_grad():
            y = net(paddle.randn(shape))
        assert list(y.shape) == [1, 3]
    assert list(net.conv1.weight.shape) == [4, 2, 3, 7, 7]


# --------------------------------------------------------------------------------------------
# parameter counts of the full-size models (400 classes), from the reference

PARAM_COUNTS = [
    (dict(model='resnet', model_depth=10, resnet_shortcut='A'), 14.43),
    (dict(model='resnet', model_depth=18, resnet_shortcut='A'), 33.24),
    (dict(model='resnet', model_depth=18, resnet_shortcut='B'), 33.41),
    (dict(model='resnet', model_depth=34, resnet_shortcut='A'), 63.54),
    (dict(model='resnet', model_depth=50, resnet_shortcut='B'), 47.02),
    (dict(model='resnet', model_depth=101, resnet_shortcut='B'), 86.06),
    (dict(model='resnet', model_depth=152, resnet_shortcut='B'), 118.22),
    (dict(model='resnet', model_depth=200, resnet_shortcut='B'), 127.42),
    (dict(model='wideresnet', model_depth=50, wide_resnet_k=2), 158.2),
    (dict(model='resnext', model_depth=101, resnext_cardinality=32), 48.34),
    (dict(model='resnet2p1d', model_depth=18, resnet_shortcut='B'), 33.42),
]


@pytest.mark.parametrize('opts,millions', PARAM_COUNTS,
                         ids=['{}-{}-{}'.format(o['model'], o['model_depth'],
                                                o.get('resnet_shortcut', '')) for o, _ in PARAM_COUNTS])
def test_reference_parameter_counts(opts, millions):
    net = lazy_model(n_classes=400, **opts)
    decimals = len(str(millions).split('.')[1])
    assert round(n_trainable(net) / 1e6, decimals) == millions


def test_resnet18_101_classes_and_exact_counts():
    assert round(n_trainable(lazy_model(resnet_shortcut='A', n_classes=101)) / 1e6, 2) == 33.08
    # paddle-facts: 3D ResNet-18 (B, 101 classes) has 33,255,717 trainable parameters
    assert n_trainable(lazy_model(resnet_shortcut='B', n_classes=101)) == 33255717


# --------------------------------------------------------------------------------------------
# reference state_dict keys, generated from the published layer structure

def bn(prefix, c):
    return [(prefix + '.weight', (c,)), (prefix + '.bias', (c,)),
            (prefix + '.running_mean', (c,)), (prefix + '.running_var', (c,))]


def conv(prefix, cout, cin, k):
    k = (k, k, k) if isinstance(k, int) else k
    return [(prefix + '.weight', (cout, cin) + tuple(k))]


def linear(prefix, cout, cin):
    return [(prefix + '.weight', (cout, cin)), (prefix + '.bias', (cout,))]


RESNET_LAYERS = {10: [1, 1, 1, 1], 18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3],
                 101: [3, 4, 23, 3], 152: [3, 8, 36, 3], 200: [3, 24, 36, 3]}


def ref_resnet_keys(depth, shortcut, n_classes=400, preact=False):
    """models/resnet.py (and OLD pre_act_resnet.py with ``preact``): conv1/bn1 stem, layer1-4,
    basic (conv1,bn1,conv2,bn2) or bottleneck (+conv3,bn3, expansion 4), downsample.{0,1}, fc."""
    bottleneck = depth >= 50
    exp = 4 if bottleneck else 1
    keys = conv('conv1', 64, 3, 7) + bn('bn1', 64)
    in_planes = 64
    for i, (planes, n) in enumerate(zip([64, 128, 256, 512], RESNET_LAYERS[depth])):
        stride = 1 if i == 0 else 2
        for j in range(n):
            p = 'layer{}.{}'.format(i + 1, j)
            if preact and bottleneck:
                keys += (bn(p + '.bn1', in_planes) + conv(p + '.conv1', planes, in_planes, 1)
                         + bn(p + '.bn2', planes) + conv(p + '.conv2', planes, planes, 3)
                         + bn(p + '.bn3', planes) + conv(p + '.conv3', planes * 4, planes, 1))
            elif preact:
                keys += (bn(p + '.bn1', in_planes) + conv(p + '.conv1', planes, in_planes, 3)
                         + bn(p + '.bn2', planes) + conv(p + '.conv2', planes, planes, 3))
            elif bottleneck:
                keys += (conv(p + '.conv1', planes, in_planes, 1) + bn(p + '.bn1', planes)
                         + conv(p + '.conv2', planes, planes, 3) + bn(p + '.bn2', planes)
                         + conv(p + '.conv3', planes * 4, planes, 1) + bn(p + '.bn3', planes * 4))
            else:
                keys += (conv(p + '.conv1', planes, in_planes, 3) + bn(p + '.bn1', planes)
                         + conv(p + '.conv2', planes, planes, 3) + bn(p + '.bn2', planes))
            if j == 0 and (stride != 1 or in_planes != planes * exp) and shortcut == 'B':
                keys += (conv(p + '.downsample.0', planes * exp, in_planes, 1)
                         + bn(p + '.downsample.1', planes * exp))
            in_planes = planes * exp
    return keys + linear('fc', n_classes, 512 * exp)


def ref_wide_resnet50_keys(k=2, n_classes=400):
    """OLD wide_resnet.py: conv1 64, planes 64k..512k, bottleneck expansion 2, shortcut B."""
    keys = conv('conv1', 64, 3, 7) + bn('bn1', 64)
    in_planes = 64
    for i, (planes, n) in enumerate(zip([64 * k, 128 * k, 256 * k, 512 * k], [3, 4, 6, 3])):
        for j in range(n):
            p = 'layer{}.{}'.format(i + 1, j)
            keys += (conv(p + '.conv1', planes, in_planes, 1) + bn(p + '.bn1', planes)
                     + conv(p + '.conv2', planes, planes, 3) + bn(p + '.bn2', planes)
                     + conv(p + '.conv3', planes * 2, planes, 1) + bn(p + '.bn3', planes * 2))
            if j == 0:
                keys += conv(p + '.downsample.0', planes * 2, in_planes, 1) + bn(
                    p + '.downsample.1', planes * 2)
            in_planes = planes * 2
    return keys + linear('fc', n_classes, 512 * k * 2)


def ref_resnext_keys(depth=101, cardinality=32, n_classes=400):
    """OLD resnext.py: conv1 64, planes 128..1024, mid = C * int(planes / 32), grouped conv2,
    expansion 2, shortcut B."""
    keys = conv('conv1', 64, 3, 7) + bn('bn1', 64)
    in_planes = 64
    layers = {50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[depth]
    for i, (planes, n) in enumerate(zip([128, 256, 512, 1024], layers)):
        mid = cardinality * int(planes / 32)
        for j in range(n):
            p = 'layer{}.{}'.format(i + 1, j)
            keys += (conv(p + '.conv1', mid, in_planes, 1) + bn(p + '.bn1', mid)
                     + conv(p + '.conv2', mid, mid // cardinality, 3) + bn(p + '.bn2', mid)
                     + conv(p + '.conv3', planes * 2, mid, 1) + bn(p + '.bn3', planes * 2))
            if j == 0:
                keys += conv(p + '.downsample.0', planes * 2, in_planes, 1) + bn(
                    p + '.downsample.1', planes * 2)
            in_planes = planes * 2
    return keys + linear('fc', n_classes, cardinality * 32 * 2)


def ref_densenet_keys(block_config=(6, 12, 24, 16), n_classes=400):
    """NEW densenet.py names: features.conv1/norm1, denseblockB.denselayerL.{norm1,conv1,norm2,
    conv2}, transitionB.{norm,conv}, features.norm5, classifier (growth 32, bn_size 4, init 64)."""
    keys = conv('features.conv1', 64, 3, 7) + bn('features.norm1', 64)
    nf = 64
    for b, n in enumerate(block_config):
        for l in range(n):
            p = 'features.denseblock{}.denselayer{}'.format(b + 1, l + 1)
            cin = nf + l * 32
            keys += (bn(p + '.norm1', cin) + conv(p + '.conv1', 128, cin, 1)
                     + bn(p + '.norm2', 128) + conv(p + '.conv2', 32, 128, 3))
        nf += n * 32
        if b != len(block_config) - 1:
            p = 'features.transition{}'.format(b + 1)
            keys += bn(p + '.norm', nf) + conv(p + '.conv', nf // 2, nf, 1)
            nf //= 2
    return keys + bn('features.norm5', nf) + linear('classifier', n_classes, nf)


def ref_resnet2p1d18_keys(n_classes=400, t=7):
    """NEW resnet2p1d.py: conv1_s/bn1_s/conv1_t/bn1_t stem, (2+1)D basic blocks, shortcut B."""
    def mid(cin, cout):
        return (cin * cout * 3 * 3 * 3) // (cin * 3 * 3 + 3 * cout)
    m = (3 * 64 * t * 7 * 7) // (3 * 7 * 7 + t * 64)
    keys = (conv('conv1_s', m, 3, (1, 7, 7)) + bn('bn1_s', m) + conv('conv1_t', 64, m, (t, 1, 1))
            + bn('bn1_t', 64))
    in_planes = 64
    for i, planes in enumerate([64, 128, 256, 512]):
        for j in range(2):
            p = 'layer{}.{}'.format(i + 1, j)
            m1, m2 = mid(in_planes, planes), mid(planes, planes)
            keys += (conv(p + '.conv1_s', m1, in_planes, (1, 3, 3)) + bn(p + '.bn1_s', m1)
                     + conv(p + '.conv1_t', planes, m1, (3, 1, 1)) + bn(p + '.bn1_t', planes)
                     + conv(p + '.conv2_s', m2, planes, (1, 3, 3)) + bn(p + '.bn2_s', m2)
                     + conv(p + '.conv2_t', planes, m2, (3, 1, 1)) + bn(p + '.bn2_t', planes))
            if j == 0 and i > 0:
                keys += conv(p + '.downsample.0', planes, in_planes, 1) + bn(
                    p + '.downsample.1', planes)
            in_planes = planes
    return keys + linear('fc', n_classes, 512)


def to_paddle(ref_keys):
    """Fixed renames running_mean -> _mean, running_var -> _variance; Linear weight transposed."""
    out = []
    for k, shape in ref_keys:
        k = k.replace('running_mean', '_mean').replace('running_var', '_variance')
        if k.endswith('fc.weight') or k.endswith('classifier.weight'):
            shape = shape[::-1]
        out.append((k, tuple(shape)))
    return out


KEY_CASES = [
    ('resnet-18-A', dict(model='resnet', model_depth=18, resnet_shortcut='A'),
     lambda: ref_resnet_keys(18, 'A')),
    ('resnet-50-B', dict(model='resnet', model_depth=50, resnet_shortcut='B'),
     lambda: ref_resnet_keys(50, 'B')),
    ('densenet-121', dict(model='densenet', model_depth=121), lambda: ref_densenet_keys()),
    ('resnext-101', dict(model='resnext', model_depth=101, resnet_shortcut='B'),
     lambda: ref_resnext_keys(101)),
    ('wideresnet-50', dict(model='wideresnet', model_depth=50, resnet_shortcut='B'),
     lambda: ref_wide_resnet50_keys(2)),
    ('preresnet-200', dict(model='preresnet', model_depth=200, resnet_shortcut='B'),
     lambda: ref_resnet_keys(200, 'B', preact=True)),
    ('resnet2p1d-18', dict(model='resnet2p1d', model_depth=18, resnet_shortcut='B'),
     lambda: ref_resnet2p1d18_keys()),
]


@pytest.mark.parametrize('name,opts,ref', KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_state_dict_keys_match_reference(name, opts, ref):
    net = lazy_model(n_classes=400, **opts)
    ours = [(k, tuple(v.shape)) for k, v in net.state_dict().items()]
    expected = to_paddle(ref())
    assert [k for k, _ in ours] == [k for k, _ in expected]   # same names, same order
    assert ours == expected                                    # same shapes


def test_published_spot_values():
    # reference doc: conv1.weight [64,3,7,7,7]; fc.weight [400,512] in torch = [512,400] here
    sd = lazy_model(resnet_shortcut='A').state_dict()
    assert tuple(sd['conv1.weight'].shape) == (64, 3, 7, 7, 7)
    assert tuple(sd['fc.weight'].shape) == (512, 400)
    assert not any('downsample' in k for k in sd)
    assert not any('num_batches_tracked' in k or 'running' in k for k in sd)
    assert len([k for k in ref_resnet_keys(18, 'A')]) == len(sd)
    densenet201 = lazy_model(model='densenet', model_depth=201)
    assert tuple(densenet201.classifier.weight.shape) == (1920, 400)


# --------------------------------------------------------------------------------------------
# kernel variants

def test_2plus1d_mid_channel_formula():
    f = kernels.mid_channels_2plus1d
    for cin, cout in [(64, 64), (64, 128), (128, 128), (3, 64), (512, 512), (7, 13)]:
        assert f(cin, cout, 3) == math.floor(3 * 9 * cin * cout / (9 * cin + 3 * cout))
    # values published for R(2+1)D-18 (t = d = 3)
    assert [f(64, 64), f(64, 128), f(128, 128), f(128, 256), f(256, 256), f(256, 512),
            f(512, 512)] == [144, 230, 288, 460, 576, 921, 1152]
    assert f(3, 64, (7, 7, 7)) == (7 * 49 * 3 * 64) // (49 * 3 + 7 * 64)
    layer = kernels.make_conv('(2+1)d', 64, 128, 3, 2)
    assert layer.mid_planes == 230
    assert tuple(layer.conv_s.weight.shape) == (230, 64, 1, 3, 3)
    assert tuple(layer.conv_t.weight.shape) == (128, 230, 3, 1, 1)
    # ~ the 3D conv's parameter count (within 1 % plus the inner BN)
    p3d = 64 * 128 * 27
    assert abs(n_params(layer) - p3d) < 0.01 * p3d


def expected_variant_params(kind, cin, cout, t, d):
    if kind == '3d':
        return t * d * d * cin * cout
    if kind == '(2+1)d':
        m = (t * d * d * cin * cout) // (d * d * cin + t * cout)
        return d * d * cin * m + t * m * cout + 2 * m
    if kind == 'p3d-b':
        return (d * d + t) * cin * cout
    if kind == 'fast':
        return d * d * cin * cout + 2 * t * d * cout * cout + 4 * cout
    if kind == 'split-fast':
        return d * d * cin * cout + 2 * t * d * cout * cout + 2 * cout


@pytest.mark.parametrize('kind', models.KERNEL_TYPES)
@pytest.mark.parametrize('stride', [1, 2, (2, 1, 1), (1, 2, 2)])
def test_kernel_variant_shapes_and_params(kind, stride):
    cin, cout = 6, 10
    x = paddle.randn([2, cin, 5, 9, 9])
    ref = nn.Conv3D(cin, cout, 3, stride=stride, padding=1)
    layer = kernels.make_conv(kind, cin, cout, 3, stride, 1)
    y = layer(x)
    assert y.shape == ref(x).shape
    assert n_params(layer) == expected_variant_params(kind, cin, cout, 3, 3)
    y.sum().backward()
    assert all(p.grad is not None for p in layer.parameters() if not p.stop_gradient)


@pytest.mark.parametrize('kind', models.KERNEL_TYPES)
def test_kernel_variant_stem_shape(kind):
    # the stem conv (t x 7 x 7, stride (s_t, 2, 2), padding (t // 2, 3, 3))
    x = paddle.randn([1, 3, 8, 20, 20])
    ref = nn.Conv3D(3, 8, (5, 7, 7), stride=(2, 2, 2), padding=(2, 3, 3))
    layer = kernels.make_conv(kind, 3, 8, (5, 7, 7), (2, 2, 2), (2, 3, 3))
    assert layer(x).shape == ref(x).shape
    assert n_params(layer) == expected_variant_params(kind, 3, 8, 5, 7)


def test_kernel_variant_structure():
    p3d = kernels.make_conv('p3d-b', 4, 4, 3, 1, 1)
    x = paddle.randn([1, 4, 3, 5, 5])
    np.testing.assert_allclose(p3d(x).numpy(), (p3d.conv_s(x) + p3d.conv_t(x)).numpy(),
                               rtol=1e-5, atol=1e-6)
    sf = kernels.make_conv('split-fast', 4, 4, 3, 1, 1)
    sf.eval()
    s = paddle.nn.functional.relu(sf.bn_s(sf.conv_s(x)))
    np.testing.assert_allclose(sf(x).numpy(), (sf.conv_h(s) + sf.conv_v(s)).numpy(),
                               rtol=1e-5, atol=1e-6)
    fast = kernels.make_conv('fast', 4, 4, 3, 1, 1)
    assert tuple(fast.conv_h.weight.shape[2:]) == (3, 1, 3)   # horizontal t x 1 x d
    assert tuple(fast.conv_v.weight.shape[2:]) == (3, 3, 1)   # vertical t x d x 1
    with pytest.raises(ValueError, match='valid kernel types'):
        kernels.make_conv('4d', 4, 4)
    with pytest.raises(ValueError, match='grouped'):
        kernels.make_conv('fast', 4, 4, groups=2)


def test_squeeze_excitation():
    se = kernels.SqueezeExcitation(32)
    assert tuple(se.reduce.weight.shape) == (2, 32, 1, 1, 1)   # reduction 16
    assert n_params(se) == 2 * 32 * 2 + 2 + 32
    x = paddle.rand([2, 32, 2, 3, 3]) + 0.1
    y = se(x)
    assert y.shape == x.shape
    gate = (y / x).numpy()
    assert (gate > 0).all() and (gate < 1).all()
    np.testing.assert_allclose(gate.std(axis=(2, 3, 4)), 0, atol=1e-5)   # one gate per channel
    net = models.generate_model(dict(model='resnet', model_depth=50, se=True,
                                     resnet_widen_factor=NARROW))
    assert tuple(net.layer1[0].se.reduce.weight.shape) == (1, 16, 1, 1, 1)


# --------------------------------------------------------------------------------------------
# shortcut A, init, BN settings, pooling

def test_shortcut_a_is_zero_padded_subsampling_without_gradient():
    net = models.generate_model(dict(model='resnet', model_depth=18, resnet_shortcut='A',
                                     resnet_widen_factor=NARROW))
    block = net.layer2[0]
    assert net.layer1[0].downsample is None
    assert not list(block.downsample.parameters())
    x = paddle.randn([2, 4, 4, 7, 7])
    x.stop_gradient = False
    out = block.downsample(x)
    assert out.stop_gradient                          # detached, as the reference's out.data
    assert list(out.shape) == [2, 8, 2, 4, 4]
    np.testing.assert_array_equal(out.numpy()[:, :4], x.numpy()[:, :, ::2, ::2, ::2])
    np.testing.assert_array_equal(out.numpy()[:, 4:], 0)
    # through a whole block: the input gradient is exactly the conv branch's
    block.eval()
    y = block(x)
    (g_block,) = paddle.grad(y.sum(), x)
    out_branch = block.bn2(block.conv2(paddle.nn.functional.relu(block.bn1(block.conv1(x)))))
    y2 = paddle.nn.functional.relu(out_branch + block.downsample(x))
    (g_branch,) = paddle.grad(y2.sum(), x)
    np.testing.assert_allclose(g_block.numpy(), g_branch.numpy(), rtol=1e-5, atol=1e-6)
    z = paddle.nn.functional.relu(out_branch + paddle.nn.functional.pad(
        x[:, :, ::2, ::2, ::2], [0, 0, 0, 4, 0, 0, 0, 0, 0, 0]))
    (g_with_identity_grad,) = paddle.grad(z.sum(), x)
    assert not np.allclose(g_with_identity_grad.numpy(), g_block.numpy())


def test_shortcut_b_modules():
    net = lazy_model(model='resnet', model_depth=50, resnet_shortcut='B')
    ds = net.layer1[0].downsample   # stride 1 but 64 -> 256 channels
    assert isinstance(ds[0], nn.Conv3D) and isinstance(ds[1], nn.BatchNorm3D)
    assert ds[0]._stride == [1, 1, 1] and net.layer2[0].downsample[0]._stride == [2, 2, 2]


def test_reference_init_and_batchnorm_settings():
    paddle.seed(1)
    net = models.generate_model(dict(model='resnet', model_depth=10, n_classes=400))
    w = net.layer4[0].conv2.weight.numpy()            # fan_out = 512 * 27
    assert abs(w.std() - math.sqrt(2.0 / (512 * 27))) < 0.02 * math.sqrt(2.0 / (512 * 27))
    assert abs(w.mean()) < 1e-4
    stem = net.conv1.weight.numpy()                   # fan_out = 64 * 343
    assert abs(stem.std() - math.sqrt(2.0 / (64 * 343))) < 0.05 * math.sqrt(2.0 / (64 * 343))
    for m in net.sublayers():
        if isinstance(m, nn.BatchNorm3D):
            assert (m.weight.numpy() == 1).all() and (m.bias.numpy() == 0).all()
            assert m._momentum == pytest.approx(0.9) and m._epsilon == pytest.approx(1e-5)
    bound = 1 / math.sqrt(512)
    fw, fb = net.fc.weight.numpy(), net.fc.bias.numpy()
    assert fw.shape == (512, 400)
    assert np.abs(fw).max() <= bound and np.abs(fw).max() > 0.95 * bound
    assert np.abs(fb).max() <= bound and np.abs(fb).max() > 0.9 * bound
    assert abs(fw.std() - bound / math.sqrt(3)) < 0.02 * bound


def test_batchnorm_momentum_is_pytorch_0_1():
    bn_layer = models._common.batch_norm(2)
    bn_layer.train()
    bn_layer(paddle.full([4, 2, 2, 2, 2], 5.0))
    np.testing.assert_allclose(bn_layer._mean.numpy(), [0.5, 0.5], rtol=1e-6)


def test_fixed_pooling_equals_adaptive_at_16x112x112():
    from models.resnet import BasicBlock, ResNet
    paddle.seed(3)
    kw = dict(n_classes=4)
    adaptive = ResNet(BasicBlock, [1, 1, 1, 1], [4, 8, 16, 32], **kw)
    fixed = ResNet(BasicBlock, [1, 1, 1, 1], [4, 8, 16, 32], pool_size=(1, 4, 4), **kw)
    fixed.set_state_dict(adaptive.state_dict())
    adaptive.eval()
    fixed.eval()
    x = paddle.randn([1, 3, 16, 112, 112])
    with paddle.no_grad():
        feats = adaptive.forward_features(x)
        assert list(feats.shape) == [1, 32, 1, 4, 4]
        np.testing.assert_allclose(adaptive(x).numpy(), fixed(x).numpy(), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------
# generate_model contract

def test_exports():
    assert models.MODEL_OPTION_NAMES == [
        'model', 'model_depth', 'n_classes', 'resnet_shortcut', 'conv1_t_size', 'conv1_t_stride',
        'no_max_pool', 'resnet_widen_factor', 'wide_resnet_k', 'resnext_cardinality',
        'kernel_type', 'se', 'n_input_channels']
    assert models.KERNEL_TYPES == ['3d', '(2+1)d', 'p3d-b', 'fast', 'split-fast']
    for name in ['resnet', 'preresnet', 'wideresnet', 'resnext', 'densenet', 'resnet2p1d']:
        assert name in models.MODEL_NAMES
    assert models.get_classifier_name('densenet') == 'classifier'
    assert all(models.get_classifier_name(n) == 'fc' for n in models.MODEL_NAMES if n != 'densenet')


def test_defaults_and_option_sources():
    class Opt:
        model_depth = 10
        n_classes = 7
    net = lazy_model()
    assert tuple(net.fc.weight.shape) == (512, 400) and 'layer1.1.conv1.weight' in net.state_dict()
    assert 'layer2.0.downsample.0.weight' in net.state_dict()       # shortcut B
    with paddle.LazyGuard():
        net = models.generate_model(Opt())
    assert tuple(net.fc.weight.shape) == (512, 7) and 'layer1.1.conv1.weight' not in net.state_dict()
    from argparse import Namespace
    with paddle.LazyGuard():
        net = models.generate_model(Namespace(model='densenet', model_depth=169, n_classes=3,
                                              kernel_type=None))
    assert tuple(net.classifier.weight.shape) == (1664, 3)


@pytest.mark.parametrize('opts,match', [
    (dict(model='resnet3d'), 'valid models'),
    (dict(model='resnet', model_depth=19), r'valid depths: \[10, 18'),
    (dict(model='wideresnet', model_depth=101), r'valid depths: \[50\]'),
    (dict(model='densenet', model_depth=50), 'valid depths'),
    (dict(kernel_type='2d'), 'valid kernel types'),
    (dict(resnet_shortcut='C'), "'A', 'B'"),
    (dict(model='densenet', model_depth=121, kernel_type='fast'), 'not supported by model'),
    (dict(model='resnext', model_depth=50, kernel_type='(2+1)d'), 'not supported by model'),
    (dict(model='resnet2p1d', kernel_type='p3d-b'), 'not supported by model'),
    (dict(model='densenet', model_depth=121, se=True), 'not supported by model'),
    (dict(model='resnet-p3d', kernel_type='fast'), 'implies kernel_type'),
    (dict(data_format='NHWC'), 'valid data formats: NCDHW, NDHWC'),
    (dict(model='densenet', model_depth=121, data_format='channels_last'), 'valid data formats'),
])
def test_generate_model_errors(opts, match):
    with pytest.raises(ValueError, match=match):
        lazy_model(**opts)


def test_aliases_equal_family_with_kernel():
    for alias, (family, kernel, se) in models.MODEL_ALIASES.items():
        a = lazy_model(model=alias, model_depth=34)
        b = lazy_model(model=family, model_depth=34, kernel_type=kernel, se=se)
        assert [(k, tuple(v.shape)) for k, v in a.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in b.state_dict().items()]
    resolved = models.resolve_model_options({'model': 'resnet-fast'})
    assert resolved['kernel_type'] == 'fast' and resolved['family'] == 'resnet'


# --------------------------------------------------------------------------------------------
# fine-tuning helpers

def tiny_resnet(**kw):
    return models.generate_model(dict(model='resnet', model_depth=10,
                                      resnet_widen_factor=NARROW, n_classes=3, **kw))


def test_fine_tuning_old_index_groups_freeze_with_zero_lr():
    paddle.seed(0)
    net = tiny_resnet()
    assert len(list(models.get_fine_tuning_parameters(net, 0))) == len(net.parameters())
    groups = models.get_fine_tuning_parameters(net, ft_begin_index=4)
    names = {id(p): k for k, p in net.named_parameters()}
    train = [names[id(p)] for p in groups[0]['params']]
    frozen = [names[id(p)] for p in groups[1]['params']]
    assert 'learning_rate' not in groups[0] and groups[1]['learning_rate'] == 0.0
    assert all(k.startswith(('layer4', 'fc')) for k in train)
    assert 'fc.weight' in train and 'layer4.0.conv1.weight' in train
    assert 'conv1.weight' in frozen and 'layer3.0.bn2.bias' in frozen
    assert not any(k.endswith(('_mean', '_variance')) for k in train + frozen)
    before = {k: p.numpy().copy() for k, p in net.named_parameters()}
    opt = paddle.optimizer.Momentum(learning_rate=0.1, momentum=0.9, parameters=groups,
                                    weight_decay=1e-3)
    net.train()
    loss = net(paddle.randn([2, 3, 4, 16, 16])).sum()
    loss.backward()
    opt.step()
    after = dict(net.named_parameters())
    for k in frozen:
        np.testing.assert_array_equal(before[k], after[k].numpy())
    assert not np.array_equal(before['fc.weight'], after['fc.weight'].numpy())
    assert not np.array_equal(before['layer4.0.conv1.weight'],
                              after['layer4.0.conv1.weight'].numpy())
    # BN running statistics of frozen layers still update (as in the reference)
    assert not np.array_equal(before['bn1._mean'], after['bn1._mean'].numpy())


def test_fine_tuning_old_index_densenet():
    net = models.generate_model(dict(model='densenet', model_depth=121, resnet_widen_factor=0.125))
    groups = models.get_fine_tuning_parameters(net, ft_begin_index=3)
    names = {id(p): k for k, p in net.named_parameters()}
    train = {names[id(p)] for p in groups[0]['params']}
    assert 'features.denseblock3.denselayer1.conv1.weight' in train
    assert 'features.transition3.conv.weight' in train and 'features.norm5.weight' in train
    assert 'classifier.weight' in train
    assert 'features.transition2.conv.weight' not in train and 'features.conv1.weight' not in train


def test_fine_tuning_new_module():
    net = tiny_resnet()
    named = [(k, p) for k, p in net.named_parameters() if not p.stop_gradient]
    for module, first in [('layer4', 'layer4.0.conv1.weight'), ('fc', 'fc.weight'),
                          ('conv1', 'conv1.weight'), ('layer3.0.bn2', 'layer3.0.bn2.weight')]:
        (group,) = models.get_fine_tuning_parameters(net, ft_begin_module=module)
        idx = [k for k, _ in named].index(first)
        assert [id(p) for p in group['params']] == [id(p) for _, p in named[idx:]]
    dn = lazy_model(model='densenet', model_depth=121)
    (group,) = models.get_fine_tuning_parameters(dn, ft_begin_module='denseblock4')
    dn_names = {id(p): k for k, p in dn.named_parameters()}
    assert dn_names[id(group['params'][0])] == 'features.denseblock4.denselayer1.norm1.weight'
    assert dn_names[id(group['params'][-1])] == 'classifier.bias'
    with pytest.raises(ValueError, match='top-level modules'):
        models.get_fine_tuning_parameters(net, ft_begin_module='layer9')
    with pytest.raises(ValueError, match='not both'):
        models.get_fine_tuning_parameters(net, ft_begin_index=4, ft_begin_module='fc')


def test_replace_classifier():
    net = tiny_resnet()
    models.replace_classifier(net, 'resnet', 11)
    assert tuple(net.fc.weight.shape) == (32, 11)
    assert np.abs(net.fc.weight.numpy()).max() <= 1 / math.sqrt(32)
    assert np.abs(net.fc.bias.numpy()).max() > 0    # PyTorch default init, not zeros
    assert list(net(paddle.randn([1, 3, 4, 16, 16])).shape) == [1, 11]
    dn = models.generate_model(dict(model='densenet', model_depth=121, resnet_widen_factor=0.125,
                                    n_classes=5))
    models.replace_classifier(dn, 'densenet', 2)
    assert list(dn(paddle.randn([1, 3, 16, 32, 32])).shape) == [1, 2]


def test_stem_kernel_type_option():
    from models import resnet
    with paddle.LazyGuard():
        net = resnet.generate_model(18, kernel_type='fast', stem_kernel_type='3d')
    assert isinstance(net.conv1, nn.Conv3D) and tuple(net.conv1.weight.shape) == (64, 3, 7, 7, 7)
    assert hasattr(net.layer1[0].conv1, 'conv_h')
