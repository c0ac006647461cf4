"""Convert a PyTorch checkpoint of kenshohara/3D-ResNets-PyTorch (.pth) into a Paddle checkpoint.

    python utils/convert_torch_checkpoint.py resnet-18-kinetics.pth resnet-18-kinetics.pdparams \\
        --model resnet --model_depth 18 --resnet_shortcut A --n_classes 400

The model flags are main.py's. Those left out are read from the checkpoint: ``--model`` and
``--model_depth`` from its ``arch`` entry, ``--n_classes`` from the classifier, ``--resnet_shortcut``
from the presence of ``downsample`` weights; a flag that disagrees with the checkpoint is an error.

Accepted inputs: the old reference's checkpoints (``{'epoch', 'arch', 'state_dict' with 'module.'
keys, 'optimizer'}``), the new reference's (no prefix, plus ``'scheduler'``) and bare state_dicts,
in the zip format (PyTorch >= 1.6) and the legacy one. Every tensor is mapped by name
(``running_mean -> _mean``, ``running_var -> _variance``, ``num_batches_tracked`` dropped, old DenseNet
names ``norm.1``/``conv.1``/``conv0`` -> ``norm1``/``conv1``/``conv1``, Linear weights transposed to
Paddle's ``[in, out]``) and checked for shape; a missing, unexpected or mis-shaped tensor stops the
conversion with the list of offenders. The output is ``{'epoch': 0, 'arch', 'model_opts',
'state_dict', 'converted_from'}`` and loads with ``main.py --pretrain_path`` and ``test.py --pretrain_path``.

Reading ``.pth`` files needs PyTorch (any CPU build): ``pip install -r requirements-convert.txt``.
See docs/PRETRAINED.md for every published file and its flags.
"""
import argparse
import os
import pickle
import re
import sys
import warnings
import zipfile
from collections import OrderedDict

from core.preload import before_paddle, quiet_paddle  # noqa: E402

before_paddle()  # first: the signal handlers of a command's start, MKL path and log level (core/preload.py)

import numpy as np  # noqa: E402

from core.errors import UserError, counted_problems, preview, run_command  # noqa: E402
from core.flags import check_flags, check_output_file  # noqa: E402
from core.locks import lock_folder  # noqa: E402

TORCH_MISSING = ('reading a PyTorch .pth file needs PyTorch, which is not installed (it is an optional '
                 'dependency of this repository). Install the CPU build with:\n'
                 '    pip install -r requirements-convert.txt\n'
                 'or  pip install torch --index-url https://download.pytorch.org/whl/cpu')

# Every checkpoint the reference published -> (flags, note). Class counts: Kinetics-400 for the CVPR2018
# files; K = Kinetics-700, M = Moments in Time, S = STAIR-Actions and their merges for the 2020 files.
_NEW_CLASSES = {'K': 700, 'KM': 1039, 'KMS': 1139, 'KS': 800, 'M': 339, 'MS': 439, 'S': 100}
_NEW_DATA = {'K': 'Kinetics-700', 'M': 'Moments in Time', 'S': 'STAIR-Actions'}


def _new_note(sets):
    return ' + '.join(_NEW_DATA[c] for c in sets) + ' (2020 layout)'


PUBLISHED = OrderedDict()
for _depth, _shortcut in [(18, 'A'), (34, 'A'), (50, 'B'), (101, 'B'), (152, 'B'), (200, 'B')]:
    PUBLISHED[f'resnet-{_depth}-kinetics.pth'] = (
        f'--model resnet --model_depth {_depth} --resnet_shortcut {_shortcut} --n_classes 400', 'Kinetics-400')
    if _depth == 34:
        PUBLISHED['resnet-34-kinetics-cpu.pth'] = (
            '--model resnet --model_depth 34 --resnet_shortcut A --n_classes 400', 'Kinetics-400, "CPU version"')
PUBLISHED['preresnet-200-kinetics.pth'] = (
    '--model preresnet --model_depth 200 --resnet_shortcut B --n_classes 400', 'Kinetics-400')
