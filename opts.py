"""The flags of main.py and test.py: one parser per command, built from shared groups, and the one function
that turns parsed flags into the run's Config (engine/config.py).

Names and defaults follow the CVPR2018 reference (kenshohara/3D-ResNets-PyTorch, branch CVPR2018); the newer
reference's spellings and our own flags are added in the same snake_case style. The reference flags done
differently here are refused from a table (``REFUSED``) with one line naming what to use instead; value
constraints are core/flags.py's table. Parse errors are one line (the usage only with --help).
"""
import argparse
import copy
import os
import shlex
import sys

import datasets
from core.flags import check_flags
from datasets.mean import get_mean, get_mean_std, get_std
from engine.config import config_from_values
from models.options import MODEL_OPTIONS

PATH_OPTIONS = ['video_path', 'annotation_path', 'result_path', 'resume_path', 'pretrain_path']
DATASET_NAMES = ['kinetics', 'activitynet', 'ucf101', 'hmdb51']


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: the usage block is for --help."""

    def __init__(self, **kwargs):
        super().__init__(allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    def error(self, message):
        self.exit(2, f'{self.prog}: error: {message}\n')


# ----------------------------------------------------------------------------------------------
# Shared groups (``command`` is 'main' or 'test': the wording and the flags differ where the commands do)
# ----------------------------------------------------------------------------------------------

def add_data_group(p, command):
    g = p.add_argument_group('data')
    g.add_argument('--root_path', default='', type=str,
                   help='if set, prefixes the relative --video_path, --annotation_path, --result_path, '
                        '--resume_path and --pretrain_path')
    g.add_argument('--video_path', default='video_kinetics_jpg', type=str,
                   help='root of the JPEG frames: <video_path>/<class>/<video>/image_00001.jpg')
    g.add_argument('--file_type', default='jpg', choices=['jpg', 'hdf5'],
                   help='how --video_path stores the frames: jpg = <class>/<video>/image_00001.jpg ...; hdf5 = '
                        "one <class>/<video>.hdf5 per video (the reference's layout, made by "
                        'utils/generate_video_hdf5.py; same pixels)')
    g.add_argument('--annotation_path', default='kinetics.json', type=str,
                   help='annotation JSON (utils/ucf101_json.py writes ucf101_01.json for split 1)')
    g.add_argument('--result_path', default='results', type=str,
                   help='output folder (created if missing): ' + (
                       'logs, opts.json, checkpoints' if command == 'main' else
                       '<subset>.json, per_class.csv, confusion.png, <subset>_metrics.json'))
    g.add_argument('--dataset', default='kinetics', type=str, choices=DATASET_NAMES, help='dataset kind')
    g.add_argument('--allow_missing', action='store_true',
                   help='skip (and count) annotated videos whose frame folder is missing instead of stopping')


def add_model_group(p, command):
    """The model options (models/options.py) as flags; test.py reads them from the checkpoint."""
    title = 'model' if command == 'main' else 'model (read from the checkpoint; needed only for a bare state_dict)'
    g = p.add_argument_group(title)
    for option in MODEL_OPTIONS:
        if not option.training_flag:
            continue
        if option.is_flag:
            g.add_argument(f'--{option.name}', action='store_true', help=option.resolved_help())
        else:
            g.add_argument(f'--{option.name}', default=option.default, type=option.type,
                           choices=option.resolved_choices(), help=option.resolved_help())
    g.add_argument('--data_format', default='NCDHW', choices=['NCDHW', 'NDHWC'],
                   help='tensor layout of the model; NDHWC (channels-last) is for GPUs with --amp; '
                        'checkpoints load into either')


def add_normalisation_flags(g):
    g.add_argument('--norm_value', default=1, type=int,
                   help='pixel values are divided by it: 1 -> [0,255] (reference models), 255 -> [0,1]')
    g.add_argument('--value_scale', default=None, type=float,
                   help='newer reference (2020) spelling: inputs in [0, value_scale], normalised with the newer '
                        "reference's means and stds (as its r3d*/r2p1d* models expect); overrides --norm_value")
    g.add_argument('--mean_dataset', default='activitynet', type=str, choices=['activitynet', 'kinetics', '0.5'],
                   help="which dataset's mean (and with --std_norm, std) is used; 0.5 needs --value_scale")
    g.add_argument('--no_mean_norm', action='store_true', help='do not subtract the mean')
    g.add_argument('--std_norm', action='store_true',
                   help="also divide by the standard deviation (the newer reference's default; CVPR2018: off)")
    g.add_argument('--no_std_norm', dest='std_norm', action='store_false',
                   help='newer-reference spelling of the default here: do not divide by the standard deviation')


def add_input_group(p, command):
    g = p.add_argument_group('input and augmentation' if command == 'main' else
                             'input (read from the checkpoint unless given)')
    g.add_argument('--sample_size', default=112, type=int, help='crop height and width')
    g.add_argument('--sample_duration', default=16, type=int, help='frames per clip')
    g.add_argument('--sample_t_stride', default=1, type=int, help='take every k-th frame before cropping')
    if command == 'main':
        g.add_argument('--initial_scale', default=1.0, type=float, help='largest multi-scale crop scale')
        g.add_argument('--n_scales', default=5, type=int, help='number of multi-scale crop scales')
        g.add_argument('--scale_step', default=0.84089641525, type=float, help='ratio between crop scales')
        g.add_argument('--train_crop', default='corner', type=str, choices=list(datasets.TRAIN_CROPS),
                       help='corner: multi-scale 4 corners + centre (CVPR2018); random: random-resized crop; '
                            'center: multi-scale centre crop; multiscale_random: multi-scale crop at a random '
                            'position')
        g.add_argument('--train_crop_min_scale', default=0.25, type=float, help='--train_crop random: min area')
        g.add_argument('--train_crop_min_ratio', default=0.75, type=float, help='--train_crop random: min aspect')
        g.add_argument('--train_t_crop', default='random', type=str, choices=['random', 'center'],
                       help='temporal crop of training clips')
        g.add_argument('--no_hflip', action='store_true', help='no random horizontal flip in training')
        g.add_argument('--n_val_samples', default=3, type=int, help='validation clips per video')
    add_normalisation_flags(g)


def add_optimisation_group(p):
    g = p.add_argument_group('optimisation')
    g.add_argument('--learning_rate', '--lr', default=0.1, type=float, help='initial learning rate')
    g.add_argument('--momentum', default=0.9, type=float, help='SGD momentum')
    g.add_argument('--dampening', default=0.9, type=float,
                   help='SGD dampening as in PyTorch (CVPR2018 default 0.9; 0 when --nesterov)')
    g.add_argument('--weight_decay', default=1e-3, type=float, help='L2 weight decay (coupled, as PyTorch SGD)')
    g.add_argument('--nesterov', action='store_true', help='Nesterov momentum')
    g.add_argument('--lr_scheduler', default='plateau', type=str, choices=['plateau', 'multistep', 'cosine'],
                   help='plateau: /10 when the validation loss stalls (CVPR2018)')
    g.add_argument('--lr_patience', '--plateau_patience', dest='lr_patience', default=10, type=int,
                   help='epochs without validation-loss improvement before the plateau scheduler divides by 10')
    g.add_argument('--multistep_milestones', default=[50, 100, 150], type=int, nargs='+',
                   help='epochs at which multistep divides the learning rate by 10 (a resumed run uses the '
                        "command line's, never the checkpoint's)")
    g.add_argument('--warmup_epochs', default=0, type=int, help='linear warm-up epochs (0 = none)')
    g.add_argument('--batch_size', default=128, type=int,
                   help='clips per batch (per update with --accumulate_steps; validation batches too)')
    g.add_argument('--accumulate_steps', default=1, type=int,
                   help='split each --batch_size batch into this many forward/backward passes and update once: '
                        "the reference's batch 128 on a GPU that fits 32 is --batch_size 128 --accumulate_steps 4 "
                        '(same loss and update, except that BatchNorm normalises each pass on its own clips)')
    g.add_argument('--n_epochs', default=200, type=int, help='last epoch')
    g.add_argument('--begin_epoch', default=1, type=int, help='first epoch (a resumed run takes it from the checkpoint)')
    g.add_argument('--amp', action='store_true', help='automatic mixed precision (GPU only; ignored with a note on CPU)')
    g.add_argument('--amp_dtype', default='float16', choices=['float16', 'bfloat16'], help='AMP dtype')
    g.add_argument('--batchnorm_sync', action='store_true',
                   help='BatchNorm statistics over the clips of every GPU (Paddle SyncBatchNorm; needs several GPU '
                        'processes under paddle.distributed.launch)')


def add_checkpoint_group(p, command):
    if command == 'test':
        g = p.add_argument_group('checkpoint')
        g.add_argument('--resume_path', default='', type=str,
                       help='the checkpoint to evaluate (.pdparams of main.py, or a converted / bare state_dict)')
        g.add_argument('--pretrain_path', default='', type=str,
                       help='the same as --resume_path (the reference\'s other spelling); its classifier is kept')
        return
    g = p.add_argument_group('checkpoints and fine-tuning')
    g.add_argument('--checkpoint', default=10, type=int, help='save save_{epoch}.pdparams every N epochs')
    g.add_argument('--resume_path', default='', type=str,
                   help='checkpoint to continue training from (its model flags are used; no need to repeat them)')
    g.add_argument('--pretrain_path', default='', type=str,
                   help='pretrained weights (.pdparams, ours or converted) to fine-tune; the classifier is replaced '
                        'by one with --n_classes classes')
    g.add_argument('--n_pretrain_classes', default=0, type=int,
                   help='classes of --pretrain_path (0: read from the checkpoint)')
    g.add_argument('--n_finetune_classes', default=0, type=int,
                   help='old reference spelling: classes of the new classifier (then --n_classes is the '
                        'pretrained count)')
    g.add_argument('--ft_begin_index', default=0, type=int,
                   help='0: train all; k: train layer{k}..layer4 and fc, the rest at learning rate 0')
    g.add_argument('--ft_begin_module', default='', type=str,
                   help='train this module (e.g. layer4, fc) and everything after it; the rest is frozen')


def add_evaluation_group(p, command):
    if command == 'main':
        g = p.add_argument_group('validation and test (main.py --inference runs test.py\'s evaluation after training)')
        g.add_argument('--no_train', action='store_true', help='skip training')
        g.add_argument('--no_val', action='store_true', help='skip validation')
        g.add_argument('--inference', '--test', dest='inference', action='store_true',
                       help='after training (or, with --no_train, on --resume_path) evaluate as test.py does and '
                            'write <result_path>/<subset>.json (newer reference: --inference, CVPR2018: --test)')
    else:
        g = p.add_argument_group('evaluation')
        g.add_argument('--batch_size', default=128, type=int, help='clips per batch')
    g.add_argument('--test_subset', '--inference_subset', dest='test_subset', default='val',
                   choices=['val', 'test', 'train'], help='subset evaluated (newer reference: --inference_subset)')
    g.add_argument('--inference_crop', default='center', choices=['center', 'nocrop', 'three_crop'],
                   help='center: the --sample_size crop at --crop_position_in_test; nocrop: the whole frame with '
                        'its short side scaled to --sample_size (fully convolutional, one video per batch); '
                        'three_crop: the tl, c and br crops of that frame (left, centre, right of a landscape '
                        "one), scores averaged, the centre crop's accuracy reported beside")
    g.add_argument('--inference_no_average', action='store_true',
                   help='<subset>.json keeps one entry per window ({"segment", "result"}) instead of the video '
                        'average, as the newer reference writes it; accuracy is still computed on the average')
    g.add_argument('--inference_batch_size', default=0, type=int,
                   help='clips per evaluation batch (0: --batch_size; the newer reference counted videos)')
    g.add_argument('--scale_in_test', default=1.0, type=float, help='resize the short side to sample_size/scale')
    g.add_argument('--crop_position_in_test', default='c', choices=['c', 'tl', 'tr', 'bl', 'br'],
                   help='test crop position')
    g.add_argument('--no_softmax_in_test', action='store_true', help='average raw clip scores instead of softmax')
    g.add_argument('--inference_stride', default=0, type=int,
                   help='window stride in frames (0: the window span, sample_duration x sample_t_stride, so '
                        'windows do not overlap)')
    g.add_argument('--output_topk', default=5, type=int, help='labels saved per video in <subset>.json (<= 0: all)')


def add_runtime_group(p, command):
    g = p.add_argument_group('runtime')
    g.add_argument('--device', default='auto', choices=['auto', 'cpu', 'gpu'],
                   help='auto: the GPU when Paddle has CUDA and sees one, else the CPU')
    g.add_argument('--n_threads', default=4, type=int, help='DataLoader worker processes')
    g.add_argument('--cpu_threads', default=0, type=int,
                   help='math threads on the CPU (0: one per core; Paddle alone would use one)')
    if command == 'main':
        g.add_argument('--manual_seed', default=1, type=int, help='seed of Python, NumPy and Paddle')
    g.add_argument('--vdl', dest='vdl', action='store_true', default=True,
                   help='write VisualDL records on rank 0 (the default)')
    g.add_argument('--no_vdl', dest='vdl', action='store_false',
                   help='do not write VisualDL records (written to <result_path>/vdl by default)')
    g.add_argument('--no_tqdm', action='store_true', help='plain log lines instead of progress bars')
    g.add_argument('--verbose', action='store_true',
                   help="also show Paddle's known warnings and glog lines (hidden by default: core/preload.py)")


def add_reference_group(p, command):
    g = p.add_argument_group('reference spellings (accepted so that reference commands run; see docs/REFERENCE.md)')
    g.add_argument('--no_cuda', action='store_true', help='old spelling of --device cpu')
    g.add_argument('--input_type', default='rgb', choices=['rgb'], help='rgb: the only input here (flow is refused)')
    if command == 'main':
        g.add_argument('--optimizer', default='sgd', choices=['sgd'], help="SGD, the reference's only choice")
        g.add_argument('--overwrite_milestones', action='store_true',
                       help='no effect: a resumed run here always takes the command line\'s --multistep_milestones')
        g.add_argument('--colorjitter', action='store_true',
                       help="no effect, as in the newer reference (its ColorJitter() has all-zero strengths)")


def add_performance_group(p, command):
    g = p.add_argument_group('performance (docs/PERFORMANCE.md)')
    g.add_argument('--loader', default='fast', choices=['fast', 'pil', 'fast_draft'],
                   help="fast: each JPEG cropped and resized in one step, kept uint8 and normalised per batch "
                        "(the reference's pixels); pil: the reference's per-frame PIL/float pipeline; "
                        'fast_draft: fast plus JPEG decoding at reduced size (faster; other pixels than the reference)')
    g.add_argument('--eval_graph', default='auto', choices=['auto', 'static', 'dygraph'],
                   help='graph for ' + ('validation and --inference' if command == 'main' else 'the evaluation')
                        + '; auto: a static graph with oneDNN kernels on a single CPU process, the dynamic graph on '
                          'GPUs, with --amp and under paddle.distributed')
    if command == 'main':
        g.add_argument('--train_graph', default='auto', choices=['auto', 'static', 'dygraph'],
                       help='graph for training steps; auto: a static graph with oneDNN kernels wherever it can run '
                            '(a single CPU process, NCDHW, no --amp, not densenet), the dynamic graph elsewhere; '
                            "static: insist on it; dygraph: Paddle's dynamic graph everywhere")


def main_parser(description=None):
    p = Parser(description=description or 'Train and validate a 3D CNN (clip accuracy; video accuracy: test.py).')
    add_data_group(p, 'main')
    add_model_group(p, 'main')
    add_input_group(p, 'main')
    add_optimisation_group(p)
    add_checkpoint_group(p, 'main')
    add_evaluation_group(p, 'main')
    add_runtime_group(p, 'main')
    add_reference_group(p, 'main')
    add_performance_group(p, 'main')
    return p


def test_parser(description=None):
    """test.py's flags. main.py's other flags are accepted and ignored (not listed in --help), so that a
    training command runs as its evaluation with test.py in place of main.py."""
    p = Parser(description=description or 'Video-level evaluation of a checkpoint (val.json, per-class accuracy).',
               epilog="main.py's training flags are accepted and ignored, so a main.py command can be rerun with "
                      'test.py in its place.')
    add_data_group(p, 'test')
    add_checkpoint_group(p, 'test')
    add_model_group(p, 'test')
    add_input_group(p, 'test')
    add_evaluation_group(p, 'test')
    add_runtime_group(p, 'test')
    add_reference_group(p, 'test')
    add_performance_group(p, 'test')
    known = {s for action in p._actions for s in action.option_strings}
    for action in main_parser()._actions:
        if action.option_strings and not known.intersection(action.option_strings):
            hidden = copy.copy(action)
            hidden.help = argparse.SUPPRESS
            p._add_action(hidden)
    return p


# ----------------------------------------------------------------------------------------------
# Reference flags done differently here: one line each, naming what to type instead
# ----------------------------------------------------------------------------------------------

def _launch_command(argv, prog, dist_url=None, world_size=None):
    """The paddle.distributed.launch command that does what the reference's --distributed did."""
    nodes = ''
    if world_size is not None and world_size.lstrip('-').isdigit() and int(world_size) > 1:
        master = (dist_url or 'tcp://<node-0 ip>:<port>').split('://')[-1]
        nodes = f'--master {master} --nnodes {world_size} '
    rest = _without(argv, ('--dist_url', '--world_size'), ('--distributed',))
    return (f'python -m paddle.distributed.launch {nodes}--gpus 0,1,2,3 {os.path.basename(prog)} '
            + ' '.join(shlex.quote(a) for a in rest)).rstrip()


