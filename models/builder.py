"""Notebook builder API, after the Keras "3D-ResNet-for-Keras" builder (thauptmann).

    from models.builder import build_three_d_resnet_18
    model = build_three_d_resnet_18((16, 112, 112, 3), n_classes=101, kernel_type='(2+1)d', se=True)
    logits = model(paddle.randn([2, 3, 16, 112, 112]))      # N x C x T x H x W

``input_shape`` is ``(frames, height, width, channels)`` as in the seed; ``channels`` sets the
input channels of ``conv1``; ``frames`` (may be ``None``), ``height`` and ``width`` are checked and
recorded as ``model.input_shape`` (the models pool adaptively, so any clip size works).  The model
itself takes Paddle's channel-first ``N x C x T x H x W`` tensors (channels-last
``N x T x H x W x C`` with ``data_format='NDHWC'``) and returns logits, or
probabilities when ``output_activation='softmax'`` / ``'sigmoid'`` (applied by a forward
post-hook, so the state_dict keys stay those of the plain model).
"""
import paddle.nn.functional as F

from .resnet import BasicBlock, Bottleneck, ResNet, get_inplanes

__all__ = ['build_three_d_resnet', 'build_three_d_resnet_18', 'build_three_d_resnet_34',
           'build_three_d_resnet_50', 'build_three_d_resnet_101', 'build_three_d_resnet_152']

_ACTIVATIONS = {None: None, 'linear': None, 'softmax': lambda y: F.softmax(y, axis=-1),
                'sigmoid': F.sigmoid}


def _check_input_shape(input_shape):
    if len(input_shape) != 4:
        raise ValueError('input_shape must be (frames, height, width, channels), got {!r}'.format(
            input_shape))
    frames, height, width, channels = input_shape
    for name, v in (('height', height), ('width', width), ('channels', channels)):
        if v is None or int(v) < 1:
            raise ValueError('input_shape {} must be a positive int, got {!r}'.format(name, v))
    if frames is not None and int(frames) < 1:
        raise ValueError('input_shape frames must be a positive int or None, got {!r}'.format(
            frames))
    return (None if frames is None else int(frames), int(height), int(width), int(channels))


def build_three_d_resnet(input_shape, n_classes, repetitions, use_bottleneck=False,
                         kernel_type='3d', se=False, shortcut='B', widen_factor=1.0,
                         conv1_t_size=7, conv1_t_stride=1, no_max_pool=False,
                         output_activation=None, stem_kernel_type=None, data_format='NCDHW'):
    """A fully customisable 3D ResNet.

    Args:
        input_shape: ``(frames, height, width, channels)``.
        n_classes: classifier outputs.
        repetitions: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        use_bottleneck: bottleneck blocks (expansion 4) instead of basic blocks.
        kernel_type: ``'3d' | '(2+1)d' | 'p3d-b' | 'fast' | 'split-fast'`` (see models.kernels).
        se: squeeze-and-excitation (reduction 16) on every residual branch.
        shortcut: ``'A'`` (zero-pad identity) or ``'B'`` (1x1x1 conv + BN).
        widen_factor: multiplies the stage widths 64, 128, 256, 512.
        conv1_t_size, conv1_t_stride, no_max_pool: stem options as in the reference.
        output_activation: ``None`` (logits), ``'softmax'`` or ``'sigmoid'``.
        stem_kernel_type: kernel of the stem conv only (default ``kernel_type``, as in the seed);
            ``'3d'`` keeps the cheap reference stem (recommended with 'fast' / 'split-fast').
        data_format: ``'NCDHW'`` or ``'NDHWC'`` (channels-last input and layers).
    """
    frames, height, width, channels = _check_input_shape(input_shape)
    repetitions = [int(r) for r in repetitions]
    if len(repetitions) != 4 or min(repetitions) < 1:
        raise ValueError('repetitions must be 4 positive ints, got {!r}'.format(repetitions))
    if output_activation not in _ACTIVATIONS:
        raise ValueError('output_activation must be one of {}'.format(list(_ACTIVATIONS)))
    block = Bottleneck if use_bottleneck else BasicBlock
    planes = [int(p * widen_factor) for p in get_inplanes()]
    model = ResNet(block, repetitions, planes, n_input_channels=channels,
                   conv1_t_size=conv1_t_size, conv1_t_stride=conv1_t_stride,
                   no_max_pool=no_max_pool, shortcut_type=shortcut, n_classes=int(n_classes),
                   kernel_type=kernel_type, se=se, stem_kernel_type=stem_kernel_type,
                   data_format=data_format)
    model.input_shape = (frames, height, width, channels)
    act = _ACTIVATIONS[output_activation]
    if act is not None:
        model.register_forward_post_hook(lambda layer, inputs, output: act(output))
    return model


def _named(repetitions, use_bottleneck, doc_depth):
    def build(input_shape, n_classes, kernel_type='3d', se=False, shortcut='B', **kwargs):
        return build_three_d_resnet(input_shape, n_classes, repetitions,
                                    use_bottleneck=use_bottleneck, kernel_type=kernel_type, se=se,
                                    shortcut=shortcut, **kwargs)
    build.__name__ = build.__qualname__ = 'build_three_d_resnet_{}'.format(doc_depth)
    build.__doc__ = ('3D ResNet-{} ({} blocks {}); ``input_shape=(frames, height, width, '
                     'channels)``; other keyword arguments as ``build_three_d_resnet``.').format(
                         doc_depth, 'bottleneck' if use_bottleneck else 'basic', repetitions)
    return build


build_three_d_resnet_18 = _named((2, 2, 2, 2), False, 18)
build_three_d_resnet_34 = _named((3, 4, 6, 3), False, 34)
build_three_d_resnet_50 = _named((3, 4, 6, 3), True, 50)
build_three_d_resnet_101 = _named((3, 4, 23, 3), True, 101)
build_three_d_resnet_152 = _named((3, 8, 36, 3), True, 152)
