"""The notebook builder: functions with the signatures of the Keras "3D-ResNet-for-Keras" builder (thauptmann),
so a user of that package changes only the import::

    from models.builder import build_three_d_resnet_18
    model = build_three_d_resnet_18((16, 112, 112, 3), 101, 'softmax')

Owns the mapping of the seed's arguments (depth names, kernel names, output activations, regularizers) onto
this package's ResNet, whose state_dict keys are those of ``models.generate_model`` with the matching options.
Every argument, with examples: docs/BUILDER.md.
"""
import math
import numbers

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .registry import KERNELS
from .resnet import BasicBlock, Bottleneck, ResNet, get_inplanes

__all__ = ['build_three_d_resnet', 'build_three_d_resnet_18', 'build_three_d_resnet_34',
           'build_three_d_resnet_50', 'build_three_d_resnet_52', 'build_three_d_resnet_101',
           'build_three_d_resnet_102', 'build_three_d_resnet_152', 'KERNEL_NAMES', 'ACTIVATIONS',
           'REGULARIZERS']

# the seed's spellings of the registered kernel variants (matched case-insensitively)
KERNEL_NAMES = tuple(k.seed_name for k in KERNELS.values())
_KERNEL_TYPE = {k.seed_name.lower(): k.name for k in KERNELS.values()}

# Keras activation names (the same definitions as keras.activations; applied on the class axis)
ACTIVATIONS = {
    'linear': None,
    'softmax': lambda y: F.softmax(y, axis=-1),
    'log_softmax': lambda y: F.log_softmax(y, axis=-1),
    'sigmoid': F.sigmoid,
    'tanh': paddle.tanh,
    'relu': F.relu,
    'elu': F.elu,
    'selu': F.selu,
    'gelu': F.gelu,
    'silu': F.silu,
    'swish': F.silu,
    'softplus': F.softplus,
    'softsign': F.softsign,
    'exponential': paddle.exp,
}

# Keras's 'l1' / 'l2' strings: L1(0.01) -> grad 0.01 sign(w); L2(0.01) -> grad 0.02 w
REGULARIZERS = {'l1': lambda: paddle.regularizer.L1Decay(0.01),
                'l2': lambda: paddle.regularizer.L2Decay(0.02)}


def _check_input_shape(input_shape):
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 4:
        raise ValueError('input_shape must be (frames, height, width, channels), got {!r}'.format(
            input_shape))
    frames, height, width, channels = input_shape
    for name, v in (('height', height), ('width', width), ('channels', channels)):
        if not _is_int(v) or int(v) < 1:
            raise ValueError('input_shape {} must be a positive int, got {!r}'.format(name, v))
    if frames is not None and (not _is_int(frames) or int(frames) < 1):
        raise ValueError('input_shape frames must be a positive int or None, got {!r}'.format(
            frames))
    return (None if frames is None else int(frames), int(height), int(width), int(channels))


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_output_shape(output_shape):
    v = output_shape
    if isinstance(v, (tuple, list)) and len(v) == 1:   # Keras-style (n,)
        v = v[0]
    if not _is_int(v) or int(v) < 1:
        raise ValueError('output_shape must be a positive int (the number of outputs), or (n,); '
                         'got {!r}'.format(output_shape))
    return int(v)


def _check_flag(name, value):
    if value not in (True, False):
        raise ValueError('{} must be True or False, got {!r}'.format(name, value))
    return bool(value)


def kernel_type_of(kernel_name, name='kernel_name'):
    """``models.kernels`` kernel type of a seed kernel name ('3D', '(2+1)D', ...; any case)."""
    key = kernel_name.strip().lower() if isinstance(kernel_name, str) else None
    if key not in _KERNEL_TYPE:
        raise ValueError('{} must be one of {} (in any case), got {!r}'.format(
            name, ', '.join(repr(k) for k in KERNEL_NAMES), kernel_name))
    return _KERNEL_TYPE[key]


