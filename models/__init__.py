"""3D CNN models for video classification (PaddlePaddle port of kenshohara/3D-ResNets-PyTorch).

Public API (see docs/DESIGN.md and docs/MODELS.md):

* ``generate_model(opt)`` -- build a model from an options object / dict.
* ``MODEL_OPTION_NAMES``, ``MODEL_NAMES``, ``KERNEL_TYPES``, ``DEPTHS``.
* ``DATA_FORMATS``, ``channel_axis``, ``to_data_format`` -- the ``data_format`` option
  (``'NCDHW'`` default, ``'NDHWC'`` channels-last) and the input layout it implies.
* ``get_classifier_name``, ``replace_classifier``, ``get_fine_tuning_parameters``.
* notebook builders in :mod:`models.builder` (re-exported: ``build_three_d_resnet*``).
"""
import importlib

from ._common import (DATA_FORMATS, DEFAULT_DATA_FORMAT, channel_axis, check_data_format,
                      to_data_format, torch_linear)
from .kernels import KERNEL_TYPES, check_kernel_type

MODEL_OPTION_NAMES = ['model', 'model_depth', 'n_classes', 'resnet_shortcut', 'conv1_t_size',
                      'conv1_t_stride', 'no_max_pool', 'resnet_widen_factor', 'wide_resnet_k',
                      'resnext_cardinality', 'kernel_type', 'se', 'n_input_channels']

MODEL_DEFAULTS = {
    'model': 'resnet', 'model_depth': 18, 'n_classes': 400, 'resnet_shortcut': 'B',
    'conv1_t_size': 7, 'conv1_t_stride': 1, 'no_max_pool': False, 'resnet_widen_factor': 1.0,
    'wide_resnet_k': 2, 'resnext_cardinality': 32, 'kernel_type': '3d', 'se': False,
    'n_input_channels': 3,
}

# reference families
FAMILIES = ['resnet', 'preresnet', 'wideresnet', 'resnext', 'densenet', 'resnet2p1d']

# --model aliases for the ResNet kernel / SE variants: name -> (family, kernel_type, se)
MODEL_ALIASES = {
    'resnet-2plus1d': ('resnet', '(2+1)d', False),
    'resnet-p3d': ('resnet', 'p3d-b', False),
    'resnet-fast': ('resnet', 'fast', False),
    'resnet-splitfast': ('resnet', 'split-fast', False),
    'se-resnet': ('resnet', '3d', True),
}

MODEL_NAMES = FAMILIES + list(MODEL_ALIASES)

DEPTHS = {
    'resnet': [10, 18, 34, 50, 101, 152, 200],
    'preresnet': [18, 34, 50, 101, 152, 200],
    'wideresnet': [50],
    'resnext': [50, 101, 152],
    'densenet': [121, 169, 201, 264],
    'resnet2p1d': [10, 18, 34, 50, 101, 152, 200],
}

# kernel types / SE each family accepts.  resnet2p1d *is* R(2+1)D (reference keys); it accepts
# the default '3d' and '(2+1)d' as synonyms for "the family's own convolutions".
SUPPORTED_KERNELS = {
    'resnet': list(KERNEL_TYPES),
    'preresnet': list(KERNEL_TYPES),
    'wideresnet': list(KERNEL_TYPES),
    'resnext': ['3d'],
    'densenet': ['3d'],
    'resnet2p1d': ['3d', '(2+1)d'],
}
SUPPORTS_SE = {'resnet': True, 'preresnet': True, 'wideresnet': True, 'resnext': True,
               'densenet': False, 'resnet2p1d': True}

_MODULES = {'resnet': 'resnet', 'preresnet': 'preresnet', 'wideresnet': 'wideresnet',
            'resnext': 'resnext', 'densenet': 'densenet', 'resnet2p1d': 'resnet2p1d'}


def _get(opt, name, default):
    if isinstance(opt, dict):
        value = opt.get(name, None)
    else:
        value = getattr(opt, name, None)
    return default if value is None else value