def _without(argv, flags_with_value, flags):
    """argv without the given flags (and the value of those in ``flags_with_value``)."""
    kept, skip = [], False
    for arg in argv:
        name = arg.split('=', 1)[0]
        if skip:
            skip = False
        elif name in flags_with_value:
            skip = '=' not in arg
        elif name not in flags:
            kept.append(arg)
    return kept


def _distributed(flag):
    def message(argv, prog, values):
        return (f'{flag}: Paddle starts one process per GPU with its launcher (on every node, with --master and '
                f'--nnodes for several); run: '
                f'{_launch_command(argv, prog, values.get("--dist_url"), values.get("--world_size"))}')
    return message


def _tensorboard(argv, prog, values):
    return ('--tensorboard: the loss/accuracy/lr curves are written for VisualDL by default (to '
            '<result_path>/vdl; view them with: python scripts/visualdl_server.py --logdir <result_path>/vdl); '
            'drop --tensorboard')


# flag -> (whether it takes a value, the values refused (None: any), the message)
REFUSED = {
    '--distributed': (False, None, _distributed('--distributed')),
    '--dist_url': (True, None, _distributed('--dist_url')),
    '--world_size': (True, None, _distributed('--world_size')),
    '--tensorboard': (False, None, _tensorboard),
    '--accimage': (False, None, lambda *_: (
        '--accimage: the default --loader fast decodes each JPEG straight into the cropped, resized uint8 clip '
        '(faster than accimage+PIL, same pixels as the reference); drop --accimage')),
    '--input_type': (True, {'flow'}, lambda *_: (
        '--input_type flow: optical-flow input is not supported here (RGB frames only); drop --input_type')),
    '--dataset': (True, {'mit'}, lambda *_: (
        '--dataset mit: Moments in Time has no reader here; the datasets supported are ucf101, hmdb51, '
        'kinetics and activitynet')),
}