PUBLISHED['wideresnet-50-kinetics.pth'] = (
    '--model wideresnet --model_depth 50 --resnet_shortcut B --wide_resnet_k 2 --n_classes 400', 'Kinetics-400')
PUBLISHED['resnext-101-kinetics.pth'] = (
    '--model resnext --model_depth 101 --resnet_shortcut B --resnext_cardinality 32 --n_classes 400',
    'Kinetics-400')
for _depth in (121, 201):
    PUBLISHED[f'densenet-{_depth}-kinetics.pth'] = (
        f'--model densenet --model_depth {_depth} --n_classes 400', 'Kinetics-400; old layer names (norm.1, conv0)')
for _data, _n in (('ucf101', 101), ('hmdb51', 51)):
    for _frames in ('', '-64f'):
        PUBLISHED[f'resnext-101{_frames}-kinetics-{_data}_split1.pth'] = (
            f'--model resnext --model_depth 101 --resnet_shortcut B --resnext_cardinality 32 --n_classes {_n}',
            f'fine-tuned on {_data.upper()} split 1' + (', 64-frame clips (--sample_duration 64)' if _frames else ''))
for _depth, _sets in [(18, 'K KM'), (34, 'K KM'), (50, 'K KM KMS KS M MS S'), (101, 'K KM'), (152, 'K KM'),
                      (200, 'K KM')]:
    for _s in _sets.split():
        PUBLISHED[f'r3d{_depth}_{_s}_200ep.pth'] = (
            f'--model resnet --model_depth {_depth} --resnet_shortcut B --n_classes {_NEW_CLASSES[_s]}',
            _new_note(_s))
for _depth, _sets in [(18, 'K'), (34, 'K'), (50, 'K KM')]:
    for _s in _sets.split():
        PUBLISHED[f'r2p1d{_depth}_{_s}_200ep.pth'] = (
            f'--model resnet2p1d --model_depth {_depth} --resnet_shortcut B --n_classes {_NEW_CLASSES[_s]}',
            _new_note(_s))


class ConversionError(UserError):
    """The input cannot be converted; the message says why and what to do."""


# ----------------------------------------------------------------------------------------- reading
def import_torch():
    try:
        import torch  # noqa: F401  (optional dependency)
    except ImportError:
        raise ConversionError(TORCH_MISSING) from None
    return torch


_LEGACY_MAGIC = b'l\xfc\x9cF\xf9 j\xa8P\x19'   # torch's legacy MAGIC_NUMBER 0x1950a86a20f9469cfc6c, pickled


def _serialization(path):
    """'zip' (torch.save since PyTorch 1.6), 'legacy' (older torch.save) or None (not a torch file)."""
    with open(path, 'rb') as f:
        head = f.read(64)
    if head.startswith(b'PK\x03\x04'):
        return 'zip'
    if head.startswith(b'\x80') and _LEGACY_MAGIC in head:
        return 'legacy'
    return None


