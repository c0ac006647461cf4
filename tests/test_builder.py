"""Tests for models/builder.py: the seed Keras builder's API (issue 17), on tiny CPU clips.

* every documented call form: the seed demo's ``build_three_d_resnet_18(input_shape, output_shape,
  'softmax')``, all-positional and all-keyword calls of the named and the general builder;
* every kernel name in the seed's spelling (and other cases), every depth name (18, 34, 50, 52, 101,
  102, 152), SE on and off, each activation and each regularizer: build, forward, backward
  (every trainable parameter gets a finite gradient), output shape, the activation applied to the
  logits, and the regularizer in an optimizer's update (SGD step on a zero loss);
* ``kernel_size``, channels-last input, the full-size architectures against ``generate_model``,
  bad arguments (a ValueError naming the parameter and the accepted values);
* the code of docs/BUILDER.md, run verbatim, printing what the page shows.
"""
import contextlib
import io
import os
import re

import numpy as np
import paddle
import paddle.nn as nn
import pytest

import models
from models import builder
from models.builder import (build_three_d_resnet, build_three_d_resnet_18, build_three_d_resnet_34,
                            build_three_d_resnet_50, build_three_d_resnet_52,
                            build_three_d_resnet_101, build_three_d_resnet_102,
                            build_three_d_resnet_152)
from models.resnet import BasicBlock, Bottleneck
from tests.fixtures import REPO

NARROW = 0.0625                 # stage widths 4, 8, 16, 32
SHAPE = (4, 32, 32, 3)          # (frames, height, width, channels), as the seed writes it
N_OUT = 5
SEED_KERNELS = ['3D', '(2+1)D', 'P3D-B', 'FAST', 'split-FAST']
KERNEL_TYPE = {'3D': '3d', '(2+1)D': '(2+1)d', 'P3D-B': 'p3d-b', 'FAST': 'fast',
               'split-FAST': 'split-fast'}
DEPTHS = {18: (build_three_d_resnet_18, (2, 2, 2, 2), False, 18),
          34: (build_three_d_resnet_34, (3, 4, 6, 3), False, 34),
          50: (build_three_d_resnet_50, (3, 4, 6, 3), True, 50),
          52: (build_three_d_resnet_52, (3, 4, 6, 3), True, 50),     # the seed README's name
          101: (build_three_d_resnet_101, (3, 4, 23, 3), True, 101),
          102: (build_three_d_resnet_102, (3, 4, 23, 3), True, 101),  # the seed's code name
          152: (build_three_d_resnet_152, (3, 8, 36, 3), True, 152)}


def clips(batch=2, shape=SHAPE):
    frames, height, width, channels = shape
    return paddle.randn([batch, channels, frames, height, width])


def logits_of(model, x):
    """The classifier output without the activation hook (which runs on ``model(x)`` only)."""
    return model.fc(paddle.flatten(model.avgpool(model.forward_features(x)), 1))


def forward_backward(model, x, n_out=N_OUT):
    """Forward and backward on a loss that depends on every output; checks shape and gradients."""
    out = model(x)
    assert list(out.shape) == [x.shape[0], n_out]
    assert np.isfinite(out.numpy()).all()
    (out * paddle.randn(out.shape)).sum().backward()
    trainable = [(n, p) for n, p in model.named_parameters() if not p.stop_gradient]
    assert trainable
    for name, p in trainable:
        assert p.grad is not None, name
        assert np.isfinite(p.grad.numpy()).all(), name
    return out


def weights(model):
    """The conv / classifier weights (regularized) and the other trainable parameters (never
    regularized; BN's running statistics are parameters with ``stop_gradient``, left out)."""
    ws = [l.weight for l in model.sublayers() if isinstance(l, (nn.Conv3D, nn.Linear))]
    ids = {id(w) for w in ws}
    return ws, [p for p in model.parameters() if id(p) not in ids and not p.stop_gradient]


