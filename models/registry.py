"""The model registry: every family module and kernel variant registers itself here, once.

A family module decorates its ``build(options)`` function::

    @register_family('resnext', depths=[50, 101, 152], kernel_types=['3d'])
    def build(o): ...

and ``models/__init__.py`` imports the module (that import line is the registration). The tables
``models.MODEL_NAMES``, ``DEPTHS``, ``SUPPORTED_KERNELS``, ``SUPPORTS_SE``, the ``--model`` choices, the
``--model_depth`` help, every validation error and ``get_classifier_name`` read the registry.
Kernel variants register the same way in ``models/kernels.py`` (``@register_kernel``). See
docs/DESIGN.md, "Adding a model family" and "Adding a kernel variant".
"""
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from core.errors import BadInput

__all__ = ['Family', 'Kernel', 'FAMILIES', 'KERNELS', 'ALIASES', 'register_family', 'register_kernel',
           'register_alias', 'family', 'kernel']


@dataclass(frozen=True)
class Family:
    """A model family: ``build(options) -> model`` and what it accepts."""
    name: str
    build: Callable
    depths: Tuple[int, ...]
    own_kernel_types: Optional[Tuple[str, ...]]  # None: every registered kernel variant
    se: bool  # squeeze-and-excitation accepted
    classifier: str  # attribute name of the final Linear

    @property
    def kernel_types(self):
        return tuple(KERNELS) if self.own_kernel_types is None else self.own_kernel_types

    def check_depth(self, depth, model_name=None):
        if int(depth) not in self.depths:
            raise BadInput('unknown model_depth {} for model {!r}; valid depths: {}'.format(
                depth, model_name or self.name, list(self.depths)))
        return int(depth)


@dataclass(frozen=True)
class Kernel:
    """A replacement of a k x k x k Conv3D: ``build(in_planes, out_planes, kernel_size, stride, padding)``."""
    name: str  # --kernel_type spelling
    seed_name: str  # the Keras builder's spelling (models/builder.py)
    build: Callable


FAMILIES = {}  # name -> Family, in registration order (--model's choices)
KERNELS = {}  # name -> Kernel, in registration order
ALIASES = {}  # --model alias -> (family, kernel_type, se)


def register_family(name, depths, kernel_types=None, se=True, classifier='fc'):
    """Decorator for a family's ``build(options)``; ``kernel_types=None`` accepts every kernel variant."""
    def register(build):
        if name in FAMILIES:
            raise ValueError('model family {!r} registered twice'.format(name))
        FAMILIES[name] = Family(name, build, tuple(int(d) for d in depths),
                                None if kernel_types is None else tuple(kernel_types), bool(se), classifier)
        return build
    return register


def register_kernel(name, seed_name):
    """Decorator for a kernel variant's layer class (or factory)."""
    def register(build):
        if name in KERNELS:
            raise ValueError('kernel type {!r} registered twice'.format(name))
        KERNELS[name] = Kernel(name, seed_name, build)
        return build
    return register


def register_alias(alias, family_name, kernel_type='3d', se=False):
    """A ``--model`` name for a family with a fixed kernel type / SE (e.g. 'resnet-2plus1d')."""
    ALIASES[alias] = (family_name, kernel_type, se)


def family(name):
    """The Family of a family name or alias; ValueError naming the valid models."""
    key = str(name).lower()
    key = ALIASES[key][0] if key in ALIASES else key
    if key not in FAMILIES:
        raise BadInput('unknown model {!r}; valid models: {}'.format(name, ', '.join(list(FAMILIES) + list(ALIASES))))
    return FAMILIES[key]


def kernel(name):
    """The Kernel of a kernel type (any case); ValueError naming the valid ones."""
    key = str(name).lower()
    if key not in KERNELS:
        raise BadInput('unknown kernel_type {!r}; valid kernel types: {}'.format(name, ', '.join(KERNELS)))
    return KERNELS[key]