def read_torch_checkpoint(path, trust_pickle=False):
    """Load a .pth file. Returns a dict: ``state_dict`` (OrderedDict name -> numpy array, prefix
    stripped), ``arch``, ``epoch``, ``layout`` ('old', 'new' or 'bare'), ``serialization`` ('zip' or
    'legacy'), ``prefix`` (the stripped key prefix or '') and ``extra`` (other top-level keys)."""
    if not os.path.isfile(path):
        raise ConversionError(f'{path}: file not found')
    size = os.path.getsize(path)
    if size == 0:
        raise ConversionError(f'{path}: file is empty (an interrupted download?); download it again')
    fmt = _serialization(path)
    if fmt is None:
        raise ConversionError(f'{path}: not a .pth file written by torch.save (it starts with neither the zip '
                              'header nor the legacy magic number; a Paddle .pdparams file needs no conversion)')
    torch = import_torch()
    kind = 'zip format' if fmt == 'zip' else 'legacy (pre-1.6) format'
    if fmt == 'zip' and not zipfile.is_zipfile(path):
        raise ConversionError(f'{path}: truncated or damaged .pth file ({kind}, {size} bytes; the archive has no '
                              'end record); download it again')
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            obj = torch.load(path, map_location='cpu', weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - torch raises UnpicklingError/RuntimeError/EOFError/... on bad files
        msg = str(e).strip()
        if isinstance(e, pickle.UnpicklingError) and 'weights only load failed' in msg.lower():
            reason = next((line.strip() for line in msg.splitlines() if 'Unsupported' in line),
                          msg.splitlines()[0] if msg else '')
            raise ConversionError(
                f'{path}: holds Python objects other than tensors and plain containers, so it is not a reference '
                f'checkpoint ({reason[:300]}). If you trust the file, rerun with --trust_pickle') from None
        detail = msg.splitlines()[0][:200] if msg else ''
        raise ConversionError(f'{path}: truncated or damaged .pth file ({kind}, {size} bytes; '
                              f'{type(e).__name__}: {detail}); download it again') from None
    return parse_checkpoint(obj, path, fmt, torch)


def parse_checkpoint(obj, path, serialization='zip', torch=None):
    """Split a loaded object into state_dict + metadata (see :func:`read_torch_checkpoint`)."""
    if torch is None:
        torch = import_torch()
    if not isinstance(obj, dict):
        raise ConversionError(f'{path}: holds a {type(obj).__name__}, not a checkpoint dict or a state_dict')
    if not obj:
        raise ConversionError(f'{path}: holds an empty dict, not a checkpoint')
    is_tensor = torch.is_tensor
    if 'state_dict' in obj:
        state_dict = obj['state_dict']
        if not isinstance(state_dict, dict) or not state_dict:
            raise ConversionError(f"{path}: its 'state_dict' entry is a {type(state_dict).__name__}, "
                                  'not a non-empty dict of tensors')
        meta = {k: v for k, v in obj.items() if k != 'state_dict'}
    elif all(is_tensor(v) for v in obj.values()):
        state_dict, meta = obj, {}
    else:
        shown = ', '.join(repr(k) for k in list(obj)[:8])
        raise ConversionError(f"{path}: not a checkpoint: a dict without 'state_dict' whose values are not all "
                              f'tensors (keys: {shown})')
    bad = [str(k) for k, v in state_dict.items() if not is_tensor(v)]
    if bad:
        raise ConversionError(f"{path}: 'state_dict' has entries that are not tensors: {preview(bad)}")
    keys = [str(k) for k in state_dict]
    prefix = ''
    if all(k.startswith('module.') for k in keys):
        prefix = 'module.'
    elif any(k.startswith('module.') for k in keys):
        raise ConversionError(f"{path}: only some keys carry the DataParallel prefix 'module.' "
                              f"({preview([k for k in keys if not k.startswith('module.')])} do not)")
    arrays = OrderedDict()
    for k, v in state_dict.items():
        a = v.detach().cpu()
        if a.is_floating_point() and a.dtype != torch.float32:
            a = a.float()
        arrays[str(k)[len(prefix):]] = a.numpy()
    if 'state_dict' not in obj:
        layout = 'bare'
    elif prefix or 'scheduler' not in obj:
        layout = 'old'
    else:
        layout = 'new'
    arch = meta.get('arch')
    epoch = meta.get('epoch')
    return {'state_dict': arrays, 'arch': arch if isinstance(arch, str) else None,
            'epoch': epoch if isinstance(epoch, int) else None, 'layout': layout,
            'serialization': serialization, 'prefix': prefix, 'extra': sorted(map(str, meta))}


# ----------------------------------------------------------------------------------------- mapping
_BN_RENAMES = [(re.compile(r'(^|\.)running_mean$'), r'\1_mean'), (re.compile(r'(^|\.)running_var$'), r'\1_variance')]
_DENSE_OLD = re.compile(r'\.(norm|relu|conv)\.(\d+)\.')
# Aliases tried when the plain rename does not name a model parameter (old DenseNet stem names).
_ALIASES = [(re.compile(r'^features\.conv0\.'), 'features.conv1.'), (re.compile(r'^features\.norm0\.'), 'features.norm1.'),
            (re.compile(r'^features\.conv1\.'), 'features.conv0.'), (re.compile(r'^features\.norm1\.'), 'features.norm0.')]


def rename_key(key):
    """PyTorch key -> Paddle key (BN statistics, old DenseNet dotted layer names); None = drop it."""
    if key.endswith('num_batches_tracked'):
        return None
    for pattern, repl in _BN_RENAMES:
        key = pattern.sub(repl, key)
    return _DENSE_OLD.sub(r'.\1\2.', key)


def model_target(model):
    """(OrderedDict name -> shape, set of Linear weight names) of a Paddle model."""
    import paddle.nn as nn
    shapes = OrderedDict((k, tuple(int(d) for d in v.shape)) for k, v in model.state_dict().items())
    linear = {f'{name}.weight' if name else 'weight' for name, layer in model.named_sublayers(include_self=True)
              if isinstance(layer, nn.Linear)}
    return shapes, linear


def plan_conversion(source_shapes, target_shapes, linear_weights, source='checkpoint'):
    """Match source keys (PyTorch names -> shapes) to the model's parameters.

    Returns an OrderedDict target name -> (source name, transpose). Raises ConversionError listing every
    missing, unexpected, duplicated or mis-shaped tensor (and a hint naming the flag to change)."""
    plan, unexpected, duplicated, mismatched = OrderedDict(), [], [], []
    for key, shape in source_shapes.items():
        target = rename_key(key)
        if target is None:
            continue
        if target not in target_shapes:
            for pattern, repl in _ALIASES:
                alt = pattern.sub(repl, target)
                if alt != target and alt in target_shapes:
                    target = alt
                    break
        if target not in target_shapes:
            unexpected.append(key)
            continue
        if target in plan:
            duplicated.append(f'{plan[target][0]} and {key} -> {target}')
            continue
        transpose = target in linear_weights and len(shape) == 2
        shape = tuple(shape)
        got = shape[::-1] if transpose else shape
        if got != target_shapes[target]:
            want = target_shapes[target][::-1] if transpose else target_shapes[target]
            mismatched.append(f'{key} {list(shape)} vs model {list(want)}')
        plan[target] = (key, transpose)
    missing = [k for k in target_shapes if k not in plan]
    problems = counted_problems(('model tensor(s) not in the checkpoint', missing),
                                ('checkpoint tensor(s) the model does not have', unexpected),
                                ('duplicated tensor(s)', duplicated), ('shape mismatch(es)', mismatched))
    if problems:
        hints = _hints(source_shapes, target_shapes, missing, unexpected, mismatched)
        raise ConversionError(f'{source}: does not fit the model built from the flags; nothing was written.\n  - '
                              + '\n  - '.join(problems + hints))
    return plan


def _hints(source_shapes, target_shapes, missing, unexpected, mismatched):
    hints = []
    if any('downsample' in k for k in missing) and not any('downsample' in k for k in source_shapes):
        hints.append('hint: the checkpoint has no downsample (shortcut) weights: it was trained with '
                     '--resnet_shortcut A')
    if any('downsample' in k for k in unexpected) and not any('downsample' in k for k in target_shapes):
        hints.append('hint: the checkpoint has downsample (shortcut) weights: it was trained with --resnet_shortcut B')
    for k in ('fc.weight', 'classifier.weight'):
        if k in source_shapes and k in target_shapes and len(source_shapes[k]) == 2:
            n_ckpt, n_model = source_shapes[k][0], target_shapes[k][1]
            if n_ckpt != n_model:
                hints.append(f'hint: the checkpoint has {n_ckpt} classes, the flags {n_model}: pass --n_classes {n_ckpt}')
    src_blocks, dst_blocks = _blocks(source_shapes), _blocks(target_shapes)
    if src_blocks and dst_blocks and src_blocks != dst_blocks:
        hints.append(f'hint: blocks per stage: checkpoint {src_blocks}, flags {dst_blocks} (check --model_depth)')
    return hints


def _blocks(shapes):
    """Blocks per stage ([2, 2, 2, 2] for ResNet-18; dense layers per block for DenseNet)."""
    counts = OrderedDict()
    for k in shapes:
        m = re.match(r'^(?:module\.)?(layer\d+|features\.denseblock\d+)\.(?:denselayer)?(\d+)\.', k)
        if m:
            counts.setdefault(m.group(1), set()).add(m.group(2))
    return [len(v) for v in counts.values()]


def convert_state_dict(state_dict, model_or_target, source='checkpoint'):
    """PyTorch-named numpy arrays -> Paddle-named float32 arrays for the given model (or the
    (shapes, linear_weights) pair of :func:`model_target`)."""
    target_shapes, linear = (model_or_target if isinstance(model_or_target, tuple)
                             else model_target(model_or_target))
    plan = plan_conversion(OrderedDict((k, tuple(v.shape)) for k, v in state_dict.items()),
                           target_shapes, linear, source)
    out = OrderedDict()
    for target, (key, transpose) in plan.items():
        a = np.asarray(state_dict[key])
        out[target] = np.ascontiguousarray(a.T if transpose else a)
    return out


# ----------------------------------------------------------------------------------------- options
def resolve_flags(args, ckpt, src=''):
    """Fill the model flags left out (None) from the checkpoint; error when a given flag contradicts its arch.

    The arch names the model and depth (engine.checkpoint.merge_model_options, as for main.py and
    test.py); the class count and the shortcut type are inferred from the weights where no flag gives
    them (a given one that disagrees is reported by the conversion plan, with the flag to change).
    Returns (model options dict, list of notes printed for the user)."""
    from engine.checkpoint import classifier_classes, merge_model_options, parse_arch
    import models
    flags = {k: getattr(args, k, None) for k in models.MODEL_OPTION_NAMES}
    given = {k for k, v in flags.items() if v is not None}
    arch, notes = ckpt.get('arch'), []
    recorded = dict(zip(('model', 'model_depth'), parse_arch(arch) or ()))
    if arch and not recorded:
        notes.append(f"checkpoint arch {arch!r} is not of the form model-depth; using the flags")
    options, conflicts, _ = merge_model_options(recorded, flags, given)
    if conflicts:
        raise ConversionError(f"{src}: the checkpoint's arch is {arch!r} but the flags say {'; '.join(conflicts)}; "
                              'drop them (the arch is read from the checkpoint) or fix them')
    notes += [f'--{name} {recorded[name]} (from the checkpoint arch {arch!r})' for name in recorded if name not in given]
    if options['model'] is None or options['model_depth'] is None:
        raise ConversionError(f'{src}: the checkpoint names no arch (a bare state_dict?); pass --model and --model_depth')
    try:
        classifier = models.get_classifier_name(options['model'])
    except ValueError as e:
        raise ConversionError(f'cannot build the model from the flags: {e}') from None
    sd = ckpt['state_dict']
    if options['n_classes'] is None:
        options['n_classes'] = classifier_classes(sd, options['model'], weight_axis=0)
        if options['n_classes'] is None:
            raise ConversionError(f'{src}: no fc.weight/classifier.weight to read the class count from; pass --n_classes')
        notes.append(f'--n_classes {options["n_classes"]} (from {classifier}.weight)')
    if options['resnet_shortcut'] is None:
        has_downsample = any('downsample' in k for k in sd)
        options['resnet_shortcut'] = 'B' if has_downsample or options['model'] == 'densenet' else 'A'
        if options['model'] != 'densenet':
            notes.append(f'--resnet_shortcut {options["resnet_shortcut"]} (the checkpoint '
                         f'{"has" if has_downsample else "has no"} downsample weights)')
    return {k: models.MODEL_DEFAULTS[k] if v is None else v for k, v in options.items()}, notes


def build_model(opts, lazy=False):
    """The Paddle model for ``opts`` (under ``paddle.LazyGuard`` when ``lazy``: shapes only, no memory)."""
    import paddle
    import models
    try:
        if lazy:
            try:
                with paddle.LazyGuard():
                    return models.generate_model(opts)
            except ValueError:
                raise
            except Exception:  # a layer that cannot be built lazily: build it for real
                pass
        return models.generate_model(opts)
    except ValueError as e:
        raise ConversionError(f'cannot build the model from the flags: {e}') from None


def model_opts_record(opts):
    import models
    resolved = models.resolve_model_options(opts)
    return {name: resolved[name] for name in models.MODEL_OPTION_NAMES}


def convert_file(src, dst, args, log=print):
    """Read ``src``, map it onto the model the flags describe, verify, and write ``dst``."""
    ckpt = read_torch_checkpoint(src, trust_pickle=getattr(args, 'trust_pickle', False))
    desc = {'old': "old layout ('module.' keys)" if ckpt['prefix'] else 'old layout',
            'new': "new layout (with 'scheduler')", 'bare': 'bare state_dict'}[ckpt['layout']]
    log(f'read {src}: {desc}, {ckpt["serialization"]} serialization, {len(ckpt["state_dict"])} tensors'
        + (f', arch {ckpt["arch"]!r}' if ckpt['arch'] else '') + (f', epoch {ckpt["epoch"]}' if ckpt['epoch'] else ''))
    opts, notes = resolve_flags(args, ckpt, src)
    for note in notes:
        log('  ' + note)
    known = PUBLISHED.get(os.path.basename(src))
    if known:
        log(f'  published file; its flags: {known[0]}')
    # The target names and shapes come from the model the flags build (under LazyGuard: no memory, no init).
    # plan_conversion checks exactly what engine.checkpoint.load_weights checks when main.py loads the file.
    state_dict = convert_state_dict(ckpt['state_dict'], model_target(build_model(opts, lazy=True)), source=src)
    if getattr(args, 'verify', False):
        from engine.checkpoint import load_weights
        load_weights(build_model(opts), state_dict, source=src)
    from engine.checkpoint import save_checkpoint
    record = model_opts_record(opts)
    arch = f'{record["model"]}-{record["model_depth"]}'
    state = {'epoch': 0, 'arch': arch, 'model_opts': record, 'state_dict': state_dict,
             'converted_from': {'file': os.path.basename(src), 'arch': ckpt['arch'], 'epoch': ckpt['epoch'],
                                'layout': ckpt['layout'], 'serialization': ckpt['serialization']}}
    save_checkpoint(state, dst)
    n_params = int(sum(a.size for a in state_dict.values()))
    flags = model_flags_string(record)
    log(f'wrote {dst}: {len(state_dict)} tensors, {n_params / 1e6:.2f} M values, arch {arch}')
    log(f'fine-tune: python main.py --pretrain_path {dst} {flags} --n_pretrain_classes {record["n_classes"]} '
        '--n_classes <your classes> ...')
    return state


def is_converted_checkpoint(path):
    """Whether ``path`` holds this command's output: a checkpoint whose last entry is 'converted_from' (read
    from the file's end, without loading the weights)."""
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 65536))
            return b'converted_from' in f.read()
    except OSError:
        return False


