"""3D CNN models for video classification (PaddlePaddle port of kenshohara/3D-ResNets-PyTorch).

Public API (docs/DESIGN.md; the models themselves: docs/MODELS.md):

* ``generate_model(opt)`` -- build a model from an options object / dict.
* the registry (:mod:`models.registry`) and the tables derived from it: ``MODEL_NAMES``,
  ``FAMILIES``, ``DEPTHS``, ``SUPPORTED_KERNELS``, ``SUPPORTS_SE``, ``MODEL_ALIASES``, ``KERNEL_TYPES``.
* ``MODEL_OPTIONS`` (``MODEL_OPTION_NAMES`` / ``MODEL_DEFAULTS``), ``ModelConfig``: the options that define a
  model, declared once in options.py (flags, config fields, the checkpoint record).
* ``DATA_FORMATS``, ``channel_axis``, ``to_data_format`` -- the ``data_format`` option.
* ``get_classifier_name``, ``replace_classifier``, ``get_fine_tuning_parameters``.
* notebook builders in :mod:`models.builder` (re-exported: ``build_three_d_resnet*``).
"""
from core.preload import hide_import_noise

hide_import_noise()  # before the first import of Paddle below: no 'No ccache found' on `from models.builder import`

from core.errors import BadInput  # noqa: E402

from . import registry
from core.layout import DATA_FORMATS, DEFAULT_DATA_FORMAT, channel_axis, check_data_format, to_data_format

from ._common import BatchNorm3D, torch_linear
from .kernels import KERNEL_TYPES, check_kernel_type
# Importing a family module registers it; this order is --model's.
from . import resnet, preresnet, wideresnet, resnext, densenet, resnet2p1d  # noqa: F401
from .options import MODEL_DEFAULTS, MODEL_OPTION_NAMES, MODEL_OPTIONS, ModelConfig, model_config  # noqa: F401

# Tables derived from the registry (for the CLI, the docs and the tests).
FAMILIES = list(registry.FAMILIES)
MODEL_ALIASES = dict(registry.ALIASES)  # name -> (family, kernel_type, se)
MODEL_NAMES = FAMILIES + list(MODEL_ALIASES)
DEPTHS = {name: list(f.depths) for name, f in registry.FAMILIES.items()}
SUPPORTED_KERNELS = {name: list(f.kernel_types) for name, f in registry.FAMILIES.items()}
SUPPORTS_SE = {name: f.se for name, f in registry.FAMILIES.items()}


def model_names():
    """Every --model name: the registered families, then the aliases."""
    return list(registry.FAMILIES) + list(registry.ALIASES)


def depth_help():
    """'resnet 10|18|..., preresnet 18|...': the --model_depth help, from the registry."""
    return ', '.join('{} {}'.format(name, '|'.join(map(str, f.depths))) for name, f in registry.FAMILIES.items())


def _get(opt, name, default):
    value = opt.get(name) if isinstance(opt, dict) else getattr(opt, name, None)
    return default if value is None else value


def resolve_model_name(model_name):
    """``model_name`` -> ``(family, forced_kernel_type or None, forced_se)``."""
    family = registry.family(model_name).name
    alias = registry.ALIASES.get(str(model_name).lower())
    return (family, alias[1], alias[2]) if alias else (family, None, False)


def _kernel_type(o, family, forced_kernel):
    kernel = check_kernel_type(o['kernel_type'])
    if forced_kernel is not None and forced_kernel != '3d':
        if kernel not in ('3d', forced_kernel):
            raise BadInput('model {!r} implies kernel_type {!r}, got kernel_type {!r}'.format(
                o['model'], forced_kernel, kernel))
        kernel = forced_kernel
    if kernel not in family.kernel_types:
        raise BadInput('kernel_type {!r} is not supported by model {!r}; valid kernel types '
                         'for it: {}'.format(kernel, o['model'], list(family.kernel_types)))
    return kernel


def resolve_model_options(opt):
    """Validate the model options and return a dict with the family, the final values and the
    ``data_format``."""
    o = {name: _get(opt, name, MODEL_DEFAULTS[name]) for name in MODEL_OPTION_NAMES}
    family_name, forced_kernel, forced_se = resolve_model_name(o['model'])
    family = registry.FAMILIES[family_name]
    depth = family.check_depth(o['model_depth'], o['model'])
    kernel = _kernel_type(o, family, forced_kernel)
    se = bool(o['se']) or forced_se
    if se and not family.se:
        raise BadInput('squeeze-excitation (se) is not supported by model {!r}; models with '
                         'se: {}'.format(o['model'], [f for f, fam in registry.FAMILIES.items() if fam.se]))
    shortcut = str(o['resnet_shortcut']).upper()
    if shortcut not in ('A', 'B'):
        raise BadInput("unknown resnet_shortcut {!r}; valid: 'A', 'B'".format(o['resnet_shortcut']))
    # the layout of the tensors, not of the weights: not among the MODEL_OPTION_NAMES recorded in
    # checkpoints, so a checkpoint loads into a model of either format
    data_format = check_data_format(_get(opt, 'data_format', DEFAULT_DATA_FORMAT))
    o.update(family=family_name, model_depth=depth, kernel_type=kernel, se=se,
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
    return registry.FAMILIES[o['family']].build(o)


def get_classifier_name(model_name):
    """The attribute name of the model's final Linear ('fc'; 'classifier' for densenet)."""
    return registry.family(model_name).classifier


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
      names contain one of ``model.fine_tuning_names(k)`` (``layer{k}`` ... ``layer4``, ``fc``;
      densenet: ``denseblock{k..4}``, ``transition{k..4}``, ``norm5``, ``classifier``) -- a plain
      substring test, as in the
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
        raise BadInput('give either ft_begin_index or ft_begin_module, not both')
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
        raise BadInput('ft_begin_module {!r} matches no parameter; top-level modules: {}'.format(
            ft_begin_module, tops))
    if ft_begin_index == 0:
        return model.parameters()
    if not 1 <= ft_begin_index <= 5:
        raise BadInput('ft_begin_index must be in 0..5, got {}'.format(ft_begin_index))
    ft_names = model.fine_tuning_names(ft_begin_index)
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


__all__ = ['MODEL_OPTIONS', 'ModelConfig', 'model_config', 'MODEL_OPTION_NAMES', 'MODEL_DEFAULTS', 'MODEL_NAMES', 'MODEL_ALIASES', 'FAMILIES',
           'KERNEL_TYPES', 'DEPTHS', 'SUPPORTED_KERNELS', 'SUPPORTS_SE', 'DATA_FORMATS', 'registry',
           'DEFAULT_DATA_FORMAT', 'generate_model', 'resolve_model_options', 'get_classifier_name', 'depth_help',
           'model_names',
           'replace_classifier', 'get_fine_tuning_parameters', 'channel_axis', 'to_data_format']