def reference_refusal(argv, prog):
    """The one-line error for the first reference flag in ``argv`` this project does differently, or None."""
    values, found = {}, []
    for i, arg in enumerate(argv):
        name, has_inline, inline = arg.partition('=')
        if name not in REFUSED:
            continue
        takes_value, refused_values, _ = REFUSED[name]
        value = inline if has_inline else (argv[i + 1] if takes_value and i + 1 < len(argv) else None)
        values[name] = value
        if refused_values is None or value in refused_values:
            found.append(name)
    return REFUSED[found[0]][2](argv, prog, values) if found else None


# ----------------------------------------------------------------------------------------------
# Parsing: flags -> resolved values -> Config
# ----------------------------------------------------------------------------------------------

def resolve_flags(flags):
    """Apply --root_path and derive the values the flags imply (arch, mean, std, scales, ...); returns the
    namespace, or raises ValueError for a combination that cannot work."""
    if flags.root_path:
        for name in PATH_OPTIONS:
            value = getattr(flags, name)
            if value and not os.path.isabs(value):
                setattr(flags, name, os.path.join(flags.root_path, value))
    if flags.value_scale:
        flags.norm_value = 255.0 / flags.value_scale
    elif flags.mean_dataset == '0.5':
        raise ValueError('--mean_dataset 0.5 is a newer-reference setting: pass --value_scale too (e.g. 1)')
    if flags.warmup_epochs and flags.lr_scheduler == 'plateau':
        raise ValueError('--warmup_epochs works with --lr_scheduler multistep or cosine, not plateau')
    if flags.batch_size % flags.accumulate_steps:
        raise ValueError(f'--batch_size {flags.batch_size} is not a multiple of '
                         f'--accumulate_steps {flags.accumulate_steps}')
    if flags.no_cuda:
        flags.device = 'cpu'
    if flags.nesterov:
        flags.dampening = 0.0
    flags.scales = datasets.default_scales(flags.initial_scale, flags.n_scales, flags.scale_step)
    flags.arch = f'{flags.model}-{flags.model_depth}'
    if flags.value_scale:
        mean, std = get_mean_std(flags.value_scale, flags.mean_dataset)
    else:
        mean, std = get_mean(flags.norm_value, dataset=flags.mean_dataset), get_std(flags.norm_value)
    flags.mean = [0.0, 0.0, 0.0] if flags.no_mean_norm else list(mean)
    flags.std = list(std) if flags.std_norm else [1.0, 1.0, 1.0]
    flags.n_input_channels = 3
    if flags.n_finetune_classes and not flags.n_pretrain_classes:
        # Old reference: --n_classes is the pretrained model's count, --n_finetune_classes the task's.
        flags.n_pretrain_classes, flags.n_classes = flags.n_classes, flags.n_finetune_classes
    return flags


