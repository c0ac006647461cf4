"""The options that define a model, declared once: each generates its command-line flag (opts.py and the
converter), its field of ``ModelConfig`` and its entry in a checkpoint's ``model_opts`` record.

``data_format`` is a field of ``ModelConfig`` but not a recorded option: it is the layout of the tensors,
not of the weights, so a checkpoint loads into a model of either format."""
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, Callable, Optional, Sequence, Union

from core.layout import DEFAULT_DATA_FORMAT


@dataclass(frozen=True)
class ModelOption:
    name: str
    type: Callable
    default: Any
    help: Union[str, Callable[[], str]]
    choices: Optional[Union[Sequence, Callable[[], Sequence]]] = None  # a callable: read from the registry
    is_flag: bool = False  # a store_true switch
    training_flag: bool = True  # also a flag of main.py / test.py (not where their data cannot vary it)

    def resolved_help(self):
        return self.help() if callable(self.help) else self.help

    def resolved_choices(self):
        return self.choices() if callable(self.choices) else self.choices


def _model_names():
    from . import model_names
    return model_names()


def _depth_help():
    from . import depth_help
    return depth_help()


def _kernel_names():
    from .registry import KERNELS
    return list(KERNELS)


MODEL_OPTIONS = (
    ModelOption('model', str, 'resnet', 'model family, or a ResNet variant name (= resnet with --kernel_type/--se)',
                choices=_model_names),
    ModelOption('model_depth', int, 18, _depth_help),
    ModelOption('n_classes', int, 400, 'classes of the task'),
    ModelOption('resnet_shortcut', str.upper, 'B',
                'shortcut: A = zero-padded identity (pretrained ResNet-18/34), B = 1x1x1 conv + BN',
                choices=['A', 'B']),
    ModelOption('conv1_t_size', int, 7, 'temporal kernel size of conv1'),
    ModelOption('conv1_t_stride', int, 1, 'temporal stride of conv1'),
    ModelOption('no_max_pool', bool, False, 'drop the max-pooling after conv1', is_flag=True),
    ModelOption('resnet_widen_factor', float, 1.0, 'multiplies the stage widths of resnet/resnet2p1d/preresnet'),
    ModelOption('wide_resnet_k', int, 2, 'width factor of wideresnet'),
    ModelOption('resnext_cardinality', int, 32, 'groups of resnext'),
    ModelOption('kernel_type', str, '3d', 'replacement of each kxkxk convolution in the ResNet family '
                '(docs/MODELS.md)', choices=_kernel_names),
    ModelOption('se', bool, False, 'squeeze-and-excitation on every residual branch', is_flag=True),
    # the datasets give RGB clips: a flag of the converter (weights of other inputs), not of training
    ModelOption('n_input_channels', int, 3, 'channels of the input clips (3: RGB)', training_flag=False),
)

MODEL_OPTION_NAMES = [o.name for o in MODEL_OPTIONS]
MODEL_DEFAULTS = {o.name: o.default for o in MODEL_OPTIONS}


def _arch(self):
    return f'{self.model}-{self.model_depth}'


def _record(self):
    """The checkpoint's ``model_opts``: every recorded option."""
    return {name: getattr(self, name) for name in MODEL_OPTION_NAMES}


ModelConfig = make_dataclass(
    'ModelConfig',
    [(o.name, o.type if isinstance(o.type, type) else str, field(default=o.default)) for o in MODEL_OPTIONS]
    + [('data_format', str, field(default=DEFAULT_DATA_FORMAT))],
    frozen=True, namespace={'arch': property(_arch), 'record': _record,
                            '__doc__': 'What builds a model: the MODEL_OPTIONS and the tensor layout (immutable).'})
ModelConfig.__module__ = __name__


def model_config(values):
    """A ModelConfig from any mapping or object with the option names (missing or None ones: the defaults)."""
    get = values.get if isinstance(values, dict) else (lambda name: getattr(values, name, None))
    return ModelConfig(**{f.name: get(f.name) for f in fields(ModelConfig) if get(f.name) is not None})
