"""Checkpoint files and the options they carry: atomic writes, readable errors, strict weight loading.

A checkpoint is a `paddle.save` pickle of a dict (docs/DESIGN.md). A bare state_dict and a converted
reference checkpoint (`{'arch', 'state_dict'}`) are accepted wherever one is read.

Options: a checkpoint written by main.py records its model options (`model_opts`) and input options
(`data_opts`); an older or converted one only its `arch` and classifier. `merge_model_options` is the
one rule that merges them with the command line: a recorded value is used for every flag not typed, and
a typed flag that disagrees is a conflict. `with_model_options` / `with_data_options` apply it to a
Config and return a new one; main.py (`--resume_path`, `--pretrain_path`), test.py, scripts/predict.py
and utils/convert_torch_checkpoint.py all go through it.
"""
import dataclasses
import os
import pickle
import re
import shutil

import numpy as np
import paddle

import models
from core.errors import BadInput, UserError, counted_problems
from core.files import atomic_path

# The flags that set the normalisation: given any of them, a checkpoint's recorded normalisation is not used.
NORMALISATION_FLAGS = ('norm_value', 'value_scale', 'mean_dataset', 'no_mean_norm', 'std_norm')


class CheckpointError(UserError):
    """A checkpoint that cannot be used; the message names the file and what to do."""


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------

def save_checkpoint(state, path):
    """Write `state` to `path` so that a kill at any moment leaves either the old file or the new one."""
    with atomic_path(path) as tmp_path:  # core.files: same folder, fsync, rename; a normal file's mode (0644)
        paddle.save(state, tmp_path)


def link_checkpoint(src, path):
    """Give the checkpoint file ``src`` a second name ``path`` (best.pdparams, save_N.pdparams: the epoch's
    last.pdparams) without writing it again: a hard link, or a copy where the file system has none. Safe
    because save_checkpoint never rewrites a file, it replaces it: the next last.pdparams is a new file and
    ``path`` keeps this one. Atomic like save_checkpoint."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp_path = os.path.join(directory, f'.{os.path.basename(path)}.{os.getpid()}.link')
    try:
        try:
            os.link(src, tmp_path)
        except OSError:
            shutil.copyfile(src, tmp_path)
            with open(tmp_path, 'rb') as f:
                os.fsync(f.fileno())
        os.replace(tmp_path, path)
    finally:
        # also when path already was this very file (rename between two names of one file does nothing)
        if os.path.lexists(tmp_path):
            os.remove(tmp_path)


def load_checkpoint(path):
    """Read a checkpoint (or a bare state_dict) as a dict, or raise CheckpointError naming the problem."""
    if not path:
        raise CheckpointError('no checkpoint path given')
    if not os.path.isfile(path):
        raise CheckpointError(f'{path}: checkpoint not found (check the path and --root_path)')
    if os.path.getsize(path) == 0:
        raise CheckpointError(f'{path}: file is empty (an interrupted copy?); use another checkpoint')
    try:
        obj = paddle.load(path, return_numpy=True)
    except (EOFError, pickle.UnpicklingError, ValueError, RuntimeError, OSError, AttributeError,
            ImportError, IndexError, KeyError, TypeError) as e:
        hint = ('a PyTorch .pth file must be converted first: python utils/convert_torch_checkpoint.py'
                if path.endswith(('.pth', '.pt', '.tar')) else 'the file is truncated or not a Paddle checkpoint')
        raise CheckpointError(f'{path}: cannot read checkpoint ({type(e).__name__}: {e}); {hint}') from None
    if not isinstance(obj, dict):
        raise CheckpointError(f'{path}: holds a {type(obj).__name__}, not a checkpoint dict or state_dict')
    return obj


def checkpoint_state_dict(checkpoint, path='checkpoint'):
    """The model weights inside a checkpoint dict, or the dict itself when it is a bare state_dict."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f'{path}: has no model weights (no state_dict)')
    bad = [k for k, v in state_dict.items() if not hasattr(v, 'shape')]
    if bad:
        raise CheckpointError(f'{path}: not a model state_dict (entries without arrays: {", ".join(map(str, bad[:5]))})')
    return state_dict


def _shape(value):
    return tuple(int(d) for d in value.shape)


def load_weights(model, state_dict, source='checkpoint', skip_prefixes=()):
    """Copy every tensor of `state_dict` into `model`, refusing missing, unexpected or mis-shaped keys.

    `paddle.nn.Layer.set_state_dict` only warns on these, which would silently leave a half-initialised
    model; here the error lists each offending key. Keys starting with one of `skip_prefixes` (e.g. the
    classifier being replaced for fine-tuning) are ignored on both sides.
    """
    def kept(key):
        return not any(key == p or key.startswith(p + '.') for p in skip_prefixes)

    own = {k: v for k, v in model.state_dict().items() if kept(k)}
    given = {k: v for k, v in state_dict.items() if kept(k)}
    missing = sorted(set(own) - set(given))
    unexpected = sorted(set(given) - set(own))
    mismatched = [f'{k} {_shape(given[k])} vs model {_shape(own[k])}'
                  for k in own if k in given and _shape(given[k]) != _shape(own[k])]
    problems = counted_problems(('missing key(s)', missing), ('unexpected key(s)', unexpected),
                                ('shape mismatch(es)', mismatched))
    if problems:
        raise CheckpointError(f'{source}: weights do not fit the model built from the flags '
                              f'({"; ".join(problems)}); check --model/--model_depth/--resnet_shortcut/--n_classes')
    # the skipped keys (the classifier of a fine-tune) keep the model's own values: set_state_dict warns
    # 'Skip loading for ...' for every key it is not given
    own_skipped = {k: v for k, v in model.state_dict().items() if not kept(k)}
    model.set_state_dict({**own_skipped,
                          **{k: np.asarray(v) if not isinstance(v, paddle.Tensor) else v for k, v in given.items()}})