def parse_flags(parser, argv):
    """(namespace with every flag's value, the names given in ``argv``): one pass, with the defaults
    filled in after parsing so that the names typed (aliases and --x=v included) are known."""
    refusal = reference_refusal(argv, parser.prog)
    if refusal:
        parser.error(refusal)
    if {'-h', '--help'}.intersection(argv[:argv.index('--')] if '--' in argv else argv):
        parser.parse_args(argv)  # prints the help (with the defaults) and exits
    defaults = {}
    for action in parser._actions:
        if action.dest != 'help':
            defaults.setdefault(action.dest, action.default)  # the first action of a dest sets it, as argparse
            action.default = argparse.SUPPRESS
    namespace = parser.parse_args(argv)
    given = frozenset(vars(namespace))
    for dest, value in defaults.items():
        if dest not in given:
            setattr(namespace, dest, copy.copy(value))
    check_flags(parser, namespace)  # core/flags.py: the one table of value constraints
    try:
        return resolve_flags(namespace), given
    except ValueError as e:
        parser.error(str(e))


def parse_opts(argv=None, description=None):
    """main.py's flags, resolved (``parse_main`` also gives the names typed and the Config)."""
    return parse_flags(main_parser(description), sys.argv[1:] if argv is None else list(argv))[0]


def given_names(given):
    """The option names the typed flags set (--n_finetune_classes sets n_classes)."""
    return given | {'n_classes'} if 'n_finetune_classes' in given else given


def build_config(flags, given=frozenset()):
    """The Config of resolved flags (engine/config.py); ``given``: the names typed, which win over what a
    checkpoint records. test.py's checkpoint is --resume_path or --pretrain_path."""
    checkpoint_path = getattr(flags, 'resume_path', '') or getattr(flags, 'pretrain_path', '')
    return config_from_values(flags, checkpoint_path, given_names(given))


def parse_main(argv=None):
    """main.py: (Config, resolved flags) of ``argv``."""
    flags, given = parse_flags(main_parser(), sys.argv[1:] if argv is None else list(argv))
    return build_config(flags, given), flags


def parse_test(argv=None, description=None, prog=None):
    """test.py (and the options scripts/predict.py and export_model.py pass on): (Config, resolved flags)."""
    parser = test_parser(description)
    if prog:
        parser.prog = prog
    flags, given = parse_flags(parser, sys.argv[1:] if argv is None else list(argv))
    return build_config(flags, given), flags