def _activation(output_activation, name):
    if output_activation is None or callable(output_activation):
        return output_activation
    key = output_activation.lower() if isinstance(output_activation, str) else None
    if key not in ACTIVATIONS:
        raise ValueError('{} must be None, a callable or one of {}, got {!r}'.format(
            name, ', '.join(repr(k) for k in ACTIVATIONS), output_activation))
    return ACTIVATIONS[key]


def make_regularizer(regularizer):
    """``None`` | ``'l1'`` | ``'l2'`` | a number ``c >= 0`` (L2Decay(c)) | L1Decay / L2Decay."""
    if isinstance(regularizer, (paddle.regularizer.L1Decay, paddle.regularizer.L2Decay)):
        coeff = getattr(regularizer, '_coeff', getattr(regularizer, '_regularization_coeff', 0.0))
        if isinstance(coeff, numbers.Real) and not (math.isfinite(coeff) and coeff >= 0):
            raise ValueError('regularizer coefficient must be a finite number >= 0 (one SGD step with {} makes '
                             'the weights non-finite), got {!r}'.format(coeff, coeff))
        return regularizer
    if regularizer is None:
        return regularizer
    if isinstance(regularizer, str) and regularizer.strip().lower() in REGULARIZERS:
        return REGULARIZERS[regularizer.strip().lower()]()
    if isinstance(regularizer, numbers.Real) and not isinstance(regularizer, bool) \
            and math.isfinite(regularizer) and regularizer >= 0:
        return paddle.regularizer.L2Decay(float(regularizer)) if regularizer > 0 else None
    raise ValueError("regularizer must be None, 'l1', 'l2', a number >= 0 (finite; the L2 coefficient) or a "
                     "paddle.regularizer.L1Decay / L2Decay, got {!r}".format(regularizer))


def _check_kernel_size(kernel_size):
    k = (kernel_size,) * 3 if _is_int(kernel_size) else kernel_size
    if not isinstance(k, (tuple, list)) or len(k) != 3 or \
            not all(_is_int(v) and v >= 1 and v % 2 == 1 for v in k):
        raise ValueError('kernel_size must be an odd positive int or a (t, h, w) tuple of odd '
                         'positive ints (padded to keep the shape), got {!r}'.format(kernel_size))
    return tuple(int(v) for v in k)


def _checked_trunk_options(repetitions, squeeze_and_excitation, use_bottleneck, kernel_name, stem_kernel_type,
                           shortcut, widen_factor):
    """(block class, kernel type, stem kernel type, stage widths) after checking the seed's arguments."""
    if not isinstance(repetitions, (tuple, list)) or len(repetitions) != 4 or \
            not all(_is_int(r) and r >= 1 for r in repetitions):
        raise ValueError('repetitions must be 4 positive ints (blocks per stage), got {!r}'.format(
            repetitions))
    _check_flag('squeeze_and_excitation', squeeze_and_excitation)
    block = Bottleneck if _check_flag('use_bottleneck', use_bottleneck) else BasicBlock
    kernel_type = kernel_type_of(kernel_name)
    if stem_kernel_type is not None:
        stem_kernel_type = kernel_type_of(stem_kernel_type, 'stem_kernel_type')
    if str(shortcut).upper() not in ('A', 'B'):
        raise ValueError("shortcut must be 'A' or 'B', got {!r}".format(shortcut))
    if not isinstance(widen_factor, numbers.Real) or isinstance(widen_factor, bool) \
            or not math.isfinite(widen_factor) or widen_factor <= 0:
        raise ValueError('widen_factor must be a number > 0 (finite), got {!r}'.format(widen_factor))
    return block, kernel_type, stem_kernel_type, [max(1, int(p * widen_factor)) for p in get_inplanes()]