def remove_stale_temporaries(dst, log=print):
    """Remove the temporary files of DST (``.<name>.*.tmp``) that a conversion killed while writing left behind."""
    import glob
    folder, name = os.path.split(os.path.abspath(dst))
    for tmp in sorted(glob.glob(os.path.join(folder, glob.escape(f'.{name}.') + '*.tmp'))):
        try:
            os.remove(tmp)
        except OSError:
            continue
        log(f'note: removed {tmp}, left by an interrupted earlier conversion')


def model_flags_string(record):
    import models
    parts = [f'--model {record["model"]}', f'--model_depth {record["model_depth"]}']
    for name in ('resnet_shortcut', 'wide_resnet_k', 'resnext_cardinality', 'conv1_t_size', 'conv1_t_stride',
                 'resnet_widen_factor', 'kernel_type'):
        if record[name] != models.MODEL_DEFAULTS[name] or (name == 'resnet_shortcut' and record['model'] != 'densenet'):
            parts.append(f'--{name} {record[name]}')
    if record['no_max_pool']:
        parts.append('--no_max_pool')
    if record['se']:
        parts.append('--se')
    return ' '.join(parts)


# What the converter says differently of a model option (models/options.py declares them all).
MODEL_HELP = {'n_classes': 'classes of the checkpoint (400 for the CVPR2018 Kinetics files)'}
MODEL_ALIASES = {'n_classes': ['--n_pretrain_classes']}


