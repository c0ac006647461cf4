"""Checkpoint files: atomic writes, readable errors, strict weight loading.

A checkpoint is a `paddle.save` pickle of a dict (see docs/DESIGN.md). A bare state_dict and a
converted reference checkpoint (`{'arch', 'state_dict'}`) are accepted wherever one is read.
"""
import os
import pickle
import tempfile

import numpy as np
import paddle

from utils.messages import preview


class CheckpointError(Exception):
    """A checkpoint that cannot be used; the message names the file and what to do."""


def save_checkpoint(state, path):
    """Write `state` to `path` so that a kill at any moment leaves either the old file or the new one."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=directory)
    os.close(fd)
    try:
        paddle.save(state, tmp_path)
        with open(tmp_path, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise


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
    problems = []
    if missing:
        problems.append(f'{len(missing)} missing key(s): {preview(missing)}')
    if unexpected:
        problems.append(f'{len(unexpected)} unexpected key(s): {preview(unexpected)}')
    if mismatched:
        problems.append(f'{len(mismatched)} shape mismatch(es): {preview(mismatched)}')
    if problems:
        raise CheckpointError(f'{source}: weights do not fit the model built from the flags '
                              f'({"; ".join(problems)}); check --model/--model_depth/--resnet_shortcut/--n_classes')
    model.set_state_dict({k: np.asarray(v) if not isinstance(v, paddle.Tensor) else v for k, v in given.items()})


def describe_model_opts_mismatch(saved_opts, opt, names):
    """'name: checkpoint X, flags Y' for each model option that differs between a checkpoint and the flags."""
    diffs = []
    for name in names:
        if name in saved_opts and hasattr(opt, name) and saved_opts[name] != getattr(opt, name):
            diffs.append(f'--{name}: checkpoint {saved_opts[name]!r}, flags {getattr(opt, name)!r}')
    return diffs
