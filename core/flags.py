"""The one table of numeric flag constraints, checked by every command right after parsing.

A flag whose value cannot mean anything (``--batch_size 0``, ``--learning_rate -0.1``, a negative
``--sample_duration``) is an argparse error at start-up, before any file is read or written. The table
is keyed by the option's name (its ``dest``); ``check_flags(parser, args)`` applies every rule whose
name the parser has and whose value is a number (or a list of numbers), so one table serves main.py,
test.py (opts.py), the scripts and the data-preparation tools. A name used by two commands for two
different things (``export_model.py --checkpoint`` is a path) is left alone where its value is not a
number. ``LIST_RULES`` check a list flag as a whole (increasing milestones); ``machine_problems`` refuses
values this machine cannot run (more threads or processes than PER_CORE_LIMIT per core (at least 16), a batch whose input
alone exceeds the available memory), also one line naming the flags. Importable without Paddle.
"""
import math
import os


def _rule(test, text):
    return test, text


def at_least(low):
    return _rule(lambda v: v >= low, f'must be >= {low}')


def greater_than(low):
    return _rule(lambda v: v > low, f'must be > {low}')


def between(low, high):
    return _rule(lambda v: low <= v <= high, f'must be in [{low}, {high}]')


def in_unit_interval():
    return _rule(lambda v: 0 < v <= 1, 'must be in (0, 1]')


FLAG_RULES = {
    # input
    'sample_size': at_least(1), 'sample_duration': at_least(1), 'sample_t_stride': at_least(1),
    'n_val_samples': at_least(1), 'n_scales': at_least(1), 'initial_scale': greater_than(0),
    'scale_step': in_unit_interval(), 'train_crop_min_scale': in_unit_interval(),
    'train_crop_min_ratio': greater_than(0), 'norm_value': greater_than(0), 'value_scale': greater_than(0),
    'scale_in_test': greater_than(0), 'inference_stride': at_least(0), 'inference_batch_size': at_least(0),
    # model
    'model_depth': at_least(1), 'n_classes': at_least(1), 'n_pretrain_classes': at_least(0),
    'n_finetune_classes': at_least(0), 'resnet_widen_factor': greater_than(0), 'wide_resnet_k': at_least(1),
    'resnext_cardinality': at_least(1), 'conv1_t_size': at_least(1), 'conv1_t_stride': at_least(1),
    'n_input_channels': at_least(1), 'ft_begin_index': at_least(0),
    # optimisation and run
    'learning_rate': greater_than(0), 'momentum': between(0, 1), 'dampening': between(0, 1),
    'weight_decay': at_least(0), 'lr_patience': at_least(0), 'multistep_milestones': at_least(1),
    'warmup_epochs': at_least(0), 'batch_size': at_least(1), 'accumulate_steps': at_least(1),
    'n_epochs': at_least(1), 'begin_epoch': at_least(1),
    'checkpoint': at_least(1), 'n_threads': at_least(0), 'cpu_threads': at_least(0),
    'manual_seed': between(0, 2 ** 32 - 1),  # NumPy's seed range (Paddle refuses negative seeds)
    # scripts
    'top_k': at_least(1), 'clips_per_batch': at_least(1), 'tolerance': at_least(0),
    'size': at_least(1), 'qscale': between(2, 31),
}


def problems(args, names=None):
    """'--name: must be ... (got v)' for each value of ``args`` (a namespace) that breaks its rule."""
    found = []
    for name, value in sorted(vars(args).items()):
        if name not in FLAG_RULES or (names is not None and name not in names):
            continue
        test, text = FLAG_RULES[name]
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if not math.isfinite(v) or not test(v):
                found.append(f'--{name} {text} (got {_shown(v)})')
                break
    return found


def _shown(value):
    """A value as typed: integers in full (2**64 is not 1.84467e+19), floats as %g."""
    return str(value) if isinstance(value, int) else f'{value:g}'


# Rules on a list flag as a whole: (name, test, text).
LIST_RULES = [
    ('multistep_milestones', lambda v: all(a < b for a, b in zip(v, v[1:])),
     'must be increasing, each epoch once (e.g. 50 100 150)'),
]

# Flags that start processes or threads: at most this many per core, and never fewer than PER_MACHINE_FLOOR
# (the documented --n_threads 8 also runs on one core); more only slows the machine down.
PER_CORE_LIMIT = 4
PER_MACHINE_FLOOR = 16
PER_CORE_FLAGS = ('cpu_threads', 'n_threads', 'n_jobs')

# A lower bound of the memory of one batch, per float32 of the model's input N x C x T x H x W: the float
# input, its uint8 source and the first layer's output (which is at least as large for every family).
BATCH_BYTES_PER_INPUT_FLOAT = 3 * 4
BATCH_FLAGS = ('clips_per_batch', 'batch_size')  # predict.py's batch, else the others'