# --------------------------------------------------------------------------------------------
# the seed's call forms

def test_seed_demo_call_full_width():
    """The seed demo's exact call: ResNet-18, full width, softmax outputs."""
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, 'softmax')
    out = forward_backward(model, clips())
    np.testing.assert_allclose(out.numpy().sum(1), 1, rtol=1e-5)
    assert model.input_shape == SHAPE and model.kernel_type == '3d' and not model.se
    assert model.regularizer is None and model.output_activation == 'softmax'
    assert [m.weight.shape[0] for m in (model.layer1[0].conv1, model.layer4[0].conv1)] == [64, 512]


@pytest.mark.parametrize('kernel_name', SEED_KERNELS)
def test_named_builder_all_positional(kernel_name):
    """``(input_shape, output_shape, activation_function, regularizer, squeeze_and_excitation,
    kernel_name)`` positionally, for each kernel in the seed's spelling: one forward + backward."""
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, 'softmax', 'l2', True, kernel_name,
                                    widen_factor=NARROW)
    assert model.kernel_type == KERNEL_TYPE[kernel_name] and model.se
    out = forward_backward(model, clips())
    np.testing.assert_allclose(out.numpy().sum(1), 1, rtol=1e-5)
    variant = model.layer1[0].conv1
    assert isinstance(variant, nn.Conv3D) == (kernel_name == '3D')
    assert model.conv1.__class__ is variant.__class__            # the stem too, as in the seed


@pytest.mark.parametrize('kernel_name', SEED_KERNELS)
def test_general_builder_all_positional(kernel_name):
    """The nine positional parameters of ``build_three_d_resnet``, bottleneck blocks."""
    paddle.seed(0)
    model = build_three_d_resnet(SHAPE, N_OUT, (1, 1, 1, 1), 'sigmoid', 'l1', False, True, 3,
                                 kernel_name, widen_factor=NARROW)
    assert model.kernel_type == KERNEL_TYPE[kernel_name] and not model.se
    assert isinstance(model.layer1[0], Bottleneck)
    out = forward_backward(model, clips())
    assert ((out.numpy() > 0) & (out.numpy() < 1)).all()


def test_named_builder_keywords():
    """The seed README's keyword names, and the seed code's ``output_activation`` name."""
    paddle.seed(0)
    readme = build_three_d_resnet_34(input_shape=SHAPE, output_shape=N_OUT,
                                     activation_function='softmax', regularizer='l1',
                                     squeeze_and_excitation=True, kernel_name='P3D-B',
                                     widen_factor=NARROW)
    code = build_three_d_resnet_34(input_shape=SHAPE, output_shape=N_OUT,
                                   output_activation='softmax', regularizer='l1',
                                   squeeze_and_excitation=True, kernel_name='P3D-B',
                                   widen_factor=NARROW)
    for model in (readme, code):
        assert model.kernel_type == 'p3d-b' and model.se and model.output_activation == 'softmax'
        assert isinstance(model.regularizer, paddle.regularizer.L1Decay)
        out = forward_backward(model, clips())
        np.testing.assert_allclose(out.numpy().sum(1), 1, rtol=1e-5)
    with pytest.raises(TypeError, match='activation_function or output_activation'):
        build_three_d_resnet_18(SHAPE, N_OUT, 'softmax', output_activation='sigmoid')


def test_general_builder_keywords():
    paddle.seed(0)
    model = build_three_d_resnet(input_shape=SHAPE, output_shape=N_OUT, repetitions=(1, 2, 1, 1),
                                 output_activation='softmax', regularizer='l2',
                                 squeeze_and_excitation=True, use_bottleneck=False, kernel_size=3,
                                 kernel_name='(2+1)D', widen_factor=NARROW)
    assert [len(getattr(model, 'layer{}'.format(i))) for i in range(1, 5)] == [1, 2, 1, 1]
    assert isinstance(model.layer1[0], BasicBlock) and model.se
    out = forward_backward(model, clips())
    np.testing.assert_allclose(out.numpy().sum(1), 1, rtol=1e-5)