def add_model_flags(group):
    """models.MODEL_OPTIONS as flags whose default None means 'read from the checkpoint'."""
    from models.options import MODEL_OPTIONS
    for option in MODEL_OPTIONS:
        names = [f'--{option.name}'] + MODEL_ALIASES.get(option.name, [])
        help_text = MODEL_HELP.get(option.name, option.resolved_help())
        if option.is_flag:
            group.add_argument(*names, dest=option.name, action='store_true', default=None, help=help_text)
        else:
            group.add_argument(*names, dest=option.name, default=None, type=option.type, help=help_text)


def build_parser():
    p = argparse.ArgumentParser(allow_abbrev=False,
        description='Convert a kenshohara/3D-ResNets-PyTorch checkpoint (.pth) into a Paddle checkpoint '
                    '(.pdparams) for main.py/test.py --pretrain_path. Flags left out are read from the '
                    'checkpoint (arch, class count, shortcut type).',
        epilog='Published files and their flags: --list, or docs/PRETRAINED.md.')
    p.add_argument('src', nargs='?', help='PyTorch checkpoint (.pth), old or new layout, zip or legacy format')
    p.add_argument('dst', nargs='?', help='output Paddle checkpoint (.pdparams)')
    add_model_flags(p.add_argument_group('model (as main.py; default: read from the checkpoint)'))
    p.add_argument('--verify', action='store_true',
                   help='also build the Paddle model and load the converted weights into it (slower; the key and '
                        'shape checks run anyway)')
    p.add_argument('--trust_pickle', action='store_true',
                   help='unpickle arbitrary Python objects (torch.load weights_only=False); only for files you trust')
    p.add_argument('--list', action='store_true', help='print the published reference checkpoints and their flags')
    p.add_argument('--overwrite', action='store_true',
                   help='let DST replace an existing .pdparams file that is not a converted checkpoint (a '
                        "checkpoint of main.py, ...); an earlier conversion's output is replaced without it")
    p.add_argument('--verbose', action='store_true', help="also show Paddle's known warnings and glog lines")
    return p