# ----------------------------------------------------------------------------------------------
# Options
# ----------------------------------------------------------------------------------------------

def parse_arch(arch):
    """'resnet-18' -> ('resnet', 18); None if it does not look like one."""
    m = re.match(r'^(.+)-(\d+)$', arch) if isinstance(arch, str) else None
    return (m.group(1), int(m.group(2))) if m else None


def classifier_classes(state_dict, model_name, weight_axis=-1):
    """Class count of the classifier stored in a state_dict (None when it cannot be found).

    ``weight_axis``: the output axis of a Linear weight, -1 in Paddle, 0 in a PyTorch state_dict."""
    try:
        name = models.get_classifier_name(model_name)
    except ValueError:
        return None
    bias = state_dict.get(f'{name}.bias')
    if bias is not None and len(bias.shape) == 1:
        return int(bias.shape[0])
    weight = state_dict.get(f'{name}.weight')
    return int(weight.shape[weight_axis]) if weight is not None and len(weight.shape) == 2 else None


def recorded_model_options(checkpoint, state_dict, model_name=None):
    """The model options a checkpoint records: its `model_opts`, else those its `arch` names, and the class
    count of its classifier (found under `model_name`'s classifier name when nothing names the model)."""
    recorded = dict(checkpoint.get('model_opts') or {})
    if not recorded and parse_arch(checkpoint.get('arch')):
        recorded['model'], recorded['model_depth'] = parse_arch(checkpoint['arch'])
    if 'n_classes' not in recorded:
        n = classifier_classes(state_dict, recorded.get('model', model_name))
        if n:
            recorded['n_classes'] = n
    return recorded


def _same(a, b):
    return a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b))


def merge_model_options(recorded, flags, given):
    """Merge recorded model options with the command line: the one rule every command follows.

    ``recorded``: options a checkpoint carries; ``flags``: name -> the command line's value (defaults
    included); ``given``: the names given on the command line. Returns ``(options, conflicts, taken)``:
    every ``models.MODEL_OPTION_NAMES`` value (recorded unless given), ``'--name flag (checkpoint: value)'``
    for each given flag that disagrees with the record, and ``'name=value'`` for each recorded value
    that replaced a default."""
    options, conflicts, taken = {}, [], []
    for name in models.MODEL_OPTION_NAMES:
        flag = flags.get(name)
        options[name] = flag
        if name not in recorded:
            continue
        value = recorded[name]
        if name in given:
            if not _same(value, flag):
                conflicts.append(f'--{name} {flag} (checkpoint: {value})')
        else:
            options[name] = value
            if not _same(value, flag):
                taken.append(f'{name}={value}')
    return options, conflicts, taken


def with_model_options(config, checkpoint, state_dict, path, ignore=()):
    """``config`` with its model options merged with the checkpoint's (``ignore``: names left to the flags),
    and the 'name=value' taken from it. A typed flag that disagrees is a CheckpointError naming each."""
    recorded = recorded_model_options(checkpoint, state_dict, config.model.model)
    for name in ignore:
        recorded.pop(name, None)
    options, conflicts, taken = merge_model_options(recorded, config.model.record(), config.given)
    if conflicts:
        raise CheckpointError(f'{path} does not match the flags: {"; ".join(conflicts)}. Drop these flags '
                              '(the model options are read from the checkpoint) or pass the checkpoint '
                              'that was trained with them')
    return config.replace(model=dataclasses.replace(config.model, **options)), taken


def with_data_options(config, record):
    """``config`` with the clip size, length, stride and normalisation a checkpoint (or an export's
    model_info.json) records, where no flag gave them; and the 'name=value' taken."""
    names = ['sample_size', 'sample_duration', 'sample_t_stride']
    if not config.given.intersection(NORMALISATION_FLAGS):
        names += ['norm_value', 'mean', 'std']
    values, taken = {}, []
    for name in names:
        if name in record and name not in config.given and record[name] != getattr(config.data, name):
            values[name] = record[name]
            taken.append(f'{name}={record[name]}')
    return config.replace(data=dataclasses.replace(config.data, **values)), taken


def check_class_names(saved, names, path, annotation_path):
    """A checkpoint's stored class names are the truth: an annotation listing other names (or the same in
    another order) is a BadInput naming the first difference. Nothing to check when either is missing."""
    if not saved or names is None or list(saved) == list(names):
        return
    saved, names = list(saved), list(names)
    first = next((i for i, (a, b) in enumerate(zip(saved, names)) if a != b), min(len(saved), len(names)))
    raise BadInput(f'{path} was trained with other class names than {annotation_path} (first difference at '
                   f'index {first}: {saved[first] if first < len(saved) else None!r} vs '
                   f'{names[first] if first < len(names) else None!r}); use the annotation it was trained with')