def build_three_d_resnet(input_shape, output_shape, repetitions, output_activation=None,
                         regularizer=None, squeeze_and_excitation=False, use_bottleneck=False,
                         kernel_size=3, kernel_name='3D', *, shortcut='B', widen_factor=1.0,
                         conv1_t_size=7, conv1_t_stride=1, no_max_pool=False,
                         stem_kernel_type=None, data_format='NCDHW'):
    """A customisable 3D ResNet, with the seed builder's parameters.

    Args:
        input_shape: ``(frames, height, width, channels)``; ``frames`` may be ``None``.
        output_shape: number of outputs (classifier width).
        repetitions: blocks per stage, 4 positive ints, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        output_activation: ``None`` (logits), ``'softmax'``, ``'sigmoid'``, another name of
            :data:`ACTIVATIONS`, or a callable on the ``N x output_shape`` logits.
        regularizer: ``None``, ``'l1'``, ``'l2'``, a number (L2 coefficient) or a Paddle
            ``L1Decay`` / ``L2Decay``; set on every conv and classifier weight.
        squeeze_and_excitation: SE (reduction 16) on every residual branch.
        use_bottleneck: bottleneck blocks (expansion 4) instead of basic blocks.
        kernel_size: kernel of the residual blocks' convolutions (odd int or ``(t, h, w)``).
        kernel_name: ``'3D'``, ``'(2+1)D'``, ``'P3D-B'``, ``'FAST'``, ``'split-FAST'`` (any case).

    Keyword-only (this port's options):
        shortcut: ``'A'`` (zero-pad identity) or ``'B'`` (1x1x1 conv + BN).
        widen_factor: multiplies the stage widths 64, 128, 256, 512.
        conv1_t_size, conv1_t_stride, no_max_pool: stem options as in the reference.
        stem_kernel_type: kernel of the stem conv only (default ``kernel_name``, as in the seed);
            ``'3D'`` keeps the cheap reference stem (recommended with 'FAST' / 'split-FAST').
        data_format: ``'NCDHW'`` (input ``N x C x T x H x W``) or ``'NDHWC'`` (channels-last).

    Returns:
        a :class:`models.resnet.ResNet` with ``input_shape``, ``output_activation`` and
        ``regularizer`` attributes.
    """
    frames, height, width, channels = _check_input_shape(input_shape)
    n_outputs = _check_output_shape(output_shape)
    act = _activation(output_activation, 'output_activation')
    reg = make_regularizer(regularizer)
    block, kernel_type, stem_kernel_type, planes = _checked_trunk_options(
        repetitions, squeeze_and_excitation, use_bottleneck, kernel_name, stem_kernel_type, shortcut, widen_factor)
    for name, value in (('conv1_t_size', conv1_t_size), ('conv1_t_stride', conv1_t_stride)):
        if not _is_int(value) or value < 1:
            raise ValueError('{} must be an int >= 1 (frames), got {!r}'.format(name, value))
    _check_flag('no_max_pool', no_max_pool)
    model = ResNet(block, [int(r) for r in repetitions], planes, n_input_channels=channels,
                   conv1_t_size=conv1_t_size, conv1_t_stride=conv1_t_stride,
                   no_max_pool=no_max_pool, shortcut_type=shortcut, n_classes=n_outputs,
                   kernel_type=kernel_type, se=bool(squeeze_and_excitation), stem_kernel_type=stem_kernel_type,
                   data_format=data_format, block_kwargs=dict(kernel_size=_check_kernel_size(kernel_size)))
    model.input_shape = (frames, height, width, channels)
    model.output_activation = output_activation
    model.regularizer = reg
    if reg is not None:
        for layer in model.sublayers():
            if isinstance(layer, (nn.Conv3D, nn.Linear)):
                layer.weight.regularizer = reg
    if act is not None:
        model.register_forward_post_hook(lambda layer, inputs, output: act(output))
    model.register_forward_pre_hook(_layout_check(channels, model.data_format))
    return model


_LAYOUTS = {'NCDHW': ('N x C x T x H x W', 1), 'NDHWC': ('N x T x H x W x C', 4)}