def main(argv=None):
    parser = build_parser()
    args = check_flags(parser, parser.parse_args(argv))
    quiet_paddle(args.verbose)
    if args.list:
        width = max(map(len, PUBLISHED))
        for name, (flags, note) in PUBLISHED.items():
            print(f'{name:<{width}}  {flags}    # {note}')
        return 0
    if not args.src or not args.dst:
        parser.error('SRC and DST are required')

    def convert():
        # DST may not be SRC, nor an existing file that is not a Paddle checkpoint, nor (without --overwrite) a
        # checkpoint that is not a conversion's (a trained last.pdparams).
        check_output_file(args.dst, 'DST', inputs=[args.src], suffixes=('.pdparams',))
        if os.path.lexists(args.dst) and not args.overwrite and not is_converted_checkpoint(args.dst):
            raise UserError(f'DST {args.dst} exists and is not a converted checkpoint (a checkpoint of main.py?); '
                            'it is not replaced: choose another DST, or pass --overwrite')
        # one writer per folder: no other command writing there, so a temporary file of DST found now was left
        # by an earlier conversion that was killed
        lock_folder(os.path.dirname(os.path.abspath(args.dst)), 'DST')
        remove_stale_temporaries(args.dst)
        # Paddle before torch: its import replaces the SIGTERM handler (core.preload holds signals back meanwhile),
        # and threads started earlier by torch could take a signal then
        import paddle  # noqa: F401
        convert_file(args.src, args.dst, args)
        return 0

    return run_command(convert, output=args.dst)


if __name__ == '__main__':
    sys.exit(main())