def resolve_model_name(model_name):
    """``model_name`` -> ``(family, forced_kernel_type or None, forced_se)``."""
    name = str(model_name).lower()
    if name in MODEL_ALIASES:
        fam, kern, se = MODEL_ALIASES[name]
        return fam, kern, se
    if name in FAMILIES:
        return name, None, False
    raise ValueError('unknown model {!r}; valid models: {}'.format(model_name,
                                                                   ', '.join(MODEL_NAMES)))


def resolve_model_options(opt):
    """Validate the model options and return a dict with the family, the final values and the
    ``data_format``."""
    o = {name: _get(opt, name, MODEL_DEFAULTS[name]) for name in MODEL_OPTION_NAMES}
    family, forced_kernel, forced_se = resolve_model_name(o['model'])
    depth = int(o['model_depth'])
    if depth not in DEPTHS[family]:
        raise ValueError('unknown model_depth {} for model {!r}; valid depths: {}'.format(
            depth, o['model'], DEPTHS[family]))
    kernel = check_kernel_type(o['kernel_type'])
    if forced_kernel is not None and forced_kernel != '3d':
        if kernel not in ('3d', forced_kernel):
            raise ValueError('model {!r} implies kernel_type {!r}, got kernel_type {!r}'.format(
                o['model'], forced_kernel, kernel))
        kernel = forced_kernel
    if kernel not in SUPPORTED_KERNELS[family]:
        raise ValueError('kernel_type {!r} is not supported by model {!r}; valid kernel types '
                         'for it: {}'.format(kernel, o['model'], SUPPORTED_KERNELS[family]))
    se = bool(o['se']) or forced_se
    if se and not SUPPORTS_SE[family]:
        raise ValueError('squeeze-excitation (se) is not supported by model {!r}; models with '
                         'se: {}'.format(o['model'], [f for f in FAMILIES if SUPPORTS_SE[f]]))
    shortcut = str(o['resnet_shortcut']).upper()
    if shortcut not in ('A', 'B'):
        raise ValueError("unknown resnet_shortcut {!r}; valid: 'A', 'B'".format(
            o['resnet_shortcut']))
    # the layout of the tensors, not of the weights: not among the MODEL_OPTION_NAMES recorded in
    # checkpoints, so a checkpoint loads into a model of either format
    data_format = check_data_format(_get(opt, 'data_format', DEFAULT_DATA_FORMAT))
    o.update(family=family, model_depth=depth, kernel_type=kernel, se=se,
             resnet_shortcut=shortcut, data_format=data_format)
    return o


def generate_model(opt):
    """Build the model described by ``opt`` (argparse Namespace, any object, or dict).

    Recognised attributes: ``MODEL_OPTION_NAMES``; missing (or None) ones take
    ``MODEL_DEFAULTS``.  Also ``data_format``: ``'NCDHW'`` (default; input ``N x C x T x H x W``)
    or ``'NDHWC'`` (channels-last input ``N x T x H x W x C`` and layers, for GPUs with AMP;
    convert a batch with ``to_data_format``); the parameters are the same in both.
    Raises ``ValueError`` (naming the valid choices) for an unknown model, depth, kernel type,
    shortcut or data format, and for a kernel_type / se the family does not support.

    ``resnet_widen_factor`` widens resnet and resnet2p1d as in the reference; in this port it also
    scales preresnet / wideresnet / resnext / densenet (1.0, the default, is the reference).
    """
    o = resolve_model_options(opt)
    module = importlib.import_module('.' + _MODULES[o['family']], __name__)
    return module.build(o)


def get_classifier_name(model_name):
    """'classifier' for densenet, 'fc' for every other model."""
    family, _, _ = resolve_model_name(model_name)
    return 'classifier' if family == 'densenet' else 'fc'


def replace_classifier(model, model_name, n_classes):
    """Swap the classifier for a new ``Linear(in_features, n_classes)`` (PyTorch default init:
    weight and bias ~ U(-1/sqrt(in), 1/sqrt(in))).  Returns the model."""
    name = get_classifier_name(model_name)
    old = getattr(model, name)
    in_features = int(old.weight.shape[0])  # Paddle Linear weight is [in, out]
    setattr(model, name, torch_linear(in_features, int(n_classes)))
    return model