def test_defaults_are_the_seeds():
    """Defaults: no regularizer, no SE, '3D' kernels, 3x3x3 block kernels; the activation the seed
    requires defaults to None (logits, for ``paddle.nn.CrossEntropyLoss``)."""
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, widen_factor=NARROW)
    assert model.output_activation is None and model.regularizer is None and not model.se
    assert model.kernel_type == '3d'
    assert tuple(model.layer1[0].conv1.weight.shape[2:]) == (3, 3, 3)
    x = clips()
    np.testing.assert_allclose(model(x).numpy(), logits_of(model, x).numpy(), rtol=1e-6)
    general = build_three_d_resnet(SHAPE, N_OUT, (1, 1, 1, 1), widen_factor=NARROW)
    assert general.output_activation is None and general.kernel_type == '3d'
    assert isinstance(general.layer1[0], BasicBlock)


@pytest.mark.parametrize('spelling,kernel_type', [
    ('3d', '3d'), ('(2+1)d', '(2+1)d'), ('p3d-b', 'p3d-b'), ('fast', 'fast'),
    ('split-fast', 'split-fast'), ('SPLIT-FAST', 'split-fast'), ('Split-Fast', 'split-fast'),
    ('(2+1)D', '(2+1)d'), ('p3d-B', 'p3d-b'), ('Fast', 'fast'), (' 3D ', '3d')])
def test_kernel_name_any_case(spelling, kernel_type):
    with paddle.LazyGuard():
        model = build_three_d_resnet_18(SHAPE, N_OUT, None, None, False, spelling)
        canonical = build_three_d_resnet_18(SHAPE, N_OUT, kernel_name=kernel_type.upper())
    assert model.kernel_type == kernel_type
    assert [(k, v.shape) for k, v in model.state_dict().items()] == \
           [(k, v.shape) for k, v in canonical.state_dict().items()]


# --------------------------------------------------------------------------------------------
# depths

@pytest.mark.parametrize('depth', sorted(DEPTHS))
def test_every_depth_name(depth):
    """Each depth name: the documented blocks, a forward + backward at narrow width, and at full
    size (built lazily) the parameters of ``generate_model`` at the matching depth."""
    fn, repetitions, bottleneck, resnet_depth = DEPTHS[depth]
    assert fn.__name__ == 'build_three_d_resnet_{}'.format(depth)
    paddle.seed(0)
    model = fn(SHAPE, N_OUT, 'sigmoid', None, depth == 152, 'FAST' if depth == 52 else '3D',
               widen_factor=NARROW)
    assert tuple(len(getattr(model, 'layer{}'.format(i))) for i in range(1, 5)) == repetitions
    assert isinstance(model.layer1[0], Bottleneck if bottleneck else BasicBlock)
    out = forward_backward(model, clips())
    assert ((out.numpy() > 0) & (out.numpy() < 1)).all()
    with paddle.LazyGuard():
        full = fn((16, 112, 112, 3), 400, kernel_name='(2+1)D', squeeze_and_excitation=True)
        ref = models.generate_model(dict(model='resnet', model_depth=resnet_depth,
                                         kernel_type='(2+1)d', se=True))
    assert [(k, tuple(v.shape)) for k, v in full.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]


def test_se_on_off():
    paddle.seed(0)
    on = build_three_d_resnet_18(SHAPE, N_OUT, None, None, True, widen_factor=NARROW)
    off = build_three_d_resnet_18(SHAPE, N_OUT, None, None, False, widen_factor=NARROW)
    blocks = [b for i in range(1, 5) for b in getattr(on, 'layer{}'.format(i))]
    assert all(b.se is not None for b in blocks) and on.se
    assert all(b.se is None for i in range(1, 5) for b in getattr(off, 'layer{}'.format(i)))
    assert len(on.parameters()) - len(off.parameters()) == 4 * len(blocks)   # 2 convs + 2 biases
    for model in (on, off):
        forward_backward(model, clips())