def _layout_check(channels, data_format):
    """A forward pre-hook refusing, with one error naming the layout the model takes, a batch that is not a
    5-D tensor with ``channels`` on the model's channel axis (e.g. the seed's channels-last clips given to a
    channels-first model, which would otherwise fail deep inside conv1 with Paddle's own traceback)."""
    expected, axis = _LAYOUTS[data_format]
    other_format = 'NDHWC' if data_format == 'NCDHW' else 'NCDHW'
    other, other_axis = _LAYOUTS[other_format]

    def check(layer, inputs):
        x = inputs[0] if inputs else None
        shape = list(getattr(x, 'shape', []) or [])
        if len(shape) != 5:
            raise ValueError(f'the model takes a 5-D batch {expected} (data_format={data_format!r}, {channels} '
                             f'channels); got a tensor of shape {shape}' + (
                                 ': add the batch axis with x.unsqueeze(0)' if len(shape) == 4 else ''))
        if shape[axis] in (channels, -1, None):
            return None
        hint = ''
        if shape[other_axis] == channels:
            perm = [0, 4, 1, 2, 3] if data_format == 'NCDHW' else [0, 2, 3, 4, 1]
            hint = (f'; it looks {other} ({other_format}): transpose it with x.transpose({perm}), or build the '
                    f'model with data_format={other_format!r}')
        raise ValueError(f'the model takes {expected} batches (data_format={data_format!r}) with {channels} '
                         f'channels on axis {axis}; got shape {shape}{hint}')

    return check


def _named(depth, repetitions, use_bottleneck, seed_name=None):
    def build(input_shape, output_shape, activation_function=None, regularizer=None,
              squeeze_and_excitation=False, kernel_name='3D', *, output_activation=None,
              kernel_size=3, shortcut='B', widen_factor=1.0, conv1_t_size=7, conv1_t_stride=1,
              no_max_pool=False, stem_kernel_type=None, data_format='NCDHW'):
        if activation_function is not None and output_activation is not None:
            raise TypeError('give activation_function or output_activation (the same '
                            'parameter, the seed\'s README and code names), not both')
        return build_three_d_resnet(
            input_shape, output_shape, repetitions,
            activation_function if activation_function is not None else output_activation,
            regularizer, squeeze_and_excitation, use_bottleneck, kernel_size, kernel_name,
            shortcut=shortcut, widen_factor=widen_factor, conv1_t_size=conv1_t_size,
            conv1_t_stride=conv1_t_stride, no_max_pool=no_max_pool,
            stem_kernel_type=stem_kernel_type, data_format=data_format)

    build.__name__ = build.__qualname__ = 'build_three_d_resnet_{}'.format(depth)
    build.__doc__ = (
        '3D ResNet-{} ({} blocks {}){}.\n\n'
        '``build_three_d_resnet_{}(input_shape, output_shape, activation_function=None, '
        'regularizer=None, squeeze_and_excitation=False, kernel_name=\'3D\')``; '
        '``output_activation=`` is accepted for ``activation_function`` (the seed\'s code name). '
        'Keyword-only options (``kernel_size``, ``shortcut``, ``widen_factor``, ...) and argument '
        'meanings as :func:`build_three_d_resnet`.').format(
            depth, 'bottleneck' if use_bottleneck else 'basic', repetitions,
            '; the seed\'s name for ResNet-{}'.format(seed_name) if seed_name else '', depth)
    return build


build_three_d_resnet_18 = _named(18, (2, 2, 2, 2), False)
build_three_d_resnet_34 = _named(34, (3, 4, 6, 3), False)
build_three_d_resnet_50 = _named(50, (3, 4, 6, 3), True)
build_three_d_resnet_52 = _named(52, (3, 4, 6, 3), True, seed_name=50)
build_three_d_resnet_101 = _named(101, (3, 4, 23, 3), True)
build_three_d_resnet_102 = _named(102, (3, 4, 23, 3), True, seed_name=101)
build_three_d_resnet_152 = _named(152, (3, 8, 36, 3), True)