def machine_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def available_memory():
    """Bytes this process can still use: MemAvailable of /proc/meminfo, lowered by a cgroup limit and an
    address-space limit; None where none of these can be read."""
    found = []
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for path in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit() and int(text) < 2 ** 60:
                found.append(int(text))
        except OSError:
            pass
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            found.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    return min(found) if found else None


def _gigabytes(n):
    return f'{n / 2 ** 30:.1f} GB'


def machine_problems(args, names=None, cores=None, memory=None):
    """Values that this machine cannot run: more processes or threads than PER_CORE_LIMIT per core, and a
    batch whose input alone (a lower bound of its memory) exceeds the available memory. ``cores`` and
    ``memory`` (bytes) default to this machine's."""
    values = {k: v for k, v in vars(args).items() if names is None or k in names}

    def number(name):
        v = values.get(name)
        return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None

    found = []
    cores = cores or machine_cores()
    limit = max(PER_CORE_LIMIT * cores, PER_MACHINE_FLOOR)
    for name in PER_CORE_FLAGS:
        v = number(name)
        if v is not None and v > limit:
            found.append(f'--{name} {_shown(v)} is more than this machine can use ({cores} '
                         f'core{"s" if cores != 1 else ""}: at most {limit}, {PER_CORE_LIMIT} per core; '
                         '0 for the default)')
    size = number('sample_size')
    batch_name = next((n for n in BATCH_FLAGS if number(n)), None)
    if size and size >= 1:
        memory = memory if memory is not None else available_memory()
        batch = number(batch_name) if batch_name else 1
        duration = number('sample_duration') or 16
        channels = number('n_input_channels') or 3
        need = BATCH_BYTES_PER_INPUT_FLOAT * batch * channels * duration * size * size
        if memory and need > memory:
            given = ', '.join(f'--{n} {_shown(number(n))}' for n in (batch_name, 'sample_duration')
                              if n and number(n) is not None)
            found.append(f'--sample_size {_shown(size)}' + (f' with {given}' if given else '')
                         + f' needs at least {_gigabytes(need)} for one batch; this machine has '
                         f'{_gigabytes(memory)} available: use a smaller --sample_size'
                         + (f' or --{batch_name}' if batch_name else ''))
    return found


def check_flags(parser, args):
    """parser.error (status 2, one 'error:' line after the usage) for the first flag that breaks its rule;
    returns args."""
    names = {action.dest for action in parser._actions}
    found = problems(args, names)
    for name, test, text in LIST_RULES:
        value = getattr(args, name, None) if name in names else None
        if not found and isinstance(value, (list, tuple)) and not test(list(value)):
            found.append(f'--{name} {text} (got {" ".join(_shown(v) for v in value)})')
    if not found:
        found = machine_problems(args, names)
    if found:
        parser.error('; '.join(found))
    return args


# ----------------------------------------------------------------------------------------------
# Outputs, checked before any work starts
# ----------------------------------------------------------------------------------------------

def _cannot_write(path, reason):
    from core.errors import BadInput
    return BadInput(f'cannot write {path} ({reason})')


def _existing_ancestor(path):
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    return parent


def check_output_folder(path, flag):
    """A folder the command will create (if missing) and write into: refuse an existing file, a path under a
    file and a read-only place now, before any work, naming ``flag``."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise _cannot_write(path, f'{flag} is an existing file, not a folder; choose another {flag}')
    target = path if os.path.isdir(path) else _existing_ancestor(path)
    if not os.path.isdir(target):
        raise _cannot_write(path, f'{target} is a file, not a folder; choose another {flag}')
    if not os.access(target, os.W_OK | os.X_OK):
        raise _cannot_write(path, f'{target} is not writable; choose another {flag}')
    return path


def check_output_file(path, flag, inputs=(), suffixes=None):
    """A file the command will (over)write: not one of ``inputs``, not a folder, not an existing file of
    another kind (its name does not end with one of ``suffixes``), in a writable folder."""
    for source in inputs:
        if source and os.path.exists(source) and os.path.exists(path) and os.path.samefile(source, path):
            raise _cannot_write(path, f'{flag} is one of the inputs ({source}); choose another {flag}')
        if source and os.path.abspath(source) == os.path.abspath(path):
            raise _cannot_write(path, f'{flag} is one of the inputs; choose another {flag}')
    if os.path.isdir(path):
        raise _cannot_write(path, f'{flag} is an existing folder; give a file name')
    if suffixes and os.path.lexists(path) and not path.lower().endswith(tuple(suffixes)):
        raise _cannot_write(path, f'{flag} is an existing file that is not a {"/".join(suffixes)} file; '
                                  'it is not replaced, choose another name')
    check_output_folder(os.path.dirname(os.path.abspath(path)), f'the folder of {flag}')
    return path