def test_se_bottleneck():
    paddle.seed(0)
    model = build_three_d_resnet_50(SHAPE, N_OUT, None, None, True, 'split-FAST',
                                    widen_factor=NARROW)
    assert model.layer4[0].se is not None
    forward_backward(model, clips())


# --------------------------------------------------------------------------------------------
# output activations

def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


NUMPY_ACTIVATIONS = {
    None: lambda z: z,
    'linear': lambda z: z,
    'softmax': _softmax,
    'log_softmax': lambda z: np.log(_softmax(z)),
    'sigmoid': lambda z: 1 / (1 + np.exp(-z)),
    'tanh': np.tanh,
    'relu': lambda z: np.maximum(z, 0),
    'elu': lambda z: np.where(z > 0, z, np.expm1(z)),
    'selu': lambda z: 1.0507009873554805 * np.where(z > 0, z, 1.6732632423543772 * np.expm1(z)),
    'silu': lambda z: z / (1 + np.exp(-z)),
    'swish': lambda z: z / (1 + np.exp(-z)),
    'softplus': lambda z: np.log1p(np.exp(z)),
    'softsign': lambda z: z / (1 + np.abs(z)),
    'exponential': np.exp,
}


def test_every_activation_name_is_tested():
    assert set(builder.ACTIVATIONS) == (set(NUMPY_ACTIVATIONS) - {None}) | {'gelu'}


@pytest.mark.parametrize('activation', [None, 'linear', 'softmax', 'Softmax', 'log_softmax',
                                        'sigmoid', 'tanh', 'relu', 'elu', 'selu', 'gelu', 'silu',
                                        'swish', 'softplus', 'softsign', 'exponential'])
def test_output_activation_applied(activation):
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, activation, widen_factor=NARROW)
    x = clips()
    out = forward_backward(model, x).numpy()
    z = logits_of(model, x).numpy()
    if activation == 'gelu':   # exact (erf) GELU, as Keras's default
        from math import erf
        expected = z * 0.5 * (1 + np.vectorize(erf)(z / np.sqrt(2)))
    else:
        expected = NUMPY_ACTIVATIONS[None if activation is None else activation.lower()](z)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    if activation in ('softmax', 'Softmax'):
        np.testing.assert_allclose(out.sum(1), 1, rtol=1e-5)
        assert (out > 0).all()
    if activation == 'sigmoid':
        assert ((out > 0) & (out < 1)).all()


def test_callable_activation():
    model = build_three_d_resnet(SHAPE, 1, (1, 1, 1, 1), lambda y: 2 * y, widen_factor=NARROW)
    x = clips()
    np.testing.assert_allclose(forward_backward(model, x, 1).numpy(),
                               2 * logits_of(model, x).numpy(), rtol=1e-5)