def _matches_module(param_name, module_name):
    """True if ``module_name`` is a dotted sub-path of ``param_name`` ('layer4', 'layer4.1',
    'features.denseblock3', 'denseblock3', 'fc', ...)."""
    return ('.' + module_name + '.') in ('.' + param_name + '.')


def get_fine_tuning_parameters(model, ft_begin_index=0, ft_begin_module=''):
    """Parameters to give the optimizer when fine-tuning, with both reference semantics.

    * default (``ft_begin_index=0`` and ``ft_begin_module=''``): ``model.parameters()``, all trained.
    * OLD ``ft_begin_index=k`` (k >= 1, CVPR2018 code): two parameter groups.  Parameters whose
      names contain ``layer{k}`` ... ``layer4`` or ``fc`` (densenet: ``denseblock{k..4}``,
      ``transition{k..4}``, ``norm5``, ``classifier``) -- a plain substring test, as in the
      reference -- train at the base learning rate; **all other parameters are frozen by a
      ``'learning_rate': 0.0`` group** (Paddle's group ``learning_rate`` is a multiplier of the
      base lr, so they never move, but their BatchNorm running statistics still update in train
      mode, exactly as in the reference).
    * NEW ``ft_begin_module='m'`` (e.g. ``conv1``, ``layer4``, ``fc``, ``denseblock3``,
      ``classifier``): the first parameter whose name has ``m`` as a dotted component path, and
      every parameter after it in ``named_parameters()`` order, are returned (one group); **the
      parameters before it are not passed to the optimizer at all** (frozen weights; their BN
      statistics still update in train mode).

    Non-trainable tensors (BN ``_mean``/``_variance``) are left out of the groups.
    Giving both ``ft_begin_index`` and ``ft_begin_module`` is an error.
    """
    ft_begin_index = int(ft_begin_index or 0)
    ft_begin_module = ft_begin_module or ''
    if ft_begin_index and ft_begin_module:
        raise ValueError('give either ft_begin_index or ft_begin_module, not both')
    named = [(k, v) for k, v in model.named_parameters() if not v.stop_gradient]
    if ft_begin_module:
        for i, (k, _) in enumerate(named):
            if _matches_module(k, ft_begin_module):
                return [{'params': [v for _, v in named[i:]]}]
        tops = []
        for k, _ in named:
            top = k.split('.')[0]
            if top not in tops:
                tops.append(top)
        raise ValueError('ft_begin_module {!r} matches no parameter; top-level modules: {}'.format(
            ft_begin_module, tops))
    if ft_begin_index == 0:
        return model.parameters()
    if not 1 <= ft_begin_index <= 5:
        raise ValueError('ft_begin_index must be in 0..5, got {}'.format(ft_begin_index))
    is_densenet = any('denseblock' in k for k, _ in named)
    ft_names = []
    for i in range(ft_begin_index, 5):
        if is_densenet:
            ft_names += ['denseblock{}'.format(i), 'transition{}'.format(i)]
        else:
            ft_names.append('layer{}'.format(i))
    ft_names += ['norm5', 'classifier'] if is_densenet else ['fc']
    train, frozen = [], []
    for k, v in named:
        (train if any(n in k for n in ft_names) else frozen).append(v)
    groups = []
    if train:
        groups.append({'params': train})
    if frozen:
        groups.append({'params': frozen, 'learning_rate': 0.0})
    return groups


def __getattr__(name):  # lazy re-export of the notebook builder API
    if name.startswith('build_three_d_resnet'):
        from . import builder
        return getattr(builder, name)
    raise AttributeError(name)


__all__ = ['MODEL_OPTION_NAMES', 'MODEL_DEFAULTS', 'MODEL_NAMES', 'MODEL_ALIASES', 'FAMILIES',
           'KERNEL_TYPES', 'DEPTHS', 'SUPPORTED_KERNELS', 'SUPPORTS_SE', 'DATA_FORMATS',
           'DEFAULT_DATA_FORMAT', 'generate_model', 'resolve_model_options', 'get_classifier_name',
           'replace_classifier', 'get_fine_tuning_parameters', 'channel_axis', 'to_data_format']