def test_activation_keeps_state_dict_keys():
    paddle.seed(0)
    plain = build_three_d_resnet_18(SHAPE, N_OUT, widen_factor=NARROW)
    soft = build_three_d_resnet_18(SHAPE, N_OUT, 'softmax', widen_factor=NARROW)
    assert list(plain.state_dict()) == list(soft.state_dict())
    soft.set_state_dict(plain.state_dict())
    plain.eval()
    soft.eval()
    x = clips()
    np.testing.assert_allclose(soft(x).numpy(), _softmax(plain(x).numpy()), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------------------------
# regularizers reach the optimizer's update

L1 = paddle.regularizer.L1Decay
L2 = paddle.regularizer.L2Decay


@pytest.mark.parametrize('regularizer,kind,coeff', [
    ('l1', 'l1', 0.01), ('L1', 'l1', 0.01), ('l2', 'l2', 0.02), ('L2', 'l2', 0.02),
    (1e-3, 'l2', 1e-3), (5, 'l2', 5.0), (L1(0.05), 'l1', 0.05), (L2(0.1), 'l2', 0.1),
    (None, None, 0.0), (0, None, 0.0)])
@pytest.mark.parametrize('optimizer', ['SGD', 'Momentum'])
def test_regularizer_in_optimizer_update(regularizer, kind, coeff, optimizer):
    """A zero loss (0 * output) has zero gradients: one step of a plain Paddle optimizer (no
    ``weight_decay``) moves exactly the conv and classifier weights, by ``-lr coeff sign(w)`` (L1)
    or ``-lr coeff w`` (L2, Paddle's ``L2Decay``: penalty ``coeff/2 * sum w^2``); nothing else."""
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, 'softmax', regularizer, True, '(2+1)D',
                                    widen_factor=NARROW)
    regularized, others = weights(model)
    assert len(regularized) > 20 and others
    for w in regularized:
        if kind is None:
            assert w.regularizer is None
        else:
            assert isinstance(w.regularizer, L1 if kind == 'l1' else L2)
    lr = 0.1
    opt = getattr(paddle.optimizer, optimizer)(learning_rate=lr, parameters=model.parameters())
    before = [w.numpy().copy() for w in regularized], [p.numpy().copy() for p in others]
    (0 * model(clips())).sum().backward()
    opt.step()
    for w, w0 in zip(regularized, before[0]):
        step = {None: 0 * w0, 'l1': coeff * np.sign(w0), 'l2': coeff * w0}[kind]
        np.testing.assert_allclose(w.numpy(), w0 - lr * step, rtol=1e-5, atol=1e-7)
    for p, p0 in zip(others, before[1]):
        np.testing.assert_array_equal(p.numpy(), p0)


def test_regularizer_adds_to_the_loss_gradient():
    """With a real loss the update is ``-lr (grad + coeff w)``; the optimizer's own weight_decay
    only reaches the parameters without a regularizer (Paddle's rule)."""
    paddle.seed(0)
    model = build_three_d_resnet_18(SHAPE, N_OUT, None, 0.5, False, '3D', widen_factor=NARROW)
    opt = paddle.optimizer.SGD(learning_rate=0.1, parameters=model.parameters(),
                               weight_decay=L2(3.0))
    w, b = model.fc.weight, model.fc.bias
    w0, b0 = w.numpy().copy(), b.numpy().copy()
    model(clips()).sum().backward()
    gw, gb = w.grad.numpy().copy(), b.grad.numpy().copy()
    opt.step()
    np.testing.assert_allclose(w.numpy(), w0 - 0.1 * (gw + 0.5 * w0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.numpy(), b0 - 0.1 * (gb + 3.0 * b0), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------------------------
# kernel_size, channels-last, port options

@pytest.mark.parametrize('kernel_size,expected', [(1, (1, 1, 1)), (5, (5, 5, 5)),
                                                  ((3, 5, 5), (3, 5, 5)), ([1, 3, 3], (1, 3, 3))])
def test_kernel_size(kernel_size, expected):
    paddle.seed(0)
    basic = build_three_d_resnet(SHAPE, N_OUT, (1, 1, 1, 1), None, None, False, False, kernel_size,
                                 '3D', widen_factor=NARROW)
    for conv in (basic.layer1[0].conv1, basic.layer2[0].conv2, basic.layer4[0].conv1):
        assert tuple(conv.weight.shape[2:]) == expected
    assert tuple(basic.conv1.weight.shape[2:]) == (7, 7, 7)       # the stem keeps its kernel
    forward_backward(basic, clips())
    bottleneck = build_three_d_resnet(SHAPE, N_OUT, (1, 1, 1, 1), None, None, True, True,
                                      kernel_size, '(2+1)D', widen_factor=NARROW)
    t, h, w = expected
    assert tuple(bottleneck.layer2[0].conv2.conv_s.weight.shape[2:]) == (1, h, w)
    assert tuple(bottleneck.layer2[0].conv2.conv_t.weight.shape[2:]) == (t, 1, 1)
    assert tuple(bottleneck.layer2[0].conv1.weight.shape[2:]) == (1, 1, 1)
    forward_backward(bottleneck, clips())
    named = build_three_d_resnet_18(SHAPE, N_OUT, kernel_size=kernel_size, widen_factor=NARROW)
    assert tuple(named.layer3[1].conv2.weight.shape[2:]) == expected


def test_channels_last_same_values():
    kw = dict(widen_factor=NARROW, shortcut='A')
    paddle.seed(0)
    first = build_three_d_resnet_18((4, 16, 16, 2), 3, 'softmax', None, True, '(2+1)D', **kw)
    last = build_three_d_resnet_18((4, 16, 16, 2), 3, 'softmax', None, True, '(2+1)D',
                                   data_format='NDHWC', **kw)
    last.set_state_dict(first.state_dict())
    first.eval()
    last.eval()
    x = paddle.randn([2, 2, 4, 16, 16])
    np.testing.assert_allclose(first(x).numpy(), last(x.transpose([0, 2, 3, 4, 1])).numpy(),
                               rtol=1e-4, atol=1e-5)


def test_port_options_and_input_shape():
    net = build_three_d_resnet((4, 16, 16, 1), (6,), (1, 1, 1, 1), None, None, True, True, 3,
                               'split-FAST', shortcut='A', widen_factor=NARROW, conv1_t_size=3,
                               conv1_t_stride=2, no_max_pool=True)
    assert net.input_shape == (4, 16, 16, 1) and net.shortcut_type == 'A' and net.no_max_pool
    assert tuple(net.conv1.conv_h.weight.shape[2:]) == (3, 1, 7)
    forward_backward(net, paddle.randn([2, 1, 4, 16, 16]), 6)
    any_frames = build_three_d_resnet_18((None, 16, 16, 3), 4, 'softmax', widen_factor=NARROW)
    assert any_frames.input_shape == (None, 16, 16, 3)
    p = any_frames(paddle.randn([2, 3, 7, 24, 40])).numpy()
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-5)


def test_stem_kernel_name():
    with paddle.LazyGuard():
        seed_like = build_three_d_resnet_18((16, 112, 112, 3), 400, kernel_name='FAST')
        cheap_stem = build_three_d_resnet_18((16, 112, 112, 3), 400, kernel_name='FAST',
                                             stem_kernel_type='3D')
    assert hasattr(seed_like.conv1, 'conv_h')          # default: the stem is factorised too
    assert isinstance(cheap_stem.conv1, nn.Conv3D)
    assert tuple(cheap_stem.conv1.weight.shape) == (64, 3, 7, 7, 7)
    assert hasattr(cheap_stem.layer1[0].conv1, 'conv_h')


def test_lazy_reexport_from_models():
    assert models.build_three_d_resnet_52 is build_three_d_resnet_52
    assert models.build_three_d_resnet_102 is build_three_d_resnet_102


# --------------------------------------------------------------------------------------------
# bad arguments: a ValueError naming the parameter and the accepted values

BAD = [
    (dict(kernel_name='2D'), r"kernel_name must be one of '3D', '\(2\+1\)D', 'P3D-B', 'FAST', "
                             r"'split-FAST' \(in any case\), got '2D'"),
    (dict(kernel_name=3), 'kernel_name must be one of'),
    (dict(stem_kernel_type='conv'), "stem_kernel_type must be one of '3D'"),
    (dict(activation_function='softmaxx'), r"output_activation must be None, a callable or one "
                                           r"of 'linear', 'softmax'.*got 'softmaxx'"),
    (dict(regularizer='l3'), r"regularizer must be None, 'l1', 'l2', a number >= 0 .*got 'l3'"),
    (dict(regularizer='l1_l2'), 'regularizer must be None'),
    (dict(regularizer=-0.1), 'regularizer must be None'),
    (dict(regularizer=True), 'regularizer must be None'),
    (dict(squeeze_and_excitation='yes'), "squeeze_and_excitation must be True or False, got 'yes'"),
    (dict(kernel_size=2), r'kernel_size must be an odd positive int or a \(t, h, w\) tuple'),
    (dict(kernel_size=(3, 3)), 'kernel_size must be an odd positive int'),
    (dict(kernel_size=0), 'kernel_size must be an odd positive int'),
    (dict(output_shape=0), r'output_shape must be a positive int .*, or \(n,\); got 0'),
    (dict(output_shape='ten'), 'output_shape must be a positive int'),
    (dict(output_shape=(5, 2)), 'output_shape must be a positive int'),
    (dict(input_shape=(32, 32, 3)), r'input_shape must be \(frames, height, width, channels\)'),
    (dict(input_shape=(4, 32, 0, 3)), 'input_shape width must be a positive int, got 0'),
    (dict(input_shape=(4, 32, 32, None)), 'input_shape channels must be a positive int'),
    (dict(input_shape=(0, 32, 32, 3)), 'input_shape frames must be a positive int or None'),
    (dict(shortcut='C'), "shortcut must be 'A' or 'B', got 'C'"),
    (dict(widen_factor=0), 'widen_factor must be a number > 0'),
    (dict(data_format='NCHW'), 'valid data formats: NCDHW, NDHWC'),
]


@pytest.mark.parametrize('bad,message', BAD)
def test_bad_argument_named_builder(bad, message):
    kw = dict(input_shape=SHAPE, output_shape=N_OUT)
    kw.update(bad)
    with paddle.LazyGuard(), pytest.raises(ValueError, match=message):
        build_three_d_resnet_18(**kw)


@pytest.mark.parametrize('bad,message', [
    ((1, 1, 1), r'repetitions must be 4 positive ints \(blocks per stage\), got \(1, 1, 1\)'),
    ((1, 0, 1, 1), 'repetitions must be 4 positive ints'),
    ((1, 1.5, 1, 1), 'repetitions must be 4 positive ints')])
def test_bad_repetitions(bad, message):
    with pytest.raises(ValueError, match=message):
        build_three_d_resnet(SHAPE, N_OUT, bad)
    with pytest.raises(ValueError, match='use_bottleneck must be True or False'):
        build_three_d_resnet(SHAPE, N_OUT, (1, 1, 1, 1), use_bottleneck='no')


# --------------------------------------------------------------------------------------------
# docs/BUILDER.md runs as written

def doc_blocks(path):
    """``(code, expected_output, varies)`` for each ```python block; the ```text block right after
    it (if any) is its output; ``<!-- output varies -->`` before it: compare with numbers masked."""
    text = open(path, encoding='utf-8').read()
    pattern = re.compile(r'```python\n(.*?)```\n(?:\s*(<!-- output varies -->)?\s*```text\n(.*?)```)?',
                         re.S)
    return [(m.group(1), m.group(3), bool(m.group(2))) for m in pattern.finditer(text)]


def _mask_numbers(s):
    s = re.sub(r'\d+m?s/step', '<time>/step', s)
    return re.sub(r'-?\d+\.\d+(e[-+]?\d+)?', '<number>', s).strip()


def test_docs_builder_page_runs_as_written():
    blocks = doc_blocks(os.path.join(REPO, 'docs', 'BUILDER.md'))
    assert len(blocks) >= 4 and sum(out is not None for _, out, _ in blocks) >= 3
    namespace = {}
    for code, expected, varies in blocks:
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            exec(compile(code, 'docs/BUILDER.md', 'exec'), namespace)
        if expected is not None:
            got = stdout.getvalue()
            if varies:
                assert _mask_numbers(got) == _mask_numbers(expected), code
            else:
                assert got.strip() == expected.strip(), code
